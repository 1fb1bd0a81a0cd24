//! Every way the ledger can refuse an operation, each with a stable code.

use serde::Serialize;

use crate::types::{AccountId, Asset, TransferId};

/// A rejection or failure of a ledger operation.
///
/// Every expected rejection has its own variant and a stable [`code`](LedgerError::code) that the API can
/// map to an HTTP status; database failures keep their cause in [`LedgerError::Database`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LedgerError {
    /// The debit would take a no-overdraft account's debits (posted + pending) above its posted credits.
    #[error("insufficient funds in account {0}")]
    InsufficientFunds(AccountId),
    /// The credit would take an account flagged `credits_must_not_exceed_debits` above its debits.
    #[error("credit limit exceeded in account {0}")]
    CreditLimitExceeded(AccountId),
    /// One side of the transfer is a closed account.
    #[error("account {0} is closed")]
    AccountClosed(AccountId),
    /// The transfer's asset differs from one of its accounts' asset.
    #[error("asset mismatch: transfer is {transfer}, account {account} holds {account_asset}")]
    AssetMismatch { account: AccountId, account_asset: Asset, transfer: Asset },
    /// The debit and credit accounts are the same.
    #[error("debit and credit account are the same ({0})")]
    SameAccount(AccountId),
    /// The amount is zero or negative.
    #[error("amount must be positive, got {0}")]
    AmountNotPositive(i64),
    /// The amount, or a balance it would produce, exceeds the largest representable balance.
    #[error("amount overflow")]
    AmountOverflow,
    /// A decimal amount could not be parsed, or has more places than the asset's scale.
    #[error("invalid amount {0:?}")]
    InvalidAmount(String),
    /// No account with this id.
    #[error("unknown account {0}")]
    UnknownAccount(AccountId),
    /// No account with this code.
    #[error("unknown account code {0:?}")]
    UnknownAccountCode(String),
    /// An account with this code exists with a different asset or flags.
    #[error("account code {0:?} exists with a different asset or flags")]
    AccountCodeConflict(String),
    /// The asset code is not one of the ledger's assets.
    #[error("unknown asset {0:?}")]
    UnknownAsset(String),
    /// Flag bits that are unknown or contradictory.
    #[error("invalid account flags {0}")]
    InvalidFlags(i32),
    /// No transfer with this id.
    #[error("unknown transfer {0}")]
    UnknownTransfer(TransferId),
    /// Text that is not a transfer id.
    #[error("invalid transfer id {0:?}")]
    InvalidTransferId(String),
    /// The transfer id or idempotency key was used before with different content.
    #[error("transfer {0} already exists with different content")]
    IdempotencyConflict(TransferId),
    /// The transfer being posted or voided is not a hold.
    #[error("transfer {0} is not a pending transfer")]
    NotPending(TransferId),
    /// The hold was already posted, voided or expired.
    #[error("pending transfer {0} is already resolved")]
    HoldAlreadyResolved(TransferId),
    /// The hold's timeout has passed; only the expiry job may resolve it now.
    #[error("pending transfer {0} has expired")]
    HoldExpired(TransferId),
    /// An expiry was asked for a hold whose timeout has not passed.
    #[error("pending transfer {0} has not expired yet")]
    HoldNotExpired(TransferId),
    /// A partial post asks for more than the hold.
    #[error("post of {requested} exceeds the pending amount {pending}")]
    AmountExceedsPending { pending: i64, requested: i64 },
    /// The transfer to reverse is itself a reversal.
    #[error("transfer {0} is a reversal and cannot be reversed")]
    ReversalOfReversal(TransferId),
    /// The transfer was reversed before.
    #[error("transfer {0} is already reversed")]
    AlreadyReversed(TransferId),
    /// Only posted transfers (single or post of a hold) can be reversed.
    #[error("transfer {0} is not a posted transfer and cannot be reversed")]
    NotReversible(TransferId),
    /// The transfer code (its reason) is empty or longer than 64 bytes.
    #[error("invalid transfer code {0:?}")]
    InvalidCode(String),
    /// The hold timeout is out of range.
    #[error("invalid timeout")]
    InvalidTimeout,
    /// In a linked batch, another transfer failed, so this one was not posted either.
    #[error("linked transfer failed")]
    LinkedTransferFailed,
    /// A concurrent writer kept conflicting (deadlock, serialization failure, busy database) beyond the
    /// bounded internal retry. Safe to retry with the same ids.
    #[error("the ledger is busy, retry")]
    Busy,
    /// The batching poster has shut down.
    #[error("the batching poster is closed")]
    PosterClosed,
    /// Stored data breaks an invariant the ledger guarantees; never expected.
    #[error("ledger invariant broken: {0}")]
    Invariant(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(String),
}

