//! Whether the database answers, as this instance last saw it (DESIGN §7: without the database every
//! request fails fast with `503 DATABASE_UNAVAILABLE`).
//!
//! Without it, every request would wait out the pool's acquire timeout before failing, since the pool
//! keeps retrying a connection that is refused. Instead one flag per instance says "down": a background
//! probe runs `SELECT 1` every [`PROBE_INTERVAL`] and sets the flag when it gets no answer within
//! [`PROBE_TIMEOUT`], and clears it on its next success. While it is set, the request context answers
//! every `/api/` request at once with 503 and `Retry-After`, without touching the pool; `/readyz` says
//! "failing" without waiting. Service resumes by itself when the probe next gets an answer.
//!
//! The probe has a connection of its own (a pool of one, made lazily), never the app's pool: a pool
//! busy with a burst of requests is not a database that went away, and must not turn the instance off.
//! A request that meets a connection error itself is answered `503 DATABASE_UNAVAILABLE` too (see
//! `ApiError`'s `From<DbErr>`), but only the probe decides that the database is down.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr, RuntimeErr};

use crate::platform::config::DatabaseSettings;
use crate::platform::shutdown::Shutdown;

/// How often the probe asks the database whether it answers.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(500);
/// How long a probe waits for `SELECT 1` before calling the database down.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(1000);
/// What `Retry-After` tells a client while the database is down.
pub const RETRY_AFTER_SECONDS: u64 = 1;

/// The instance's view of the database: up, or down since the probe last got no answer.
#[derive(Debug)]
pub struct DatabaseHealth {
    down: AtomicBool,
    /// The probe's own connection.
    probe: DatabaseConnection,
}

impl DatabaseHealth {
    /// The probe's connection to the database `settings` name, made on first use.
    pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<Arc<DatabaseHealth>> {
        let mut options = ConnectOptions::new(settings.url.clone());
        options
            .max_connections(1)
            .min_connections(0)
            .acquire_timeout(PROBE_TIMEOUT)
            .connect_timeout(PROBE_TIMEOUT)
            .connect_lazy(true)
            .sqlx_logging(false);
        let probe = Database::connect(options).await.context("the database probe")?;
        Ok(Arc::new(DatabaseHealth { down: AtomicBool::new(false), probe }))
    }

    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// Records that the probe found the database unreachable.
    fn mark_down(&self, reason: &str) {
        crate::platform::db::suspect_connections();
        if !self.down.swap(true, Ordering::AcqRel) {
            tracing::error!(%reason, "database unavailable: answering 503 until it is back");
        }
    }

    /// Records that the database answered again.
    fn mark_up(&self) {
        if self.down.swap(false, Ordering::AcqRel) {
            crate::platform::db::suspect_connections();
            tracing::warn!("database available again: serving");
        }
    }

    /// Asks the database once, within about [`PROBE_TIMEOUT`]; records and returns the outcome.
    pub async fn probe(&self) -> Result<(), String> {
        let within = PROBE_TIMEOUT + PROBE_TIMEOUT / 2;
        let outcome = match tokio::time::timeout(within, crate::platform::db::ping(&self.probe)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err(format!("no answer within {} ms", PROBE_TIMEOUT.as_millis())),
        };
        match &outcome {
            Ok(()) => self.mark_up(),
            Err(reason) => self.mark_down(reason),
        }
        outcome
    }
}

/// Probes the database every [`PROBE_INTERVAL`] until shutdown.
pub fn spawn_probe(health: Arc<DatabaseHealth>, shutdown: &Shutdown) {
    shutdown.every("database probe", PROBE_INTERVAL, move || {
        let health = health.clone();
        async move {
            let _ = health.probe().await;
        }
    });
}

/// Whether `err` says the database cannot be reached (refused, reset, closed, the pool's acquire timed
/// out, the server shutting down or starting up), as opposed to a query the database refused.
pub fn is_unavailable(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => sqlx_unavailable(e.deref()),
        DbErr::Conn(_) => true,
        _ => false,
    }
}

/// PostgreSQL's classes 08 (connection exception) and 57P0x (operator intervention: admin shutdown,
/// crash shutdown, cannot connect now).
fn sqlx_unavailable(err: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match err {
        Error::Io(_) | Error::Tls(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed => true,
        Error::Protocol(_) => true,
        Error::Database(db) => {
            db.code().is_some_and(|code| code.starts_with("08") || matches!(code.deref(), "57P01" | "57P02" | "57P03"))
        }
        _ => false,
    }
}

/// Whether any cause in the chain is a database error that says the database cannot be reached.
pub fn chain_is_unavailable(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.downcast_ref::<DbErr>().is_some_and(is_unavailable))
}

#[cfg(test)]
mod tests {
    use sea_orm::ConnAcquireErr;

    use super::*;

    #[test]
    fn connection_failures_are_unavailable_and_refused_queries_are_not() {
        assert!(is_unavailable(&DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)));
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        let io = DbErr::Query(RuntimeErr::SqlxError(Arc::new(sea_orm::sqlx::Error::Io(reset))));
        assert!(is_unavailable(&io));
        assert!(chain_is_unavailable(&anyhow::Error::new(io).context("database")));
        assert!(!is_unavailable(&DbErr::RecordNotFound("row".to_owned())));
        assert!(!is_unavailable(&DbErr::Custom("refused".to_owned())));
    }
}
