//! The end-to-end harness: the real application on port 0 with a fresh database and its own Redis key
//! prefix (both from `ehome-test-harness`, which the ledger's tests share), and a fake WeChat server on
//! a real socket. `EHOME_TEST_BACKEND=postgres` selects PostgreSQL + Redis; `sqlite` or unset, SQLite +
//! in-process cache; anything else panics. `seed_demo` returns the demo community's ids (`Demo`); the
//! request helpers are methods of `TestApp` (`requests.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alliance;
pub mod demo;
pub mod fake_wechat;
pub mod proxy;
mod requests;
mod volunteering;

use std::collections::HashMap;
use std::sync::{Arc, Once};

use ehome_api::platform::clock::{SharedClock, TestClock};
use ehome_api::platform::config::Settings;
use ehome_api::startup::Application;
use ehome_api::state::AppState;
use reqwest::{Method, RequestBuilder, Response};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

pub use demo::Demo;
pub use ehome_test_harness::{Backend, RedisPrefix, TestDatabase, redis_configured};
pub use fake_wechat::{Endpoint, FakeWechat};
pub use proxy::TcpProxy;

/// The JWT secret every test app signs with, so tests can forge tokens with it or without it.
pub const TEST_JWT_SECRET: &str = "test-jwt-secret-0123456789abcdef-0123456789";
pub const TEST_APPID: &str = "wx-test-appid";
pub const TEST_WECHAT_SECRET: &str = "wx-test-secret";

/// What two instances of the app share: the database, the Redis prefix and the fake WeChat.
#[derive(Clone)]
pub struct Shared {
    pub database: Arc<TestDatabase>,
    pub wechat: FakeWechat,
    pub clock: Arc<TestClock>,
}

pub struct TestApp {
    /// The clock the app's domain reads; tests move it (shared by instances on one database).
    pub clock: Arc<TestClock>,
    /// The app's state, for driving background jobs the way the server's timer does.
    pub state: AppState,
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub wechat: FakeWechat,
    pub database: Arc<TestDatabase>,
    pub db: DatabaseConnection,
}

/// Ids of the community `TestApp::create_other_community` made.
#[derive(Debug, Clone, Copy)]
pub struct OtherCommunity {
    pub community: i64,
    pub grid: i64,
    pub building: i64,
}

/// A signed-in user as the API returned it.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: i64,
    pub access: String,
    pub refresh: String,
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var("TEST_LOG").is_ok() {
            ehome_api::platform::telemetry::init(ehome_api::platform::config::Environment::Dev);
        }
    });
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// The app with extra environment variables (they win over the harness's).
pub async fn spawn_app_with(vars: &[(&str, &str)]) -> TestApp {
    spawn_app_on(fresh_shared().await, vars).await
}

/// A fresh database, fake WeChat and clock, for a test that points the app at them its own way (a
/// fault test's proxy in front of the database).
pub async fn fresh_shared() -> Shared {
    Shared {
        database: Arc::new(TestDatabase::create().await),
        wechat: FakeWechat::start().await,
        clock: TestClock::new(),
    }
}

/// An instance on what `shared` names, with extra environment variables (they win over the harness's).
pub async fn spawn_app_on(shared: Shared, vars: &[(&str, &str)]) -> TestApp {
    spawn_instance(shared, vars).await
}

/// A second instance on the same database, Redis prefix and fake WeChat: another API server.
pub async fn spawn_app_sharing(other: &TestApp) -> TestApp {
    spawn_app_sharing_with(other, &[]).await
}

/// A second instance, with extra environment variables.
pub async fn spawn_app_sharing_with(other: &TestApp, vars: &[(&str, &str)]) -> TestApp {
    let shared = Shared { database: other.database.clone(), wechat: other.wechat.clone(), clock: other.clock.clone() };
    spawn_instance(shared, vars).await
}

