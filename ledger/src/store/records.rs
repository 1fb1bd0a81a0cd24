//! What the store reads back: accounts with their balances, transfers, pages and the trial balance.

use chrono::{DateTime, Utc};
use serde::Serialize;

use ehome_entities::{ledger_account, ledger_transfer};

use crate::error::LedgerError;
use crate::types::{AccountFlags, AccountId, Asset, TransferId, TransferKind};

fn to_datetime(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// An account and its running balances.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Account {
    pub id: AccountId,
    pub code: String,
    pub asset: Asset,
    pub flags: AccountFlags,
    pub debits_posted: i64,
    pub credits_posted: i64,
    pub debits_pending: i64,
    pub credits_pending: i64,
    pub created_at: DateTime<Utc>,
}

impl Account {
    pub fn from_model(m: ledger_account::Model) -> Result<Self, LedgerError> {
        Ok(Account {
            id: AccountId(m.id),
            asset: m.asset.parse()?,
            flags: AccountFlags::from_bits(m.flags)?,
            code: m.code,
            debits_posted: m.debits_posted,
            credits_posted: m.credits_posted,
            debits_pending: m.debits_pending,
            credits_pending: m.credits_pending,
            created_at: to_datetime(m.created_at_us),
        })
    }

    pub fn balance(&self) -> Balance {
        Balance::new(self.asset, self.debits_posted, self.credits_posted, self.debits_pending, self.credits_pending)
    }
}

/// Balances of one account. `posted`, `pending` and `available` are credit-normal (credits minus
/// debits), which is how a resident's points or a merchant's payable read; a debit-normal account
/// (the issuance account, a bank account) reads them negated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Balance {
    pub asset: Asset,
    pub debits_posted: i64,
    pub credits_posted: i64,
    pub debits_pending: i64,
    pub credits_pending: i64,
    /// `credits_posted - debits_posted`.
    pub posted: i64,
    /// `credits_pending - debits_pending`.
    pub pending: i64,
    /// `credits_posted - debits_posted - debits_pending`: what the holder may spend now.
    pub available: i64,
}

impl Balance {
    pub fn new(
        asset: Asset,
        debits_posted: i64,
        credits_posted: i64,
        debits_pending: i64,
        credits_pending: i64,
    ) -> Self {
        // Columns are bounded by MAX_BALANCE (a quarter of i64::MAX), so these cannot overflow.
        Balance {
            asset,
            debits_posted,
            credits_posted,
            debits_pending,
            credits_pending,
            posted: credits_posted - debits_posted,
            pending: credits_pending - debits_pending,
            available: credits_posted - debits_posted - debits_pending,
        }
    }
}

/// A stored transfer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Transfer {
    /// Global order of the transfers (increasing, with gaps after rolled-back transactions).
    pub seq: i64,
    /// The hash chain the transfer belongs to, and its position there (from 1, without gaps).
    pub chain_id: i32,
    pub chain_seq: i64,
    pub id: TransferId,
    pub idempotency_key: Option<String>,
    pub kind: TransferKind,
    pub debit: AccountId,
    pub credit: AccountId,
    pub asset: Asset,
    pub amount: i64,
    pub code: String,
    pub pending_id: Option<TransferId>,
    pub reverses: Option<TransferId>,
    pub timeout_at: Option<DateTime<Utc>>,
    pub metadata: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}

impl Transfer {
    pub fn from_model(m: &ledger_transfer::Model) -> Result<Self, LedgerError> {
        let parse_opt = |s: &Option<String>| s.as_deref().map(TransferId::parse).transpose();
        Ok(Transfer {
            seq: m.seq,
            chain_id: m.chain_id,
            chain_seq: m.chain_seq,
            id: TransferId::parse(&m.id)?,
            idempotency_key: m.idempotency_key.clone(),
            kind: TransferKind::parse(&m.kind)?,
            debit: AccountId(m.debit_account_id),
            credit: AccountId(m.credit_account_id),
            asset: m.asset.parse()?,
            amount: m.amount,
            code: m.code.clone(),
            pending_id: parse_opt(&m.pending_id)?,
            reverses: parse_opt(&m.reverses)?,
            timeout_at: m.timeout_at_us.map(to_datetime),
            metadata: serde_json::from_str(&m.metadata)
                .map_err(|e| LedgerError::Invariant(format!("metadata of {}: {e}", m.id)))?,
            created_at: to_datetime(m.created_at_us),
            prev_hash: m.prev_hash.clone(),
            hash: m.hash.clone(),
        })
    }
}

/// One page of a cursor-paginated list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass back as `cursor` to get the next (older) page; `None` at the end.
    pub next_cursor: Option<i64>,
}

/// Totals of one asset over all its accounts. Double entry means debits equal credits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TrialBalanceLine {
    pub asset: Asset,
    pub accounts: i64,
    pub debits_posted: i64,
    pub credits_posted: i64,
    pub debits_pending: i64,
    pub credits_pending: i64,
}

impl TrialBalanceLine {
    pub fn balanced(&self) -> bool {
        self.debits_posted == self.credits_posted && self.debits_pending == self.credits_pending
    }
}
