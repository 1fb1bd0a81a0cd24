//! Configuration: defaults that run on a bare machine, overridden by environment variables, validated
//! before the server binds. Secrets are wrapped so that they never print.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Default SQLite database, created in the working directory on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://ehome.db?mode=rwc";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_WECHAT_API_BASE: &str = "https://api.weixin.qq.com";
const JWT_SECRET_MIN_BYTES: usize = 32;
/// A prod `JWT_SECRET` must use at least this many different bytes (`openssl rand -hex 32` uses 16).
const JWT_SECRET_DISTINCT_BYTES_MIN: usize = 10;
/// The appid WeChat calls are made with when none is configured (dev only): it cannot reach WeChat.
pub const PLACEHOLDER_WECHAT_APPID: &str = "wx-dev-appid";

use crate::domain::media_url::{DEFAULT_MEDIA_HOSTS, MediaHosts};

mod points;
pub use points::PointsSettings;

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
    #[error(
        "JWT_SECRET is too weak for EHOME_ENV=prod ({reason}): it must be set, at least {JWT_SECRET_MIN_BYTES} \
         bytes with at least {JWT_SECRET_DISTINCT_BYTES_MIN} different bytes and no repeated pattern; \
         generate one with `openssl rand -hex 32`"
    )]
    WeakJwtSecret { reason: String },
    #[error(
        "EHOME_ENV is not set, so the server would start in dev mode, where dev-login signs anyone in as any \
         user; but {reasons}, which looks like a deployment. Choose: EHOME_ENV=prod (with JWT_SECRET and the \
         WeChat credentials), or EHOME_ENV=dev to run dev mode here on purpose"
    )]
    ImplicitDevMode { reasons: String },
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

/// Who judges text that other people will read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextCheck {
    /// WeChat's `msg_sec_check`; an unanswered check holds the text.
    Wechat,
    /// The local word list (`wechat::local_text_check`): dev mode without WeChat credentials only, so
    /// a demo can publish.
    LocalWordList,
}

#[derive(Debug, Clone)]
pub struct WechatSettings {
    pub appid: String,
    /// Whether the text check asks WeChat or the local word list.
    pub text_check: TextCheck,
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
    /// A sign-in (refresh family) ends this many days after it began, however often it rotates.
    pub refresh_family_max_days: u64,
    /// A rotated refresh token presented again within this many seconds answers with the successor
    /// already issued (clients race); later, it revokes the family.
    pub refresh_reuse_grace_seconds: u64,
    /// How long an instance keeps a caller's roles between requests (0: never). A change through the
    /// API is seen at once on every instance regardless; this bounds changes made behind its back.
    pub actor_cache_ttl_ms: u64,
}

#[derive(Debug, Clone)]
pub struct RateLimitSettings {
    /// Login attempts per IP address per minute.
    pub login_per_ip_per_minute: u32,
    /// Writes (POST, PUT, PATCH, DELETE) per signed-in user per minute.
    pub writes_per_user_per_minute: u32,
    /// Writes per IP address per minute (covers anonymous writes too).
    pub writes_per_ip_per_minute: u32,
    /// GET requests per signed-in user per minute.
    pub reads_per_user_per_minute: u32,
    /// GET requests per IP address per minute.
    pub reads_per_ip_per_minute: u32,
}

/// A network given as `address/prefix` (`10.0.0.0/8`, `::1/128`; a bare address is one host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpCidr {
    network: IpAddr,
    prefix_len: u8,
}

impl IpCidr {
    pub fn parse(text: &str) -> Result<IpCidr, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address.trim().parse().map_err(|_| format!("{text:?} is not an address/prefix"))?;
        let bits_max = if network.is_ipv4() { 32 } else { 128 };
        let prefix_len = match prefix {
            Some(prefix) => prefix.trim().parse().map_err(|_| format!("{text:?} has no numeric prefix"))?,
            None => bits_max,
        };
        if prefix_len > bits_max {
            return Err(format!("{text:?}: the prefix is longer than {bits_max} bits"));
        }
        Ok(IpCidr { network: network.to_canonical(), prefix_len })
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let keep = |bits: u32, width: u32| if bits == 0 { 0 } else { u128::MAX << (width - bits) };
        match (self.network, address.to_canonical()) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = keep(u32::from(self.prefix_len), 32);
                (u128::from(u32::from(network)) & mask) == (u128::from(u32::from(address)) & mask)
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = keep(u32::from(self.prefix_len), 128);
                (u128::from(network) & mask) == (u128::from(address) & mask)
            }
            _ => false,
        }
    }
}

