//! Issue 10, the platform half: how dev mode is chosen, prod's secrets, token times and the dev secret
//! file, refresh families and racing clients, trusted proxies. Each test fails on the code before the
//! fix.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Duration;
use ehome_api::platform::clock::{Clock, TestClock};
use ehome_api::platform::config::{ConfigError, Settings, TextCheck};
use ehome_api::startup::Application;
use ehome_tests::{
    FakeWechat, Shared, TEST_JWT_SECRET, TestDatabase, error_code, session_from, settings_for, spawn_app_with,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

async fn shared() -> Shared {
    Shared {
        database: Arc::new(TestDatabase::create().await),
        wechat: FakeWechat::start().await,
        clock: TestClock::new(),
    }
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ehome-sec-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Item 4: without `EHOME_ENV`, serving on PostgreSQL, with Redis or on a public address is refused
/// with a message that says why and how to choose; `EHOME_ENV=dev` there starts (and serves dev-login).
#[tokio::test]
async fn implicit_dev_mode_refuses_to_serve_where_it_looks_deployed() {
    let shared = shared().await;
    let implicit = [("EHOME_ENV", "")];
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let deployed: [Case; 3] = [
        ("PostgreSQL", &[("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ehome_never_created")], "PostgreSQL"),
        ("Redis", &[("REDIS_URL", "redis://127.0.0.1:6379")], "REDIS_URL"),
        ("public bind", &[("EHOME_BIND", "0.0.0.0:0")], "EHOME_BIND"),
    ];
    for (name, extra, reason) in deployed {
        let settings = settings_for(&shared, &[implicit.as_slice(), extra].concat());
        let Err(err) = Application::build(settings).await else {
            panic!("{name}: an implicit dev mode started");
        };
        let message = format!("{err:#}");
        for needle in [reason, "EHOME_ENV=prod", "EHOME_ENV=dev", "dev-login"] {
            assert!(message.contains(needle), "{name}: {needle} missing from {message}");
        }
    }

    // Chosen on purpose, dev mode runs there (on this backend's database, on every interface).
    let app = spawn_app_with(&[("EHOME_ENV", "dev"), ("EHOME_BIND", "0.0.0.0:0")]).await;
    assert!(app.state.settings.environment_explicit);
    app.dev_login("on-purpose").await;
}

/// Item 4, the other side: no variables at all on the embedded default still serves (SQLite file,
/// loopback), in dev mode, with the local text check.
#[test]
fn the_embedded_default_needs_no_variables() {
    let dir = temp_dir();
    let url = format!("sqlite://{}?mode=rwc", dir.join("ehome.db").display());
    let settings = Settings::from_vars(&vars(&[("DATABASE_URL", &url)])).unwrap();
    assert!(settings.environment.is_dev() && !settings.environment_explicit);
    settings.refuse_implicit_dev_mode().unwrap();
    assert_eq!(settings.wechat.text_check, TextCheck::LocalWordList);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Item 7: prod needs the appid (no silent placeholder) and a JWT secret that is not a pattern.
#[test]
fn prod_requires_the_appid_and_a_high_entropy_secret() {
    let strong = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let prod = |extra: &[(&str, &str)]| {
        let mut pairs =
            vec![("EHOME_ENV", "prod"), ("WECHAT_APPID", "wx1"), ("WECHAT_SECRET", "s"), ("JWT_SECRET", strong)];
        pairs.retain(|(name, _)| !extra.iter().any(|(other, _)| other == name));
        pairs.extend_from_slice(extra);
        Settings::from_vars(&vars(&pairs))
    };
    let settings = prod(&[]).unwrap();
    assert_eq!(settings.wechat.text_check, TextCheck::Wechat, "prod always asks WeChat");
    let no_appid = prod(&[("WECHAT_APPID", "")]);
    assert!(matches!(no_appid, Err(ConfigError::Invalid { name: "WECHAT_APPID/WECHAT_SECRET", .. })), "{no_appid:?}");
    let weak_secrets =
        ["a".repeat(32), "ab".repeat(32), "secret".repeat(8), "0123456789abcdef".repeat(2), "short-secret".to_owned()];
    for weak in &weak_secrets {
        let refused = prod(&[("JWT_SECRET", weak)]);
        assert!(matches!(refused, Err(ConfigError::WeakJwtSecret { .. })), "{weak}: {refused:?}");
        assert!(refused.unwrap_err().to_string().contains("openssl rand -hex 32"));
    }
}

/// Item 8: the generated dev secret is readable by its owner only, also when an older file was not.
#[cfg(unix)]
#[test]
fn the_generated_dev_secret_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir();
    let url = format!("sqlite://{}?mode=rwc", dir.join("ehome.db").display());
    let secret_file = dir.join("ehome.db.jwt_secret");
    let mode = || std::fs::metadata(&secret_file).unwrap().permissions().mode() & 0o777;
    let settings = Settings::from_vars(&vars(&[("DATABASE_URL", &url)])).unwrap();
    assert_eq!(mode(), 0o600);
    std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let again = Settings::from_vars(&vars(&[("DATABASE_URL", &url)])).unwrap();
    assert_eq!(again.auth.jwt_secret, settings.auth.jwt_secret, "the kept secret is reused");
    assert_eq!(mode(), 0o600);
    let _ = std::fs::remove_dir_all(&dir);
}

fn forge(sub: i64, iat: i64, exp: i64) -> String {
    let claims = json!({"sub": sub.to_string(), "iat": iat, "exp": exp, "typ": "access"});
    encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(TEST_JWT_SECRET.as_bytes())).unwrap()
}

/// Item 8: a token from the future or with a life longer than the access TTL is refused, and expiry
/// follows the injected clock.
#[tokio::test]
async fn access_tokens_are_checked_against_the_injected_clock() {
    let app = spawn_app_with(&[("JWT_ACCESS_TTL_SECONDS", "900")]).await;
    let session = app.dev_login("timed").await;
    let now = app.clock.now().timestamp();
    assert_eq!(app.get("/me", Some(&forge(session.user_id, now, now + 900))).await.status(), 200);
    assert_eq!(app.get("/me", Some(&forge(session.user_id, now + 20, now + 600))).await.status(), 200, "small skew");
    for (name, token) in [
        ("issued in the future", forge(session.user_id, now + 3_600, now + 4_000)),
        ("longer than the TTL", forge(session.user_id, now - 10, now + 86_400)),
        ("exp before iat", forge(session.user_id, now + 10, now - 10)),
    ] {
        let response = app.get("/me", Some(&token)).await;
        assert_eq!(response.status(), 401, "{name}");
        assert_eq!(error_code(response).await, "UNAUTHENTICATED", "{name}");
    }
    assert_eq!(app.get("/me", Some(&session.access)).await.status(), 200);
    app.clock.advance(Duration::seconds(901));
    assert_eq!(app.get("/me", Some(&session.access)).await.status(), 401, "expired by the app's clock");
}

async fn refresh(app: &ehome_tests::TestApp, token: &str) -> reqwest::Response {
    app.post("/auth/refresh", None, &json!({"refresh_token": token})).await
}

/// Item 10: a sign-in ends 90 days (by default) after it began, however often it rotates.
#[tokio::test]
async fn a_refresh_family_has_an_absolute_lifetime() {
    let app = spawn_app_with(&[]).await;
    let began = app.clock.now();
    let mut session = app.dev_login("long-lived").await;
    for _ in 0..3 {
        app.clock.advance(Duration::days(29));
        let rotated = refresh(&app, &session.refresh).await;
        assert_eq!(rotated.status(), 200);
        let body: Value = rotated.json().await.unwrap();
        let expires: chrono::DateTime<chrono::Utc> = body["refresh_expires_at"].as_str().unwrap().parse().unwrap();
        assert!(expires <= began + Duration::days(90) + Duration::seconds(5), "capped by the family's end: {expires}");
        session = session_from(body);
    }
    app.clock.advance(Duration::days(4));
    let ended = refresh(&app, &session.refresh).await;
    assert_eq!(ended.status(), 401, "day 91: the family has ended");
    assert_eq!(error_code(ended).await, "REFRESH_TOKEN_INVALID");

    let short = spawn_app_with(&[("JWT_REFRESH_FAMILY_MAX_DAYS", "1")]).await;
    let session = short.dev_login("short-lived").await;
    short.clock.advance(Duration::hours(20));
    let next = session_from(refresh(&short, &session.refresh).await.json().await.unwrap());
    short.clock.advance(Duration::hours(5));
    assert_eq!(refresh(&short, &next.refresh).await.status(), 401, "configurable: one day");
}

/// Item 10: ten parallel refreshes of one token all get the same successor (and working access
/// tokens); the family survives. A reuse after the grace window still revokes it.
#[tokio::test]
async fn parallel_refreshes_share_one_successor_and_late_reuse_revokes() {
    let app = spawn_app_with(&[]).await;
    let session = app.dev_login("racing").await;
    let answers = futures::future::join_all((0..10).map(|_| refresh(&app, &session.refresh))).await;
    let mut successors = Vec::new();
    for answer in answers {
        assert_eq!(answer.status(), 200, "no racing refresh logs the user out");
        let next = session_from(answer.json().await.unwrap());
        assert_eq!(app.get("/me", Some(&next.access)).await.status(), 200);
        successors.push(next.refresh);
    }
    successors.dedup();
    assert_eq!(successors.len(), 1, "one successor for all");
    let successor = successors.remove(0);
    assert_ne!(successor, session.refresh);

    // Eleven seconds later the original is a leaked token: the family goes.
    app.clock.advance(Duration::seconds(11));
    let late = refresh(&app, &session.refresh).await;
    assert_eq!(late.status(), 401);
    assert_eq!(error_code(late).await, "REFRESH_TOKEN_INVALID");
    assert_eq!(refresh(&app, &successor).await.status(), 401, "the family is revoked");
}

/// Item 15: forwarded headers count only from a trusted proxy, and rate limits key on the address
/// they name.
#[tokio::test]
async fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    let limit = [("RATE_LOGIN_PER_IP_PER_MINUTE", "2")];
    let login = |app: &ehome_tests::TestApp, header: (&'static str, String)| {
        app.request(reqwest::Method::POST, "/auth/dev-login", None)
            .header(header.0, header.1)
            .json(&json!({"openid": "behind-a-proxy"}))
            .send()
    };
    let direct = spawn_app_with(&limit).await;
    let mut statuses = Vec::new();
    for i in 0..3 {
        statuses.push(login(&direct, ("x-forwarded-for", format!("203.0.113.{i}"))).await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429], "forged headers from an untrusted peer are ignored");

    let proxied = spawn_app_with(&[limit[0], ("EHOME_TRUSTED_PROXIES", "127.0.0.1/32, ::1")]).await;
    for i in 0..3 {
        let spoofed_left = format!("198.51.100.7, 203.0.113.{i}");
        assert_eq!(login(&proxied, ("x-forwarded-for", spoofed_left)).await.unwrap().status(), 200, "client {i}");
    }
    let forwarded = |i| ("forwarded", format!("for=\"[2001:db8::{i}]:4711\";proto=https"));
    assert_eq!(login(&proxied, forwarded(1)).await.unwrap().status(), 200);
    assert_eq!(login(&proxied, forwarded(1)).await.unwrap().status(), 200);
    let third = login(&proxied, forwarded(1)).await.unwrap();
    assert_eq!(third.status(), 429, "the forwarded client has its own count");
    assert!(third.headers().contains_key("retry-after"));
}