impl LedgerError {
    /// Stable, upper-case code for logs and API responses.
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::InsufficientFunds(_) => "INSUFFICIENT_FUNDS",
            LedgerError::CreditLimitExceeded(_) => "CREDIT_LIMIT_EXCEEDED",
            LedgerError::AccountClosed(_) => "ACCOUNT_CLOSED",
            LedgerError::AssetMismatch { .. } => "ASSET_MISMATCH",
            LedgerError::SameAccount(_) => "SAME_ACCOUNT",
            LedgerError::AmountNotPositive(_) => "AMOUNT_NOT_POSITIVE",
            LedgerError::AmountOverflow => "AMOUNT_OVERFLOW",
            LedgerError::InvalidAmount(_) => "INVALID_AMOUNT",
            LedgerError::UnknownAccount(_) => "UNKNOWN_ACCOUNT",
            LedgerError::UnknownAccountCode(_) => "UNKNOWN_ACCOUNT",
            LedgerError::AccountCodeConflict(_) => "ACCOUNT_CODE_CONFLICT",
            LedgerError::UnknownAsset(_) => "UNKNOWN_ASSET",
            LedgerError::InvalidFlags(_) => "INVALID_FLAGS",
            LedgerError::UnknownTransfer(_) => "UNKNOWN_TRANSFER",
            LedgerError::InvalidTransferId(_) => "INVALID_TRANSFER_ID",
            LedgerError::IdempotencyConflict(_) => "IDEMPOTENCY_CONFLICT",
            LedgerError::NotPending(_) => "NOT_PENDING",
            LedgerError::HoldAlreadyResolved(_) => "HOLD_ALREADY_RESOLVED",
            LedgerError::HoldExpired(_) => "HOLD_EXPIRED",
            LedgerError::HoldNotExpired(_) => "HOLD_NOT_EXPIRED",
            LedgerError::InvalidCode(_) => "INVALID_CODE",
            LedgerError::AmountExceedsPending { .. } => "AMOUNT_EXCEEDS_PENDING",
            LedgerError::ReversalOfReversal(_) => "REVERSAL_OF_REVERSAL",
            LedgerError::AlreadyReversed(_) => "ALREADY_REVERSED",
            LedgerError::NotReversible(_) => "NOT_REVERSIBLE",
            LedgerError::InvalidTimeout => "INVALID_TIMEOUT",
            LedgerError::LinkedTransferFailed => "LINKED_TRANSFER_FAILED",
            LedgerError::Busy => "LEDGER_BUSY",
            LedgerError::PosterClosed => "POSTER_CLOSED",
            LedgerError::Invariant(_) => "LEDGER_INVARIANT",
            LedgerError::Database(_) => "DATABASE",
        }
    }

    /// Whether the caller did something the ledger refuses (as opposed to an internal failure).
    pub fn is_rejection(&self) -> bool {
        !matches!(
            self,
            LedgerError::Busy | LedgerError::PosterClosed | LedgerError::Invariant(_) | LedgerError::Database(_)
        )
    }
}