/// Who may see what beyond the API's own authorisation: operations access and network trust.
#[derive(Debug, Clone)]
pub struct SecuritySettings {
    /// Peers whose `X-Forwarded-For` / `Forwarded` headers are believed (load balancers, gateways).
    pub trusted_proxies: Vec<IpCidr>,
    /// The bearer token `/metrics` requires; unset, `/metrics` is not served (404).
    pub metrics_token: Option<Secret>,
    /// The hosts avatar and photo URLs may point to.
    pub media_hosts: MediaHosts,
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
    /// How long an instance keeps an inbox's first page between requests (0 keeps none).
    pub inbox_cache_ttl_ms: u64,
    /// How long an instance keeps a page of a community's requests, or its statistics, between
    /// requests (0 keeps none).
    pub requests_cache_ttl_ms: u64,
}

/// 邻互助 service hours.
#[derive(Debug, Clone)]
pub struct HoursSettings {
    /// Credited hours per volunteer per Asia/Shanghai day; hours above it are recorded, not credited.
    pub daily_hours_max: u32,
}

/// 关爱 care round timings and the device vendors' signing secrets.
#[derive(Debug, Clone)]
pub struct CareSettings {
    /// How often each instance escalates missed visits and unacknowledged alert tasks (0: off here).
    pub job_interval_seconds: u64,
    /// Hours past a visit's due time before the missed-visit escalation starts, and between its steps.
    pub missed_grace_hours: i64,
    /// Per-vendor HMAC secrets for `POST /care/alerts`, from `CARE_VENDOR_SECRETS=vendor:secret,…`.
    pub vendor_secrets: HashMap<String, Secret>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Environment,
    /// Whether `EHOME_ENV` was given; an implicit dev mode refuses to serve where it looks deployed.
    pub environment_explicit: bool,
    pub bind: SocketAddr,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub wechat: WechatSettings,
    pub auth: AuthSettings,
    pub rate_limits: RateLimitSettings,
    pub requests: RequestSettings,
    pub hours: HoursSettings,
    pub care: CareSettings,
    pub points: PointsSettings,
    pub security: SecuritySettings,
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
        let var = |name: &str| text_var(vars, name);
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
        let requests = RequestSettings {
            job_interval_seconds: parse_range(vars, "REQUEST_JOB_INTERVAL_SECONDS", 60, 0..=86_400)?,
            confirm_window_days: parse_range(vars, "REQUEST_CONFIRM_WINDOW_DAYS", 7, 1..=90)?,
            submissions_per_hour: parse_range(vars, "REQUEST_SUBMISSIONS_PER_HOUR", 10, 1..=100_000)?,
            status_template_id: var("WECHAT_TEMPLATE_REQUEST_STATUS").unwrap_or_default(),
            inbox_cache_ttl_ms: parse_range(vars, "INBOX_CACHE_TTL_MS", 5_000, 0..=600_000)?,
            requests_cache_ttl_ms: parse_range(vars, "REQUESTS_CACHE_TTL_MS", 5_000, 0..=600_000)?,
        };
        let hours = HoursSettings { daily_hours_max: parse_range(vars, "VOLUNTEER_DAILY_HOURS_MAX", 8, 1..=24)? };
        Ok(Settings {
            environment,
            environment_explicit: var("EHOME_ENV").is_some(),
            requests,
            hours,
            care: care_settings(vars)?,
            points: points::points_settings(vars)?,
            bind,
            wechat: wechat_settings(vars, environment)?,
            auth: auth_settings(vars, environment, &database.url)?,
            database,
            redis,
            rate_limits: rate_limit_settings(vars)?,
            security: security_settings(vars)?,
            body_limit_bytes: parse_range(vars, "EHOME_BODY_LIMIT_BYTES", 256 * 1024, 1024..=16 * 1024 * 1024)?,
            shutdown_timeout_seconds: parse_range(vars, "EHOME_SHUTDOWN_TIMEOUT_SECONDS", 30, 0..=600)?,
            seed_demo: environment.is_dev() && parse_range(vars, "EHOME_SEED_DEMO", 1u32, 0..=1)? == 1,
        })
    }

    /// Serving in a dev mode nobody chose is refused where the setup looks like a deployment
    /// (PostgreSQL, a shared Redis, or an address other machines can reach): there, dev-login would
    /// let anyone in as anyone. `cargo run` on the embedded default (SQLite, loopback) is unaffected.
    pub fn refuse_implicit_dev_mode(&self) -> Result<(), ConfigError> {
        if self.environment_explicit || !self.environment.is_dev() {
            return Ok(());
        }
        let mut reasons = Vec::new();
        if self.database.url.starts_with("postgres") {
            reasons.push("DATABASE_URL names PostgreSQL".to_owned());
        }
        if self.redis.url.is_some() {
            reasons.push("REDIS_URL is set".to_owned());
        }
        if !self.bind.ip().is_loopback() {
            reasons.push(format!("EHOME_BIND {} is reachable from other machines", self.bind));
        }
        if reasons.is_empty() {
            return Ok(());
        }
        Err(ConfigError::ImplicitDevMode { reasons: reasons.join(" and ") })
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

fn care_settings(vars: &HashMap<String, String>) -> Result<CareSettings, ConfigError> {
    let mut vendor_secrets = HashMap::new();
    for pair in text_var(vars, "CARE_VENDOR_SECRETS").unwrap_or_default().split(',').filter(|p| !p.trim().is_empty()) {
        let Some((vendor, secret)) = pair.trim().split_once(':') else {
            return Err(ConfigError::Invalid {
                name: "CARE_VENDOR_SECRETS",
                reason: "expected vendor:secret,…".to_owned(),
            });
        };
        if vendor.is_empty() || secret.len() < 16 {
            return Err(ConfigError::Invalid {
                name: "CARE_VENDOR_SECRETS",
                reason: format!("vendor {vendor:?}: a name and a secret of at least 16 bytes"),
            });
        }
        vendor_secrets.insert(vendor.to_owned(), Secret::new(secret));
    }
    Ok(CareSettings {
        job_interval_seconds: parse_range(vars, "CARE_JOB_INTERVAL_SECONDS", 60, 0..=86_400)?,
        missed_grace_hours: parse_range(vars, "CARE_MISSED_GRACE_HOURS", 24, 1..=720)?,
        vendor_secrets,
    })
}

fn text_var(vars: &HashMap<String, String>, name: &str) -> Option<String> {
    vars.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Without both WeChat credentials nothing can reach WeChat: prod refuses to start, dev uses a
/// placeholder appid and judges text with the local word list so that a demo still publishes.
fn wechat_settings(vars: &HashMap<String, String>, environment: Environment) -> Result<WechatSettings, ConfigError> {
    let appid = text_var(vars, "WECHAT_APPID");
    let secret = text_var(vars, "WECHAT_SECRET");
    let credentials_given = appid.is_some() && secret.is_some();
    if environment == Environment::Prod && !credentials_given {
        return Err(ConfigError::Invalid {
            name: "WECHAT_APPID/WECHAT_SECRET",
            reason: "both are required when EHOME_ENV=prod".to_owned(),
        });
    }
    Ok(WechatSettings {
        appid: appid.unwrap_or_else(|| PLACEHOLDER_WECHAT_APPID.to_owned()),
        text_check: if credentials_given { TextCheck::Wechat } else { TextCheck::LocalWordList },
        secret: Secret::new(secret.unwrap_or_default()),
        api_base: text_var(vars, "WECHAT_API_BASE")
            .unwrap_or_else(|| DEFAULT_WECHAT_API_BASE.to_owned())
            .trim_end_matches('/')
            .to_owned(),
        connect_timeout_ms: parse_range(vars, "WECHAT_CONNECT_TIMEOUT_MS", 2_000, 50..=60_000)?,
        request_timeout_ms: parse_range(vars, "WECHAT_REQUEST_TIMEOUT_MS", 5_000, 50..=120_000)?,
        busy_retries_max: parse_range(vars, "WECHAT_BUSY_RETRIES_MAX", 3, 0..=10)?,
        busy_backoff_ms_initial: parse_range(vars, "WECHAT_BUSY_BACKOFF_MS", 100, 1..=10_000)?,
        token_margin_seconds: parse_range(vars, "WECHAT_TOKEN_MARGIN_SECONDS", 60, 0..=600)?,
    })
}

fn auth_settings(
    vars: &HashMap<String, String>,
    environment: Environment,
    database_url: &str,
) -> Result<AuthSettings, ConfigError> {
    Ok(AuthSettings {
        jwt_secret: jwt_secret(environment, text_var(vars, "JWT_SECRET"), database_url)?,
        access_ttl_seconds: parse_range(vars, "JWT_ACCESS_TTL_SECONDS", 15 * 60, 10..=86_400)?,
        refresh_ttl_seconds: parse_range(vars, "JWT_REFRESH_TTL_SECONDS", 30 * 86_400, 60..=365 * 86_400)?,
        refresh_family_max_days: parse_range(vars, "JWT_REFRESH_FAMILY_MAX_DAYS", 90, 1..=3_650)?,
        refresh_reuse_grace_seconds: parse_range(vars, "JWT_REFRESH_REUSE_GRACE_SECONDS", 10, 0..=300)?,
        actor_cache_ttl_ms: parse_range(vars, "ACTOR_CACHE_TTL_MS", 5_000, 0..=600_000)?,
    })
}

fn rate_limit_settings(vars: &HashMap<String, String>) -> Result<RateLimitSettings, ConfigError> {
    let per_minute = |name, default| parse_range(vars, name, default, 1..=1_000_000);
    Ok(RateLimitSettings {
        login_per_ip_per_minute: per_minute("RATE_LOGIN_PER_IP_PER_MINUTE", 30)?,
        writes_per_user_per_minute: per_minute("RATE_WRITES_PER_USER_PER_MINUTE", 120)?,
        writes_per_ip_per_minute: per_minute("RATE_WRITES_PER_IP_PER_MINUTE", 600)?,
        reads_per_user_per_minute: per_minute("RATE_READS_PER_USER_PER_MINUTE", 600)?,
        reads_per_ip_per_minute: per_minute("RATE_READS_PER_IP_PER_MINUTE", 3_000)?,
    })
}

fn security_settings(vars: &HashMap<String, String>) -> Result<SecuritySettings, ConfigError> {
    let trusted_proxies = text_var(vars, "EHOME_TRUSTED_PROXIES")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(IpCidr::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|reason| ConfigError::Invalid { name: "EHOME_TRUSTED_PROXIES", reason })?;
    let metrics_token = text_var(vars, "EHOME_METRICS_TOKEN");
    if let Some(token) = &metrics_token
        && (token.len() < 16 || token.len() > 256 || !token.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(ConfigError::Invalid {
            name: "EHOME_METRICS_TOKEN",
            reason: "16 to 256 printable ASCII characters without spaces".to_owned(),
        });
    }
    let media_hosts = MediaHosts::parse(&text_var(vars, "EHOME_MEDIA_HOSTS").unwrap_or(DEFAULT_MEDIA_HOSTS.to_owned()))
        .map_err(|reason| ConfigError::Invalid { name: "EHOME_MEDIA_HOSTS", reason })?;
    Ok(SecuritySettings { trusted_proxies, metrics_token: metrics_token.map(Secret::new), media_hosts })
}

/// Why a prod JWT secret is too weak, if it is: shorter than 32 bytes, fewer than 10 different bytes
/// (`aaaa…`), or one block repeated (`abcabc…`, `0123456789abcdef0123456789abcdef`).
fn weak_secret_reason(secret: &str) -> Option<String> {
    let bytes = secret.as_bytes();
    if bytes.len() < JWT_SECRET_MIN_BYTES {
        return Some(format!("{} bytes", bytes.len()));
    }
    let distinct = bytes.iter().collect::<std::collections::HashSet<_>>().len();
    if distinct < JWT_SECRET_DISTINCT_BYTES_MIN {
        return Some(format!("only {distinct} different bytes"));
    }
    let period =
        (1..=bytes.len() / 2).find(|&p| bytes.iter().skip(p).zip(bytes).all(|(later, earlier)| later == earlier));
    period.map(|p| format!("a pattern of {p} bytes repeated"))
}

/// In prod the secret must be given and strong. In dev a random secret is generated once and kept beside
/// the SQLite database, so tokens survive a restart; with PostgreSQL in dev it lives in the working
/// directory.
fn jwt_secret(environment: Environment, given: Option<String>, database_url: &str) -> Result<Secret, ConfigError> {
    if let Some(secret) = given {
        if environment == Environment::Prod
            && let Some(reason) = weak_secret_reason(&secret)
        {
            return Err(ConfigError::WeakJwtSecret { reason });
        }
        return Ok(Secret::new(secret));
    }
    if environment == Environment::Prod {
        return Err(ConfigError::WeakJwtSecret { reason: "not set".to_owned() });
    }
    let path = dev_secret_path(database_url);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if existing.len() >= JWT_SECRET_MIN_BYTES {
            // A file written by an older version may be world-readable.
            keep_private(&path).map_err(|source| ConfigError::DevSecret { path: path.clone(), source })?;
            return Ok(Secret::new(existing));
        }
    }
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let generated = hex::encode(bytes);
    write_private(&path, &generated).map_err(|source| ConfigError::DevSecret { path, source })?;
    Ok(Secret::new(generated))
}

/// Writes a file only its owner can read (0600 on Unix), also when it existed with a wider mode.
fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    keep_private(path)?;
    file.write_all(contents.as_bytes())
}

fn keep_private(path: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
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
mod tests;
