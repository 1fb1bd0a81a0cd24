//! Configuration: defaults that run on a bare machine, overridden by environment variables, validated
//! before the server binds. Secrets are wrapped so that they never print.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Default SQLite database, created in the working directory on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://ehome.db?mode=rwc";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_WECHAT_API_BASE: &str = "https://api.weixin.qq.com";
const JWT_SECRET_MIN_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Dev,
    Prod,
}

impl Environment {
    pub fn is_dev(self) -> bool {
        self == Environment::Dev
    }
}

/// A value that must never reach a log line or an error message.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is not valid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("JWT_SECRET must be set to at least {JWT_SECRET_MIN_BYTES} bytes when EHOME_ENV=prod")]
    WeakJwtSecret,
    #[error("could not keep the generated dev JWT secret at {path}: {source}")]
    DevSecret { path: PathBuf, source: std::io::Error },
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout_ms: u64,
    pub sqlite_busy_timeout_ms: u64,
}

#[derive(Debug, Clone)]
pub struct RedisSettings {
    pub url: Option<String>,
    pub key_prefix: String,
}

#[derive(Debug, Clone)]
pub struct WechatSettings {
    pub appid: String,
    pub secret: Secret,
    pub api_base: String,
    pub connect_timeout_ms: u64,
    pub request_timeout_ms: u64,
    /// How many times a "system busy" (-1) answer is retried before giving up.
    pub busy_retries_max: u32,
    pub busy_backoff_ms_initial: u64,
    /// The cached access token expires this many seconds before WeChat says it does.
    pub token_margin_seconds: u64,
}

#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub jwt_secret: Secret,
    pub access_ttl_seconds: u64,
    pub refresh_ttl_seconds: u64,
}

#[derive(Debug, Clone)]
pub struct RateLimitSettings {
    /// Login attempts per IP address per minute.
    pub login_per_ip_per_minute: u32,
    /// Writes (POST, PUT, PATCH, DELETE) per signed-in user per minute.
    pub writes_per_user_per_minute: u32,
    /// Writes per IP address per minute (covers anonymous writes too).
    pub writes_per_ip_per_minute: u32,
}

/// 邻办事 timings.
#[derive(Debug, Clone)]
pub struct RequestSettings {
    /// How often each instance looks for overdue requests to escalate and resolved ones to close
    /// (0 turns the job off in this instance).
    pub job_interval_seconds: u64,
    /// A resolved request not confirmed within this many days closes as `closed_timeout`; the reporter
    /// may reopen within the same window.
    pub confirm_window_days: i64,
    /// Reports per resident per hour.
    pub submissions_per_hour: u32,
    /// The subscribe-message template for status changes (empty: in-app inbox only).
    pub status_template_id: String,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Environment,
    pub bind: SocketAddr,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub wechat: WechatSettings,
    pub auth: AuthSettings,
    pub rate_limits: RateLimitSettings,
    pub requests: RequestSettings,
    pub body_limit_bytes: usize,
    pub shutdown_timeout_seconds: u64,
    /// Seed demo data when the database is new (dev only).
    pub seed_demo: bool,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Settings, ConfigError> {
        Settings::from_vars(&std::env::vars().collect())
    }