/// Two instances on one database, fake WeChat and a real Redis (even when the backend under test is
/// SQLite with the in-process cache: what instances share through Redis is what such tests are about),
/// with extra environment variables.
pub async fn two_instances_on_redis(vars: &[(&str, &str)]) -> (TestApp, TestApp) {
    let redis = std::env::var("EHOME_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let mut all = vec![("REDIS_URL", redis.as_str())];
    all.extend_from_slice(vars);
    let first = spawn_app_with(&all).await;
    let second = spawn_app_sharing_with(&first, &all).await;
    (first, second)
}

pub fn settings_for(shared: &Shared, vars: &[(&str, &str)]) -> Settings {
    let mut env: HashMap<String, String> = HashMap::new();
    let mut put = |k: &str, v: &str| {
        env.insert(k.to_owned(), v.to_owned());
    };
    put("EHOME_ENV", "dev");
    put("EHOME_BIND", "127.0.0.1:0");
    put("EHOME_SEED_DEMO", "0");
    put("DATABASE_URL", &shared.database.url);
    put("DATABASE_MAX_CONNECTIONS", "8");
    // Bursts of a few hundred requests queue on 8 connections; on a loaded CI machine a queued request
    // may wait longer than the production default (5 s) without anything being wrong.
    put("DATABASE_ACQUIRE_TIMEOUT_MS", "30000");
    put("REDIS_KEY_PREFIX", &shared.database.redis.prefix);
    if let Some(redis) = &shared.database.redis_url {
        put("REDIS_URL", redis);
    }
    put("JWT_SECRET", TEST_JWT_SECRET);
    put("WECHAT_APPID", TEST_APPID);
    put("WECHAT_SECRET", TEST_WECHAT_SECRET);
    put("WECHAT_API_BASE", &shared.wechat.base_url());
    put("WECHAT_BUSY_BACKOFF_MS", "5");
    put("REQUEST_JOB_INTERVAL_SECONDS", "0");
    put("REQUEST_SUBMISSIONS_PER_HOUR", "100000");
    put("RATE_LOGIN_PER_IP_PER_MINUTE", "100000");
    put("RATE_WRITES_PER_USER_PER_MINUTE", "100000");
    put("RATE_WRITES_PER_IP_PER_MINUTE", "100000");
    put("RATE_READS_PER_USER_PER_MINUTE", "100000");
    put("RATE_READS_PER_IP_PER_MINUTE", "100000");
    for (k, v) in vars {
        put(k, v);
    }
    Settings::from_vars(&env).expect("test settings are valid")
}

async fn spawn_instance(shared: Shared, vars: &[(&str, &str)]) -> TestApp {
    init_logs();
    let settings = settings_for(&shared, vars);
    let clock: SharedClock = shared.clock.clone();
    let app = Application::build_with_clock(settings, clock).await.expect("the app starts");
    let port = app.port();
    let state = app.state().clone();
    let db = state.db.clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        clock: shared.clock,
        state,
        address: format!("http://127.0.0.1:{port}"),
        port,
        // Idle connections are dropped well before actix's 5 s keep-alive closes them, so a loaded
        // machine never sends a request down a connection the server is closing (`IncompleteMessage`).
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(std::time::Duration::from_secs(1))
            .build()
            .unwrap(),
        wechat: shared.wechat,
        database: shared.database,
        db,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("/api/") || !path.starts_with('/') || is_operations(path) {
            format!("{}{}", self.address, path)
        } else {
            format!("{}/api/v1{}", self.address, path)
        }
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request(Method::POST, path, token).json(body).send().await.unwrap()
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request(Method::PUT, path, token).json(body).send().await.unwrap()
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request(Method::PATCH, path, token).json(body).send().await.unwrap()
    }

    /// GET, the answer read as JSON whatever its status.
    pub async fn get_json(&self, path: &str, token: Option<&str>) -> Value {
        self.get(path, token).await.json().await.unwrap()
    }

    /// POST, the answer read as JSON whatever its status.
    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Value {
        self.post(path, token, body).await.json().await.unwrap()
    }

    pub async fn dev_login(&self, openid: &str) -> Session {
        let response = self.post("/auth/dev-login", None, &json!({"openid": openid})).await;
        assert_eq!(response.status(), 200, "dev-login as {openid}");
        session_from(response.json().await.unwrap())
    }

    /// Signs each in by dev-login, one after the other, in order.
    pub async fn dev_logins<const N: usize>(&self, openids: [&str; N]) -> [Session; N] {
        let mut sessions = Vec::with_capacity(N);
        for openid in openids {
            sessions.push(self.dev_login(openid).await);
        }
        sessions.try_into().unwrap_or_else(|_| unreachable!("one session per openid"))
    }

    /// A second community (安丰社区, 白云街道) with one grid and one building (9号楼), made through the
    /// API with an admin's token, as an admin would set one up.
    pub async fn create_other_community(&self, admin_token: &str) -> OtherCommunity {
        let post = |path: String, body: Value| async move {
            let response = self.post(&path, Some(admin_token), &body).await;
            assert_eq!(response.status(), 201, "POST {path}");
            response.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
        };
        let community =
            post("/communities".to_owned(), json!({"district": "海曙区", "street": "白云街道", "name": "安丰社区"}))
                .await;
        let grid = post(format!("/communities/{community}/grids"), json!({"name": "一网格"})).await;
        let building = post(format!("/grids/{grid}/buildings"), json!({"name": "9号楼"})).await;
        OtherCommunity { community, grid, building }
    }

    /// Makes a user a platform admin, as `ehome admin grant --role admin` does.
    pub async fn make_admin(&self, user_id: i64) {
        let action = ehome_api::cli::admin::AdminAction::Grant {
            user: user_id.to_string(),
            community: None,
            role: "admin".to_owned(),
            scope_ids: vec![],
        };
        ehome_api::cli::admin::run(action, &self.db, &self.state.cache).await.unwrap();
    }
}

fn is_operations(path: &str) -> bool {
    ["/healthz", "/readyz", "/metrics", "/openapi.yaml"].contains(&path)
}

pub fn session_from(body: Value) -> Session {
    Session {
        user_id: body["user"]["id"].as_i64().expect("user id"),
        access: body["access_token"].as_str().expect("access token").to_owned(),
        refresh: body["refresh_token"].as_str().expect("refresh token").to_owned(),
    }
}

/// Reads an error response and returns its code, checking the shape every error has.
pub async fn error_code(response: Response) -> String {
    let request_id = response.headers().get("x-request-id").map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.expect("error bodies are JSON");
    let error = &body["error"];
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "message in {body}");
    assert_eq!(error["request_id"].as_str(), request_id.as_deref(), "request id in body and header");
    error["code"].as_str().expect("code").to_owned()
}
