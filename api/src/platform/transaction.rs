//! A write transaction run again while the database says another writer got there first.
//!
//! A use case returns [`Failure::Retry`] (a serialization failure, a deadlock, the ledger's `Busy`)
//! to have its whole transaction run again after a short, growing pause, or [`Failure::Answer`] to
//! answer the caller at once; the transaction is rolled back either way.

use sea_orm::{DatabaseConnection, DatabaseTransaction};

use crate::platform::error::{ApiError, ApiResult};

/// Why a transaction did not commit: run it again, or answer.
pub enum Failure {
    Retry,
    Answer(ApiError),
}

impl From<ApiError> for Failure {
    fn from(err: ApiError) -> Self {
        Failure::Answer(err)
    }
}

impl From<sea_orm::DbErr> for Failure {
    fn from(err: sea_orm::DbErr) -> Self {
        if ehome_ledger::retry::is_retryable(&err) { Failure::Retry } else { Failure::Answer(err.into()) }
    }
}

/// How many times a transaction runs before the caller is told the database is busy.
pub const ATTEMPTS: u64 = 12;

/// Runs `work` in a write transaction, again (after a short, growing pause) while it asks to retry;
/// `503` naming `what` when every attempt met a concurrent writer.
pub async fn retrying<T>(
    db: &DatabaseConnection,
    what: &str,
    work: impl AsyncFn(&DatabaseTransaction) -> Result<T, Failure>,
) -> ApiResult<T> {
    for attempt in 1..=ATTEMPTS {
        let outcome = match crate::platform::db::begin_write(db).await {
            Ok(txn) => match work(&txn).await {
                Ok(value) => txn.commit().await.map(|()| value).map_err(Failure::from),
                Err(failure) => {
                    txn.rollback().await?;
                    Err(failure)
                }
            },
            Err(err) => Err(Failure::from(err)),
        };
        match outcome {
            Ok(value) => return Ok(value),
            Err(Failure::Answer(err)) => return Err(err),
            Err(Failure::Retry) => tokio::time::sleep(std::time::Duration::from_millis(3 * attempt)).await,
        }
    }
    Err(ApiError::Unavailable(format!("{what} busy")))
}
