//! Database connection: PostgreSQL or SQLite behind one sea-orm connection, pool sizes and timeouts
//! from configuration, SQLite in WAL mode with a busy timeout.

use std::time::Duration;

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
        .sqlx_logging(false);
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

/// Runs every pending migration; true when the database had none applied before (a new database).
pub async fn migrate(connection: &DatabaseConnection) -> anyhow::Result<bool> {
    let applied = Migrator::get_applied_migrations(connection).await.context("reading applied migrations")?;
    Migrator::up(connection, None).await.context("running migrations")?;
    Ok(applied.is_empty())
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
