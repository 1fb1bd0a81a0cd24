//! Database connection: PostgreSQL or SQLite behind one sea-orm connection, pool sizes and timeouts
//! from configuration, SQLite in WAL mode with a busy timeout.
//!
//! A pooled connection is not pinged every time it is handed out (sqlx's default, one more round trip
//! for every statement outside a transaction): only when it has been idle for [`PING_IDLE_AFTER`], or
//! while the pool's connections are suspect because the database was just seen to go away or come
//! back ([`suspect_connections`]). A connection that does not answer its ping is replaced before the
//! request gets it.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use ehome_migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection};

use crate::platform::config::DatabaseSettings;

pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(settings.url.clone());
    options
        .max_connections(settings.max_connections)
        .min_connections(settings.min_connections.min(settings.max_connections))
        .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms))
        .connect_timeout(Duration::from_millis(settings.acquire_timeout_ms))
        .sqlx_logging(false)
        .test_before_acquire(false);
    options.map_sqlx_postgres_before_acquire(|connection, meta| {
        Box::pin(async move {
            if meta.idle_for >= PING_IDLE_AFTER || connections_suspect() {
                sea_orm::sqlx::Connection::ping(connection).await?;
            }
            Ok(true)
        })
    });
    let busy_timeout = Duration::from_millis(settings.sqlite_busy_timeout_ms);
    options.map_sqlx_sqlite_opts(move |opts| {
        opts.journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(busy_timeout)
            .foreign_keys(true)
    });
    let connection = Database::connect(options).await.context("connecting to the database")?;
    Ok(connection)
}

/// A pooled PostgreSQL connection idle this long is pinged before it is handed out.
pub const PING_IDLE_AFTER: Duration = Duration::from_secs(30);

/// How long after the database was last seen going away or coming back every connection is pinged
/// before it is handed out.
const SUSPECT_FOR: Duration = Duration::from_secs(30);

/// Until when (milliseconds since [`EPOCH`]) connections are suspect; shared by every pool of the
/// process (an instance's probe then makes another instance of the same process ping too: harmless).
static SUSPECT_UNTIL_MS: AtomicU64 = AtomicU64::new(0);
static EPOCH: OnceLock<Instant> = OnceLock::new();

fn now_ms() -> u64 {
    u64::try_from(EPOCH.get_or_init(Instant::now).elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The database was seen to go away (or come back): for the next [`SUSPECT_FOR`] every pooled
/// connection is pinged before it is handed out, so connections broken by the outage are replaced
/// instead of failing a request each.
pub fn suspect_connections() {
    let until = now_ms().saturating_add(u64::try_from(SUSPECT_FOR.as_millis()).unwrap_or(u64::MAX));
    SUSPECT_UNTIL_MS.fetch_max(until, Ordering::Relaxed);
}

fn connections_suspect() -> bool {
    now_ms() < SUSPECT_UNTIL_MS.load(Ordering::Relaxed)
}

/// Runs every pending migration; true when the database had none applied before (a new database).
pub async fn migrate(connection: &DatabaseConnection) -> anyhow::Result<bool> {
    let applied = Migrator::get_applied_migrations(connection).await.context("reading applied migrations")?;
    migrate_up(connection).await?;
    Ok(applied.is_empty())
}

/// `Migrator::up`. On SQLite, where sea-orm runs migrations outside transactions, all of them run in
/// one transaction: its statements then share one connection of the pool. Spread over the pool, a
/// `CREATE TABLE IF NOT EXISTS` right after a rename on another connection could be compiled against
/// that connection's stale schema and silently do nothing (migration 000019 failed that way, now and
/// then, on a new database). It also makes the run all or nothing.
pub async fn migrate_up(connection: &DatabaseConnection) -> anyhow::Result<()> {
    if connection.get_database_backend() != DatabaseBackend::Sqlite {
        return Migrator::up(connection, None).await.context("running migrations");
    }
    let transaction = begin_write(connection).await.context("beginning the migrations' transaction")?;
    Migrator::up(&transaction, None).await.context("running migrations")?;
    transaction.commit().await.context("committing the migrations")
}

pub async fn ping(connection: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    connection.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// Connections currently checked out of the pool and the pool's size, for /metrics.
pub fn pool_usage(connection: &DatabaseConnection) -> (u32, u32) {
    let (size, idle) = match connection.get_database_backend() {
        DatabaseBackend::Postgres => {
            let pool = connection.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DatabaseBackend::Sqlite => {
            let pool = connection.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => (0, 0),
    };
    let idle = u32::try_from(idle).unwrap_or(u32::MAX);
    (size.saturating_sub(idle), size)
}

/// Begins a transaction that will write. On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken up
/// front (waiting out the busy timeout), instead of a read transaction failing with "database is
/// locked" when it first writes after another connection committed. PostgreSQL ignores the mode.
pub async fn begin_write(connection: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    let options =
        TransactionOptions { sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate), ..Default::default() };
    connection.begin_with_options(options).await
}