impl From<sea_orm::DbErr> for LedgerError {
    fn from(err: sea_orm::DbErr) -> Self {
        if crate::retry::is_retryable(&err) { LedgerError::Busy } else { LedgerError::Database(err.to_string()) }
    }
}

/// One rejected transfer of a batch: its index in the request and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransferFailure {
    pub index: usize,
    pub code: &'static str,
    #[serde(skip)]
    pub error: LedgerError,
}

/// A linked batch that posted nothing, with every failure. The transfer that caused the failure carries
/// its own reason; the others carry [`LedgerError::LinkedTransferFailed`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("linked batch rejected: {}", describe(.failures))]
pub struct BatchRejected {
    pub failures: Vec<TransferFailure>,
}

fn describe(failures: &[TransferFailure]) -> String {
    failures
        .iter()
        .filter(|f| f.error != LedgerError::LinkedTransferFailed)
        .map(|f| format!("#{} {}", f.index, f.error))
        .collect::<Vec<_>>()
        .join("; ")
}

impl BatchRejected {
    /// The first failure that is not merely "linked transfer failed".
    pub fn cause(&self) -> Option<&TransferFailure> {
        self.failures.iter().find(|f| f.error != LedgerError::LinkedTransferFailed)
    }

    /// A rejection caused by the transfer at `index` of a linked batch of `len`.
    pub fn single(index: usize, len: usize, error: LedgerError) -> Self {
        let failures = (0..len)
            .map(|i| {
                let error = if i == index { error.clone() } else { LedgerError::LinkedTransferFailed };
                TransferFailure { index: i, code: error.code(), error }
            })
            .collect();
        BatchRejected { failures }
    }

    /// The whole batch failed for a reason that is no one transfer's fault (database, busy).
    pub fn all(len: usize, error: LedgerError) -> Self {
        let failures =
            (0..len).map(|i| TransferFailure { index: i, code: error.code(), error: error.clone() }).collect();
        BatchRejected { failures }
    }
}

impl From<BatchRejected> for LedgerError {
    /// The reason of the first real failure, for callers that post a single transfer.
    fn from(batch: BatchRejected) -> Self {
        batch.cause().map(|f| f.error.clone()).unwrap_or(LedgerError::LinkedTransferFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_rejection_names_the_cause_and_links_the_rest() {
        let batch = BatchRejected::single(1, 3, LedgerError::SameAccount(AccountId(4)));
        assert_eq!(batch.failures.len(), 3);
        assert_eq!(batch.failures[0].error, LedgerError::LinkedTransferFailed);
        assert_eq!(batch.failures[1].code, "SAME_ACCOUNT");
        assert_eq!(batch.cause().map(|f| f.index), Some(1));
        assert_eq!(LedgerError::from(batch.clone()), LedgerError::SameAccount(AccountId(4)));
        assert!(batch.to_string().contains("#1"));
    }

    #[test]
    fn codes_are_distinct_for_distinct_rejections() {
        let t = TransferId::new();
        let errors = [
            LedgerError::InsufficientFunds(AccountId(1)),
            LedgerError::AccountClosed(AccountId(1)),
            LedgerError::AssetMismatch { account: AccountId(1), account_asset: Asset::Cny, transfer: Asset::Points },
            LedgerError::SameAccount(AccountId(1)),
            LedgerError::AmountNotPositive(0),
            LedgerError::AmountOverflow,
            LedgerError::UnknownAccount(AccountId(1)),
            LedgerError::IdempotencyConflict(t),
            LedgerError::HoldAlreadyResolved(t),
            LedgerError::HoldExpired(t),
            LedgerError::ReversalOfReversal(t),
            LedgerError::AlreadyReversed(t),
        ];
        let mut codes: Vec<_> = errors.iter().map(LedgerError::code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), errors.len());
        assert!(errors.iter().all(LedgerError::is_rejection));
    }
}
