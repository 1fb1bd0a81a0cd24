//! The one database harness of both test suites (the API's end-to-end tests and the ledger's
//! integration tests): a database per test — a temporary SQLite file, or a PostgreSQL database
//! `ehome_t_<uuid>` dropped `WITH (FORCE)` when the test ends, even if it panics — left empty for an app
//! that migrates it itself or migrated here, and a Redis key prefix of its own, cleared at the end.
//!
//! `EHOME_TEST_BACKEND` chooses the backend: `sqlite` (also when unset) or `postgres`. Any other value
//! panics, so that a typo cannot quietly run the PostgreSQL suite on SQLite. `EHOME_TEST_PG_URL` and
//! `EHOME_TEST_REDIS_URL` name the servers (defaults: the local ones, as `scripts/test.sh` starts them).
// Test support: a setup step that fails must fail the test that asked for it, saying why.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::env::VarError;
use std::future::Future;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use ehome_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

/// The variable that chooses the backend.
pub const BACKEND_VAR: &str = "EHOME_TEST_BACKEND";
const PG_URL_VAR: &str = "EHOME_TEST_PG_URL";
const REDIS_URL_VAR: &str = "EHOME_TEST_REDIS_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A value of `EHOME_TEST_BACKEND` that names no backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{BACKEND_VAR} must be `sqlite` or `postgres` (unset means sqlite), not {0:?}")]
pub struct UnknownBackend(pub String);

impl FromStr for Backend {
    type Err = UnknownBackend;

    /// Only the two exact names: a near miss (`postgress`, `pg`, `Postgres`) is an error, not SQLite.
    fn from_str(name: &str) -> Result<Backend, UnknownBackend> {
        match name {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" => Ok(Backend::Postgres),
            other => Err(UnknownBackend(other.to_owned())),
        }
    }
}

impl Backend {
    /// The backend `EHOME_TEST_BACKEND` names; panics on any value but the two names.
    pub fn from_env() -> Backend {
        match std::env::var(BACKEND_VAR) {
            Err(VarError::NotPresent) => Backend::Sqlite,
            Err(VarError::NotUnicode(raw)) => panic!("{}", UnknownBackend(raw.to_string_lossy().into_owned())),
            Ok(name) => name.parse().unwrap_or_else(|unknown: UnknownBackend| panic!("{unknown}")),
        }
    }
}

fn pg_server() -> String {
    let url = std::env::var(PG_URL_VAR).unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    url.trim_end_matches('/').to_owned()
}

/// The test Redis server (`EHOME_TEST_REDIS_URL`, or the local one).
pub fn redis_server() -> String {
    std::env::var(REDIS_URL_VAR).unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// Whether this run has a Redis to test against: the PostgreSQL backend comes with one, and on SQLite
/// setting `EHOME_TEST_REDIS_URL` says there is one.
pub fn redis_configured() -> bool {
    Backend::from_env() == Backend::Postgres || std::env::var(REDIS_URL_VAR).is_ok()
}

/// A pool as the tests want it: long waits, because many tasks contend on purpose in the concurrency
/// tests and a slow CI machine must not turn that into a timeout.
pub async fn connect(url: &str, max_connections: u32) -> DatabaseConnection {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(60))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| o.busy_timeout(Duration::from_secs(60)));
    Database::connect(options).await.unwrap_or_else(|e| panic!("connect to {url}: {e}"))
}

/// Undoes the migrations from the one whose name starts with `first` (`"m20261128_000024"`) to the
/// last, whatever came after it, and returns how many were undone; a test of a migration's `down` then
/// stays right as migrations are added.
pub async fn undo_migrations_from(db: &DatabaseConnection, first: &str) -> u32 {
    let applied = Migrator::get_applied_migrations(db).await.expect("the applied migrations");
    let from = applied.iter().position(|m| m.name().starts_with(first)).unwrap_or_else(|| panic!("{first} is applied"));
    let steps = u32::try_from(applied.len() - from).expect("a few migrations");
    Migrator::down(db, Some(steps)).await.unwrap_or_else(|e| panic!("undo {steps} migrations from {first}: {e}"));
    steps
}

/// Runs cleanup from a `Drop`: that runs on the test's runtime, which is blocked in it, so the work gets
/// a thread and a runtime of its own. Failures are ignored: cleanup must never turn a pass into a panic.
fn clean_up_elsewhere<F: Future<Output = ()> + Send + 'static>(work: F) {
    let cleanup = std::thread::spawn(move || {
        if let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
            runtime.block_on(work);
        }
    });
    let _ = cleanup.join();
}

/// A Redis key prefix of the test's own; its keys are deleted when it drops.
pub struct RedisPrefix {
    pub server: String,
    pub prefix: String,
}

impl RedisPrefix {
    pub fn new() -> RedisPrefix {
        RedisPrefix::with_id(&uuid::Uuid::new_v4().simple().to_string())
    }

