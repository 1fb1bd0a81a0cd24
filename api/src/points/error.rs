//! Every way a points verb can refuse, and how the API shows it.

use ehome_ledger::{BatchRejected, LedgerError, TransferId};

use crate::platform::error::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum PointsError {
    /// Text or a number that is not an amount of points (a sign, more than two places, not a number).
    #[error("invalid amount of points {0:?}")]
    InvalidAmount(String),
    /// Arithmetic that would go below zero.
    #[error("an amount of points cannot be negative")]
    NegativeAmount,
    /// Arithmetic or a balance beyond the ledger's largest balance.
    #[error("amount of points overflows")]
    AmountOverflow,
    /// A verb was asked to move zero points.
    #[error("an amount of points to move must be positive")]
    ZeroAmount,
    /// The resident's available balance (posted less held) does not cover the debit.
    #[error("insufficient points")]
    InsufficientPoints,
    /// The hold or transfer named does not exist.
    #[error("no points transfer {0}")]
    UnknownTransfer(TransferId),
    /// The transfer named is not what the verb works on (a capture of something that is not a hold of
    /// points, a reward paid from a redemption hold, a partial reversal of something that is not an award).
    #[error("transfer {0} is not a {1}")]
    WrongTransfer(TransferId, &'static str),
    /// The hold was captured, released or expired before.
    #[error("hold {0} is already captured, released or expired")]
    HoldAlreadyResolved(TransferId),
    /// The hold's timeout has passed; only the ledger's expiry job resolves it now.
    #[error("hold {0} has expired")]
    HoldExpired(TransferId),
    /// A capture of more than the hold, or a partial reversal of more than the original.
    #[error("{requested} points exceed the {available} points of transfer {transfer}")]
    AmountExceedsOriginal { transfer: TransferId, available: String, requested: String },
    /// The transfer was reversed before (a transfer is reversed at most once).
    #[error("transfer {0} is already reversed")]
    AlreadyReversed(TransferId),
    /// Only posted transfers that are not reversals themselves can be reversed.
    #[error("transfer {0} cannot be reversed")]
    NotReversible(TransferId),
    /// The domain key was used before for a transfer with other content (another amount, another
    /// resident): a bug in the caller, since a domain object's transfer never changes.
    #[error("the key of transfer {0} was used before with other content")]
    KeyReused(TransferId),
    /// Points were earned from an account that belongs to no community (never expected: every
    /// earning is paid from a community's account).
    #[error("points earned from account {0}, which belongs to no community")]
    UnexpectedSource(String),
    /// One of the accounts is closed.
    #[error("a points account is closed")]
    AccountClosed,
    /// A concurrent transaction wrote the same transfer or account first (or the database broke a
    /// deadlock). The caller's transaction is unusable on PostgreSQL: roll it back and run it again; the
    /// retry finds what the other one stored.
    #[error("the ledger is busy; retry the transaction")]
    Busy,
    /// Any other ledger failure; never expected.
    #[error("ledger failure")]
    Ledger(#[source] LedgerError),
    #[error("database failure")]
    Database(#[source] sea_orm::DbErr),
}

impl From<sea_orm::DbErr> for PointsError {
    /// A deadlock, serialization failure, unique violation by a concurrent writer or busy SQLite is
    /// [`PointsError::Busy`], classified as the ledger classifies its own.
    fn from(err: sea_orm::DbErr) -> Self {
        if ehome_ledger::retry::is_retryable(&err) { PointsError::Busy } else { PointsError::Database(err) }
    }
}

impl From<LedgerError> for PointsError {
    fn from(err: LedgerError) -> Self {
        match err {
            LedgerError::InsufficientFunds(_) => PointsError::InsufficientPoints,
            LedgerError::UnknownTransfer(id) => PointsError::UnknownTransfer(id),
            LedgerError::NotPending(id) => PointsError::WrongTransfer(id, "hold"),
            LedgerError::HoldAlreadyResolved(id) => PointsError::HoldAlreadyResolved(id),
            LedgerError::HoldExpired(id) => PointsError::HoldExpired(id),
            LedgerError::AlreadyReversed(id) => PointsError::AlreadyReversed(id),
            LedgerError::ReversalOfReversal(id) | LedgerError::NotReversible(id) => PointsError::NotReversible(id),
            LedgerError::IdempotencyConflict(id) => PointsError::KeyReused(id),
            LedgerError::AccountClosed(_) => PointsError::AccountClosed,
            LedgerError::AmountOverflow => PointsError::AmountOverflow,
            LedgerError::Busy => PointsError::Busy,
            other => PointsError::Ledger(other),
        }
    }
}

impl From<BatchRejected> for PointsError {
    /// The reason of the transfer that made the batch fail.
    fn from(batch: BatchRejected) -> Self {
        PointsError::from(LedgerError::from(batch))
    }
}

impl PointsError {
    /// Whether rolling back and running the transaction again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, PointsError::Busy)
    }
}

impl From<PointsError> for ApiError {
    fn from(err: PointsError) -> Self {
        match err {
            PointsError::InsufficientPoints => ApiError::InsufficientPoints,
            PointsError::HoldAlreadyResolved(_) => ApiError::HoldAlreadyResolved,
            PointsError::HoldExpired(_) => ApiError::HoldExpired,
            PointsError::AlreadyReversed(_) => ApiError::AlreadyReversed,
            PointsError::InvalidAmount(_)
            | PointsError::NegativeAmount
            | PointsError::AmountOverflow
            | PointsError::ZeroAmount
            | PointsError::AmountExceedsOriginal { .. } => ApiError::validation("amount", err.to_string()),
            PointsError::UnknownTransfer(_) => ApiError::NotFound("points transfer"),
            // Safe to retry with the same request: every transfer's id comes from its domain key.
            PointsError::Busy => ApiError::Unavailable("ledger busy".to_owned()),
            PointsError::WrongTransfer(..)
            | PointsError::NotReversible(_)
            | PointsError::KeyReused(_)
            | PointsError::AccountClosed
            | PointsError::UnexpectedSource(_)
            | PointsError::Ledger(_)
            | PointsError::Database(_) => ApiError::internal(anyhow::Error::new(err).context("points")),
        }
    }
}

impl From<PointsError> for crate::platform::transaction::Failure {
    fn from(err: PointsError) -> Self {
        use crate::platform::transaction::Failure;
        if err.is_retryable() { Failure::Retry } else { Failure::Answer(err.into()) }
    }
}
