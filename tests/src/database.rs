//! One database (and one Redis key prefix) per test, removed when the test ends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use sea_orm::{ConnectionTrait, Database};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_env() -> Backend {
        match std::env::var("EHOME_TEST_BACKEND").as_deref() {
            Ok("postgres") => Backend::Postgres,
            Ok("sqlite") | Err(_) => Backend::Sqlite,
            Ok(other) => panic!("EHOME_TEST_BACKEND must be sqlite or postgres, not {other:?}"),
        }
    }
}

pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    sqlite_file: Option<PathBuf>,
    pg_name: Option<String>,
}

fn pg_server() -> String {
    std::env::var("EHOME_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

fn redis_server() -> String {
    std::env::var("EHOME_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let redis_prefix = format!("ehome-test:{id}:");
        match Backend::from_env() {
            Backend::Sqlite => {
                let file = std::env::temp_dir().join(format!("ehome-test-{id}.db"));
                TestDatabase {
                    backend: Backend::Sqlite,
                    url: format!("sqlite://{}?mode=rwc", file.display()),
                    redis_url: None,
                    redis_prefix,
                    sqlite_file: Some(file),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let name = format!("ehome_t_{id}");
                let admin = Database::connect(format!("{}/postgres", pg_server())).await.expect("PostgreSQL reachable");
                admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
                admin.close().await.ok();
                TestDatabase {
                    backend: Backend::Postgres,
                    url: format!("{}/{name}", pg_server()),
                    redis_url: Some(redis_server()),
                    redis_prefix,
                    sqlite_file: None,
                    pg_name: Some(name),
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(file) = &self.sqlite_file {
            for suffix in ["", "-wal", "-shm", ".jwt_secret"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
        let pg_name = self.pg_name.take();
        // The prefix is cleared on the test Redis whatever the backend: a test on SQLite may still point
        // an app at Redis (two instances sharing a token need it).
        let redis = Some((self.redis_url.clone().unwrap_or_else(redis_server), self.redis_prefix.clone()));
        // Drop runs inside the test's runtime; clean up on a thread with a runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                if let Some(name) = pg_name
                    && let Ok(admin) = Database::connect(format!("{}/postgres", pg_server())).await
                {
                    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                    let _ = admin.close().await;
                }
                let connect = |client: redis::Client| async move {
                    tokio::time::timeout(std::time::Duration::from_secs(2), client.get_multiplexed_async_connection())
                        .await
                };
                if let Some((url, prefix)) = redis
                    && let Ok(client) = redis::Client::open(url)
                    && let Ok(Ok(mut conn)) = connect(client).await
                {
                    let keys: Vec<String> =
                        redis::cmd("KEYS").arg(format!("{prefix}*")).query_async(&mut conn).await.unwrap_or_default();
                    if !keys.is_empty() {
                        let _: Result<(), _> = redis::cmd("DEL").arg(keys).query_async(&mut conn).await;
                    }
                }
            });
        });
        let _ = cleanup.join();
    }
}