    /// Reads settings from a map of variables, so tests build settings without touching the
    /// process environment (tests run in parallel).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Settings, ConfigError> {
        let var = |name: &str| vars.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let environment = match var("EHOME_ENV").as_deref() {
            None | Some("dev") => Environment::Dev,
            Some("prod") => Environment::Prod,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "EHOME_ENV",
                    reason: format!("expected dev or prod, got {other:?}"),
                });
            }
        };
        let bind_text = var("EHOME_BIND").unwrap_or_else(|| DEFAULT_BIND.to_owned());
        let bind = bind_text.parse().map_err(|_| ConfigError::Invalid {
            name: "EHOME_BIND",
            reason: format!("{bind_text:?} is not host:port"),
        })?;
        let database = DatabaseSettings {
            url: var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            max_connections: parse_range(vars, "DATABASE_MAX_CONNECTIONS", 16, 1..=1000)?,
            min_connections: parse_range(vars, "DATABASE_MIN_CONNECTIONS", 1, 0..=1000)?,
            acquire_timeout_ms: parse_range(vars, "DATABASE_ACQUIRE_TIMEOUT_MS", 5_000, 100..=120_000)?,
            sqlite_busy_timeout_ms: parse_range(vars, "SQLITE_BUSY_TIMEOUT_MS", 5_000, 0..=120_000)?,
        };
        if !(database.url.starts_with("sqlite:") || database.url.starts_with("postgres")) {
            return Err(ConfigError::Invalid {
                name: "DATABASE_URL",
                reason: "expected sqlite:… or postgres://…".to_owned(),
            });
        }
        let redis = RedisSettings {
            url: var("REDIS_URL"),
            key_prefix: var("REDIS_KEY_PREFIX").unwrap_or_else(|| "ehome:".to_owned()),
        };
        let wechat = WechatSettings {
            appid: var("WECHAT_APPID").unwrap_or_else(|| "wx-dev-appid".to_owned()),
            secret: Secret::new(var("WECHAT_SECRET").unwrap_or_default()),
            api_base: var("WECHAT_API_BASE")
                .unwrap_or_else(|| DEFAULT_WECHAT_API_BASE.to_owned())
                .trim_end_matches('/')
                .to_owned(),
            connect_timeout_ms: parse_range(vars, "WECHAT_CONNECT_TIMEOUT_MS", 2_000, 50..=60_000)?,
            request_timeout_ms: parse_range(vars, "WECHAT_REQUEST_TIMEOUT_MS", 5_000, 50..=120_000)?,
            busy_retries_max: parse_range(vars, "WECHAT_BUSY_RETRIES_MAX", 3, 0..=10)?,
            busy_backoff_ms_initial: parse_range(vars, "WECHAT_BUSY_BACKOFF_MS", 100, 1..=10_000)?,
            token_margin_seconds: parse_range(vars, "WECHAT_TOKEN_MARGIN_SECONDS", 60, 0..=600)?,
        };
        if environment == Environment::Prod && (wechat.appid.is_empty() || wechat.secret.expose().is_empty()) {
            return Err(ConfigError::Invalid {
                name: "WECHAT_APPID/WECHAT_SECRET",
                reason: "both are required when EHOME_ENV=prod".to_owned(),
            });
        }
        let auth = AuthSettings {
            jwt_secret: jwt_secret(environment, var("JWT_SECRET"), &database.url)?,
            access_ttl_seconds: parse_range(vars, "JWT_ACCESS_TTL_SECONDS", 15 * 60, 10..=86_400)?,
            refresh_ttl_seconds: parse_range(vars, "JWT_REFRESH_TTL_SECONDS", 30 * 86_400, 60..=365 * 86_400)?,
        };
        let rate_limits = RateLimitSettings {
            login_per_ip_per_minute: parse_range(vars, "RATE_LOGIN_PER_IP_PER_MINUTE", 30, 1..=1_000_000)?,
            writes_per_user_per_minute: parse_range(vars, "RATE_WRITES_PER_USER_PER_MINUTE", 120, 1..=1_000_000)?,
            writes_per_ip_per_minute: parse_range(vars, "RATE_WRITES_PER_IP_PER_MINUTE", 600, 1..=1_000_000)?,
        };
        let requests = RequestSettings {
            job_interval_seconds: parse_range(vars, "REQUEST_JOB_INTERVAL_SECONDS", 60, 0..=86_400)?,
            confirm_window_days: parse_range(vars, "REQUEST_CONFIRM_WINDOW_DAYS", 7, 1..=90)?,
            submissions_per_hour: parse_range(vars, "REQUEST_SUBMISSIONS_PER_HOUR", 10, 1..=100_000)?,
            status_template_id: var("WECHAT_TEMPLATE_REQUEST_STATUS").unwrap_or_default(),
        };
        Ok(Settings {
            environment,
            requests,
            bind,
            database,
            redis,
            wechat,
            auth,
            rate_limits,
            body_limit_bytes: parse_range(vars, "EHOME_BODY_LIMIT_BYTES", 256 * 1024, 1024..=16 * 1024 * 1024)?,
            shutdown_timeout_seconds: parse_range(vars, "EHOME_SHUTDOWN_TIMEOUT_SECONDS", 30, 0..=600)?,
            seed_demo: environment.is_dev() && parse_range(vars, "EHOME_SEED_DEMO", 1u32, 0..=1)? == 1,
        })
    }

    pub fn wechat_timeouts(&self) -> (Duration, Duration) {
        (Duration::from_millis(self.wechat.connect_timeout_ms), Duration::from_millis(self.wechat.request_timeout_ms))
    }
}

