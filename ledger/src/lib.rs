//! 邻e家's double-entry ledger for volunteer points and community money.
//!
//! Modelled on TigerBeetle: accounts hold one asset and running `debits_posted`, `credits_posted`,
//! `debits_pending`, `credits_pending`; transfers move a positive amount from a debit account to a credit
//! account, carry a client-chosen id, may be linked (all or none), pending (a hold with a timeout) and
//! later posted or voided, and are never updated or deleted: a mistake is corrected by a reversal.
//! Transfers form a SHA-256 hash chain that [`verify()`] checks along with every balance.
//!
//! The crate knows nothing about residents, shops or HTTP. Its pure core ([`types`], [`error`],
//! [`hash`]) is unit-tested; [`store`] persists through sea-orm and takes `&impl ConnectionTrait`, so a
//! domain write and its transfers commit in one transaction; [`Ledger`] runs the same operations in
//! transactions of its own with a bounded retry; [`BatchingPoster`] group-commits concurrent transfers.
//! See `docs/ledger.md`.

pub mod bench;
pub mod error;
pub mod export;
pub mod hash;
mod ledger;
pub mod poster;
pub mod retry;
pub mod store;
pub mod types;
pub mod verify;

pub use bench::{BenchConfig, BenchMode, BenchReport, run_bench};
pub use error::{BatchRejected, LedgerError, TransferFailure};
pub use export::{ExportFormat, ExportOptions, ExportSummary, export};
pub use ledger::Ledger;
pub use poster::{BatchingPoster, PosterConfig};
pub use store::{
    Account, Balance, Page, Transfer, TrialBalanceLine, account, account_by_code, account_ids_by_code, balance,
    balance_as_of, close_account, create_account, create_accounts, expire_holds, expired_holds, history,
    post_independent, post_linked, post_linked_at, post_transfer, transfer, transfer_by_idempotency_key, trial_balance,
};
pub use types::{
    AccountFlags, AccountId, Amount, Asset, NewAccount, TransferAction, TransferId, TransferKind, TransferRequest,
};
pub use verify::{Fault, Progress, VerifyReport, verify};

pub mod prelude {
    pub use crate::{
        AccountFlags, AccountId, Asset, BatchRejected, Ledger, LedgerError, NewAccount, TransferAction, TransferId,
        TransferRequest,
    };
}

/// Connection options for a pool that mostly serves the ledger (the bench's, a ledger worker's):
/// `max_connections` connections whose PostgreSQL sessions start with
/// `plan_cache_mode = force_generic_plan`, so that [`Ledger`] transactions need no `SET LOCAL` (see
/// [`store::prepare_transaction`]), and a statement cache with room for SQLite's batch shapes.
pub fn connect_options(url: &str, max_connections: u32) -> sea_orm::ConnectOptions {
    let mut options = sea_orm::ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .sqlx_logging(false)
        .map_sqlx_postgres_opts(|o| o.options([("plan_cache_mode", "force_generic_plan")]))
        .map_sqlx_sqlite_opts(|o| o.statement_cache_capacity(4096));
    options
}