    fn with_id(id: &str) -> RedisPrefix {
        RedisPrefix { server: redis_server(), prefix: format!("ehome-test:{id}:") }
    }
}

impl Default for RedisPrefix {
    fn default() -> RedisPrefix {
        RedisPrefix::new()
    }
}

async fn clear_redis_prefix(server: String, prefix: String) {
    let Ok(client) = redis::Client::open(server) else { return };
    // Without a Redis (SQLite on a machine that has none) the cleanup gives up quickly.
    let connecting = tokio::time::timeout(Duration::from_secs(2), client.get_multiplexed_async_connection());
    let Ok(Ok(mut conn)) = connecting.await else { return };
    let keys: Vec<String> =
        redis::cmd("KEYS").arg(format!("{prefix}*")).query_async(&mut conn).await.unwrap_or_default();
    if !keys.is_empty() {
        let _: Result<(), _> = redis::cmd("DEL").arg(keys).query_async(&mut conn).await;
    }
}

impl Drop for RedisPrefix {
    fn drop(&mut self) {
        clean_up_elsewhere(clear_redis_prefix(std::mem::take(&mut self.server), std::mem::take(&mut self.prefix)));
    }
}

enum Store {
    SqliteFile(PathBuf),
    PgDatabase(String),
}

/// One database of one test, removed when it drops, with the test's Redis prefix.
pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
    /// The Redis an app under test caches in: the PostgreSQL backend pairs with Redis (as production
    /// does); on SQLite the app keeps its in-process cache.
    pub redis_url: Option<String>,
    /// Cleared at the end whatever the backend: a test on SQLite may still point an app at Redis (two
    /// instances sharing a token need it).
    pub redis: RedisPrefix,
    store: Store,
}

impl TestDatabase {
    /// An empty database, for an app that migrates it when it starts.
    pub async fn create() -> TestDatabase {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("ehome_t_{id}");
        let backend = Backend::from_env();
        let redis = RedisPrefix::with_id(&id);
        match backend {
            Backend::Sqlite => {
                let file = std::env::temp_dir().join(format!("{name}.db"));
                let url = format!("sqlite://{}?mode=rwc", file.display());
                TestDatabase { backend, url, redis_url: None, redis, store: Store::SqliteFile(file) }
            }
            Backend::Postgres => {
                let admin = connect(&format!("{}/postgres", pg_server()), 1).await;
                admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create the test database");
                admin.close().await.ok();
                let url = format!("{}/{name}", pg_server());
                let redis_url = Some(redis.server.clone());
                TestDatabase { backend, url, redis_url, redis, store: Store::PgDatabase(name) }
            }
        }
    }

    /// A database with every migration applied, and a pool of `max_connections` on it.
    pub async fn migrated(max_connections: u32) -> (TestDatabase, DatabaseConnection) {
        let database = TestDatabase::create().await;
        let db = database.connect(max_connections).await;
        if database.backend == Backend::Sqlite {
            // As the app runs SQLite: readers do not wait for the writer. The mode stays with the file,
            // so later pools on it have it too.
            db.execute_unprepared("PRAGMA journal_mode=WAL").await.expect("WAL mode");
        }
        Migrator::up(&db, None).await.expect("migrations apply");
        (database, db)
    }

    /// Another, independent pool on this database (as a second API instance has).
    pub async fn connect(&self, max_connections: u32) -> DatabaseConnection {
        connect(&self.url, max_connections).await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.store {
            Store::SqliteFile(file) => {
                // The database, its WAL and rollback files, and the JWT secret the app may keep beside it.
                for suffix in ["", "-wal", "-shm", "-journal", ".jwt_secret"] {
                    let mut path = file.clone().into_os_string();
                    path.push(suffix);
                    let _ = std::fs::remove_file(path);
                }
            }
            Store::PgDatabase(name) => {
                // FORCE ends the connections the test's pools still hold.
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                clean_up_elsewhere(async move {
                    if let Ok(admin) = Database::connect(format!("{}/postgres", pg_server())).await {
                        let _ = admin.execute_unprepared(&sql).await;
                        let _ = admin.close().await;
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_backend_names_parse() {
        assert_eq!("sqlite".parse(), Ok(Backend::Sqlite));
        assert_eq!("postgres".parse(), Ok(Backend::Postgres));
    }

    #[test]
    fn a_near_miss_is_an_error_that_names_the_variable_and_the_value() {
        for typo in ["postgress", "pg", "postgresql", "Postgres", "sqlite3", " sqlite", ""] {
            let unknown = typo.parse::<Backend>().expect_err(typo);
            assert_eq!(unknown, UnknownBackend(typo.to_owned()));
            let message = unknown.to_string();
            assert!(message.contains(BACKEND_VAR) && message.contains(&format!("{typo:?}")), "{message}");
        }
    }
}