fn parse_range<T>(
    vars: &HashMap<String, String>,
    name: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
{
    let Some(text) = vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) else {
        return Ok(default);
    };
    let value: T =
        text.parse().map_err(|_| ConfigError::Invalid { name, reason: format!("{text:?} is not a number") })?;
    if !range.contains(&value) {
        return Err(ConfigError::Invalid {
            name,
            reason: format!("{value} is outside {}..={}", range.start(), range.end()),
        });
    }
    Ok(value)
}

/// In prod the secret must be given and strong. In dev a random secret is generated once and kept beside
/// the SQLite database, so tokens survive a restart; with PostgreSQL in dev it lives in the working
/// directory.
fn jwt_secret(environment: Environment, given: Option<String>, database_url: &str) -> Result<Secret, ConfigError> {
    if let Some(secret) = given {
        if environment == Environment::Prod && secret.len() < JWT_SECRET_MIN_BYTES {
            return Err(ConfigError::WeakJwtSecret);
        }
        return Ok(Secret::new(secret));
    }
    if environment == Environment::Prod {
        return Err(ConfigError::WeakJwtSecret);
    }
    let path = dev_secret_path(database_url);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if existing.len() >= JWT_SECRET_MIN_BYTES {
            return Ok(Secret::new(existing));
        }
    }
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let generated = hex::encode(bytes);
    std::fs::write(&path, &generated).map_err(|source| ConfigError::DevSecret { path, source })?;
    Ok(Secret::new(generated))
}

fn dev_secret_path(database_url: &str) -> PathBuf {
    let sqlite_file = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .filter(|file| !file.is_empty() && !file.contains(":memory:"));
    match sqlite_file {
        Some(file) => PathBuf::from(format!("{file}.jwt_secret")),
        None => PathBuf::from("ehome.jwt_secret"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn prod_refuses_a_missing_or_short_secret() {
        let base = [("EHOME_ENV", "prod"), ("WECHAT_APPID", "wx1"), ("WECHAT_SECRET", "s")];
        assert!(matches!(Settings::from_vars(&vars(&base)), Err(ConfigError::WeakJwtSecret)));
        let mut short = base.to_vec();
        short.push(("JWT_SECRET", "short"));
        assert!(matches!(Settings::from_vars(&vars(&short)), Err(ConfigError::WeakJwtSecret)));
        let mut strong = base.to_vec();
        strong.push(("JWT_SECRET", "0123456789abcdef0123456789abcdef"));
        let settings = Settings::from_vars(&vars(&strong)).unwrap();
        assert!(!settings.seed_demo);
    }

    #[test]
    fn ranges_are_checked() {
        let err = Settings::from_vars(&vars(&[("JWT_SECRET", "x"), ("DATABASE_MAX_CONNECTIONS", "0")]));
        assert!(matches!(err, Err(ConfigError::Invalid { name: "DATABASE_MAX_CONNECTIONS", .. })));
    }

    #[test]
    fn secrets_do_not_print() {
        let settings =
            Settings::from_vars(&vars(&[("JWT_SECRET", "topsecretvalue"), ("WECHAT_SECRET", "wxsecret")])).unwrap();
        let printed = format!("{settings:?}");
        assert!(!printed.contains("topsecretvalue"));
        assert!(!printed.contains("wxsecret"));
    }
}
