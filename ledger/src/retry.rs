//! Recognising transient database conflicts that a transaction may simply be retried after.

use std::ops::Deref;

use sea_orm::{DbErr, RuntimeErr};

/// PostgreSQL serialization failure, deadlock, lock not available, unique violation (a concurrent
/// writer stored the same transfer id or key, resolved the same hold or reversed the same transfer
/// first: the next attempt finds its row); SQLite busy and locked (with their extended codes).
const RETRYABLE_CODES: [&str; 10] = ["40001", "40P01", "55P03", "23505", "5", "6", "261", "262", "517", "773"];

/// Whether the error is a deadlock, a serialization failure or a busy database, after which rolling back
/// and running the same transaction again is safe and likely to succeed.
pub fn is_retryable(err: &DbErr) -> bool {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e))
        | DbErr::Conn(RuntimeErr::SqlxError(e)) => match e.deref() {
            sea_orm::sqlx::Error::Database(db) => db.code().is_some_and(|code| RETRYABLE_CODES.contains(&code.deref())),
            _ => false,
        },
        _ => false,
    }
}

/// How many times an operation that owns its transaction runs before giving up with `Busy`.
pub const MAX_ATTEMPTS: u32 = 12;

/// Back-off before attempt `n` (1-based): short, growing, jittered so that colliding writers spread out.
pub fn backoff(attempt: u32) -> std::time::Duration {
    let base_us = 200u64.saturating_mul(1u64 << attempt.min(8));
    let jitter = u64::from(uuid::Uuid::new_v4().as_u128() as u16) % base_us.max(1);
    std::time::Duration::from_micros(base_us / 2 + jitter)
}
