//! Persistence of accounts and transfers through sea-orm.
//!
//! Every function takes `&impl ConnectionTrait`, so a caller can pass its own transaction and commit a
//! domain write together with its transfers. Pass a transaction: on a bare connection each statement
//! commits on its own. [`crate::Ledger`] wraps these functions in transactions of their own, with a
//! bounded retry.
//!
//! How a batch is posted (see `docs/ledger.md`):
//! 1. pure validation of each request;
//! 2. one read of every stored transfer the batch names (its own ids and keys, the holds it resolves, the
//!    transfers it reverses), then each request is resolved in order against those and against the
//!    earlier requests of the batch;
//! 3. a chain head is taken and the accounts' asset and flags are read (without locks: the asset and the
//!    limit bits never change, and `closed` is checked again by the guarded update). On PostgreSQL the
//!    head is any free one of [`crate::hash::CHAINS`] (`FOR UPDATE SKIP LOCKED`), in the same statement
//!    as the read; SQLite has one writer and one chain;
//! 4. the batch's net movement per account is applied by one guarded in-database increment per account,
//!    guarded as if every debit came first; on PostgreSQL the same statement first locks the accounts in
//!    ascending id order and, only when every guard passed, inserts the new transfers (hashed and linked
//!    in the client; the database numbers them under the head lock, so that each chain's order agrees
//!    with the global order) and moves the head — see `postgres.rs`. The posted-only movements of
//!    accounts without limits (the hot issuance account) go to the account's shard for the chain held,
//!    so that row is not locked at all;
//! 5. if a guard refused, everything is undone and the batch is replayed transfer by transfer
//!    (`UPDATE … WHERE <guard> RETURNING`, a guard that matches no row being the rejection), and the
//!    transfers that passed are inserted.
//!
//! Locks are always taken in the order chain head → accounts (ascending id), so writers never wait in
//! a cycle. (A caller that posts twice in one transaction takes the second batch's accounts after the
//! first's; PostgreSQL resolves a cycle that this may cause by failing one transaction, which
//! [`crate::Ledger`] retries.)
//! A concurrent writer that committed one of the batch's ids, resolved the same hold or reversed the
//! same transfer in the meantime makes the insert fail on a unique index; that is reported as
//! [`LedgerError::Busy`], and [`crate::Ledger`] retries, finding the stored transfer the second time.
//!
//! The files: this one holds the operations and the `Backend` contract; `plan.rs` validates and
//! resolves requests into plans, `guard.rs` renders the account guard and nets movements,
//! `replay.rs` is the transfer-by-transfer path, `chain.rs` hashes and links the new rows, `sql.rs`
//! names statement parameters; `sqlite.rs` and `postgres.rs` (with its one-statement path in
//! `postgres/one_statement.rs`) each implement the whole `Backend`, and neither uses the other.
//! `accounts.rs`, `transfers.rs` and `records.rs` read and create accounts and read transfers.

/// Runs `$body` with the type `$b` standing for the connection's [`Backend`]: the one place an
/// operation branches on the database.
macro_rules! on_backend {
    ($conn:expr, |$b:ident| $body:expr) => {
        match $conn.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                type $b = $crate::store::postgres::Postgres;
                $body
            }
            _ => {
                type $b = $crate::store::sqlite::Sqlite;
                $body
            }
        }
    };
}

mod accounts;
mod chain;
mod guard;
mod plan;
mod postgres;
mod records;
mod replay;
mod sql;
mod sqlite;
mod transfers;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;

use chrono::Utc;
use sea_orm::ConnectionTrait;

use ehome_entities::ledger_transfer;

use crate::error::{BatchRejected, LedgerError, TransferFailure};
use crate::types::{AccountFlags, AccountId, Asset, TransferRequest};

pub(crate) use accounts::all_accounts;
pub use accounts::{
    account, account_by_code, account_ids_by_code, balance, balance_as_of, close_account, create_account,
    create_accounts, trial_balance,
};
pub use records::{Account, Balance, Page, Transfer, TrialBalanceLine};
pub use transfers::{expire_holds, expired_holds, expiry_request, history, transfer, transfer_by_idempotency_key};

use chain::{Head, NewRow, Seqs, accounts_of, chain_rows, first_failure, linked_failure, new_plans, numbered, results};
use guard::{Movement, net_movements};
use plan::{Known, Referenced, Slot};
use replay::{apply_in_order, check_accounts};

/// Longest hold timeout accepted: one year.
pub const MAX_TIMEOUT_SECONDS: u32 = 366 * 24 * 3600;

/// Current time in microseconds since the Unix epoch.
pub fn now_us() -> i64 {
    Utc::now().timestamp_micros()
}

/// Which statement a single transfer's one-statement path sends (PostgreSQL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Inside a caller's transaction, which it must not abort.
    InTransaction,
    /// On the pool, committing by itself.
    Own,
    /// On the pool, both accounts known to carry limit flags.
    OwnLimited,
}

/// What an account row says about a planned transfer (the asset and the limit bits never change),
/// as read when the batch takes its chain head.
#[derive(Clone, Copy, Debug)]
struct AccountInfo {
    asset: Asset,
    flags: AccountFlags,
    /// Some of its credits were in its shards when read (PostgreSQL; see [`AccountInfo::credit_sharded`]).
    credits_in_shards: bool,
}

impl AccountInfo {
    fn new(asset: String, flags: i32, credits_in_shards: bool) -> Result<Self, LedgerError> {
        Ok(AccountInfo { asset: asset.parse()?, flags: AccountFlags::from_bits(flags)?, credits_in_shards })
    }

    /// No limit flag and not closed: no guard needs this account's exact balance when it is written,
    /// so its posted amounts may go to a shard (PostgreSQL).
    fn unlimited(&self) -> bool {
        self.flags == AccountFlags::NONE
    }

    /// Its only limit is *debits must not exceed credits* (closed or not): credits can never break it,
    /// so the credits of a hold on it, placed or resolved, may go to a shard (PostgreSQL), and its row
    /// is made exact again ([`Backend::lock_accounts`] folds the shards in) before anything debits it.
    fn credit_sharded(&self) -> bool {
        self.flags.bits() & !AccountFlags::CLOSED.bits() == AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS.bits()
    }
}

/// A set of accounts, in ascending id order (the order their locks are taken in).
type Ids = BTreeSet<AccountId>;

/// The accounts a batch moves, as read when it takes its chain head.
type Accounts = HashMap<AccountId, AccountInfo>;

/// A batch ready to be written: its net movement per account, its accounts, its new rows and the
/// chain head they link to.
struct Write<'a> {
    movements: &'a BTreeMap<AccountId, Movement>,
    accounts: &'a Accounts,
    rows: &'a [NewRow],
    head: &'a Head,
}

/// A [`Backend`] operation's future (`Send`, so that a caller may spawn it).
trait Op<T>: Future<Output = Result<T, LedgerError>> + Send {}
impl<T, F: Future<Output = Result<T, LedgerError>> + Send> Op<T> for F {}

/// What the store needs from a database, beyond the statements both accept alike. `sqlite.rs` and
/// `postgres.rs` each implement all of it (a no-op where their database needs nothing), so the
/// operations here are written once, generic over `B: Backend`, and branch on the database once
/// ([`on_backend!`]).
trait Backend {
    /// Prepares the rest of the caller's transaction for the ledger's statements.
    fn prepare_transaction(conn: &impl ConnectionTrait) -> impl Op<()>;

    /// Runs in the closing transaction before the `closed` bit is set: once it returns, no writer
    /// that saw the account open is still running.
    fn before_close(conn: &impl ConnectionTrait) -> impl Op<()>;

    /// Posts a batch of one single transfer in one statement; `None` when the general path must decide.
    fn post_single(
        conn: &impl ConnectionTrait,
        request: &TransferRequest,
        now_us: i64,
        shape: Shape,
    ) -> impl Op<Single>;

    /// The stored transfers a batch names.
    fn stored_transfers(conn: &impl ConnectionTrait, referenced: Referenced) -> impl Op<Vec<ledger_transfer::Model>>;

    /// Takes a chain head for the batch's new transfers and reads the accounts' asset and flags
    /// (without locking them: the asset and the limit bits never change, and `closed` is checked
    /// again by the guarded update).
    fn read_accounts_and_lock_head(conn: &impl ConnectionTrait, ids: &Ids) -> impl Op<(Accounts, Head)>;

    /// Locks accounts in ascending id order before transfer-by-transfer updates, so that no two
    /// writers wait for each other in a cycle, and makes their rows exact: the credits their shards
    /// hold are folded into the rows, and the shards stay locked to the commit.
    fn lock_accounts(conn: &impl ConnectionTrait, ids: &Ids) -> impl Op<()>;

    /// Applies the batch's net movements under their guards and, only when every guard passed,
    /// inserts its rows and moves the chain head. `None`, with nothing changed, when a guard refused.
    fn apply_and_insert(conn: &impl ConnectionTrait, write: &Write<'_>) -> impl Op<Option<Seqs>>;

    /// Inserts rows whose movements are applied already, and moves the chain head.
    fn insert(conn: &impl ConnectionTrait, rows: &[NewRow], head: &Head) -> impl Op<Seqs>;
}

/// A transfer posted in one statement, with those of its accounts that carry limit flags.
type Single = Option<(Transfer, Vec<AccountId>)>;

/// Makes the rest of a PostgreSQL transaction run the ledger's statements on their generic plans
/// (`SET LOCAL plan_cache_mode = force_generic_plan`). The posting statements have one text for every
/// batch size and generic plans that suit every size; left to choose, PostgreSQL plans them afresh on
/// every execution, which costs more than the rest of a single transfer's work. [`crate::Ledger`]
/// does this in the transactions it opens; a caller posting in its own transaction may call it first
/// (nothing else changes). A no-op on SQLite.
pub async fn prepare_transaction(conn: &impl ConnectionTrait) -> Result<(), LedgerError> {
    on_backend!(conn, |B| B::prepare_transaction(conn).await)
}

/// Posts transfers as one linked batch: all of them or none. Retries of already-posted ids with the
/// same content return the stored transfers. Run it inside the caller's transaction.
pub async fn post_linked(
    conn: &impl ConnectionTrait,
    requests: &[TransferRequest],
) -> Result<Vec<Transfer>, BatchRejected> {
    post_linked_at(conn, requests, now_us()).await
}

/// [`post_linked`] with an explicit clock (microseconds since the epoch), for jobs and tests.
pub async fn post_linked_at(
    conn: &impl ConnectionTrait,
    requests: &[TransferRequest],
    now_us: i64,
) -> Result<Vec<Transfer>, BatchRejected> {
    post_linked_with(conn, requests, now_us, OneStatement::Try).await
}

/// Whether a batch of one single transfer first tries PostgreSQL's one-statement path
/// (`store/postgres/one_statement.rs`). [`crate::Ledger::post`] tries it on the pool, outside a transaction, and
/// skips it in the transaction it falls back to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OneStatement {
    Try,
    Skip,
}

pub(crate) async fn post_linked_with(
    conn: &impl ConnectionTrait,
    requests: &[TransferRequest],
    now_us: i64,
    one_statement: OneStatement,
) -> Result<Vec<Transfer>, BatchRejected> {
    let results = on_backend!(conn, |B| post_batch::<B>(conn, requests, true, now_us, one_statement).await)
        .map_err(|e| BatchRejected::all(requests.len(), e))?;
    let failures: Vec<TransferFailure> = results
        .iter()
        .enumerate()
        .filter_map(|(index, r)| r.as_ref().err().map(|e| TransferFailure { index, code: e.code(), error: e.clone() }))
        .collect();
    if !failures.is_empty() {
        return Err(BatchRejected { failures });
    }
    Ok(results.into_iter().filter_map(Result::ok).collect())
}

/// Posts one transfer.
pub async fn post_transfer(conn: &impl ConnectionTrait, request: &TransferRequest) -> Result<Transfer, LedgerError> {
    let mut posted = post_linked(conn, std::slice::from_ref(request)).await?;
    posted.pop().ok_or_else(|| LedgerError::Invariant("a batch of one returned nothing".into()))
}

/// Posts transfers that are independent of each other in one database transaction: each one posts or
/// fails on its own (the batching poster's group commit). The outer error is a database failure.
pub async fn post_independent(
    conn: &impl ConnectionTrait,
    requests: &[TransferRequest],
    now_us: i64,
) -> Result<Vec<Result<Transfer, LedgerError>>, LedgerError> {
    on_backend!(conn, |B| post_batch::<B>(conn, requests, false, now_us, OneStatement::Try).await)
}

/// PostgreSQL's one-statement path for one single transfer (see [`Shape`]). `None` when it does not
/// apply (SQLite; holds, resolutions and reversals, which name other transfers) or the general path
/// must decide; with the transfer come its accounts that carry limit flags.
pub(crate) async fn post_in_one_statement(
    conn: &impl ConnectionTrait,
    request: &TransferRequest,
    now_us: i64,
    shape: Shape,
) -> Result<Single, LedgerError> {
    on_backend!(conn, |B| B::post_single(conn, request, now_us, shape).await)
}

/// The heart of posting: see the module documentation for the steps.
async fn post_batch<B: Backend>(
    conn: &impl ConnectionTrait,
    requests: &[TransferRequest],
    linked: bool,
    now_us: i64,
    one_statement: OneStatement,
) -> Result<Vec<Result<Transfer, LedgerError>>, LedgerError> {
    if let [request] = requests
        && one_statement == OneStatement::Try
        && let Some((posted, _)) = B::post_single(conn, request, now_us, Shape::InTransaction).await?
    {
        return Ok(vec![Ok(posted)]);
    }
    if requests.is_empty() {
        return Ok(vec![]);
    }
    let known = Known::from_rows(B::stored_transfers(conn, Referenced::of(requests)).await?);
    let mut slots = plan::resolve(requests, &known, now_us)?;
    if linked && let Some(failed) = first_failure(&slots) {
        return Ok(linked_failure(requests.len(), failed));
    }
    let account_ids = accounts_of(&new_plans(&slots));
    let (accounts, head) = B::read_accounts_and_lock_head(conn, &account_ids).await?;
    if let Some(failure) = check_plans::<B>(conn, &mut slots, &accounts, linked).await? {
        return Ok(linked_failure(requests.len(), failure));
    }
    let plans = new_plans(&slots);
    if plans.is_empty() {
        return results(requests, &slots, HashMap::new());
    }
    // The fast path: the whole batch's net movement in one guarded statement, then the inserts (on
    // PostgreSQL both in one statement, which takes the account locks and releases nothing before the
    // commit: the hot issuance row is locked for that statement and the commit only).
    if let Some(movements) = net_movements(&plans) {
        let rows = chain_rows(requests, &slots, &head, now_us);
        let write = Write { movements: &movements, accounts: &accounts, rows: &rows, head: &head };
        if let Some(seqs) = B::apply_and_insert(conn, &write).await? {
            return results(requests, &slots, numbered(rows, &seqs)?);
        }
    }
    // Some account's guard refused the batch as a whole: replay it transfer by transfer, which gives
    // each transfer its exact outcome and reason, then insert the ones that passed.
    B::lock_accounts(conn, &account_ids).await?;
    if let Some(failure) = apply_in_order(conn, &mut slots, linked, false).await? {
        return Ok(linked_failure(requests.len(), failure));
    }
    let rows = chain_rows(requests, &slots, &head, now_us);
    if rows.is_empty() {
        return results(requests, &slots, HashMap::new());
    }
    let seqs = B::insert(conn, &rows, &head).await?;
    results(requests, &slots, numbered(rows, &seqs)?)
}

/// Checks each new plan against its accounts (existence, asset, closed) and against the request it
/// depends on. Independent: marks each failure in its slot. Linked: returns the batch's first
/// failure — an earlier transfer of the batch may fail first (found by replaying the ones before
/// it), as if the batch ran transfer by transfer.
async fn check_plans<B: Backend>(
    conn: &impl ConnectionTrait,
    slots: &mut [Slot],
    accounts: &Accounts,
    linked: bool,
) -> Result<Option<(usize, LedgerError)>, LedgerError> {
    for i in 0..slots.len() {
        let Slot::New(plan) = &slots[i] else { continue };
        let checked = match plan.depends_on.map(|d| &slots[d]) {
            Some(Slot::Failed(_)) => {
                Err(LedgerError::UnknownTransfer(plan.pending_id.or(plan.reverses).unwrap_or_default()))
            }
            _ => check_accounts(plan, accounts),
        };
        if let Err(e) = checked {
            if linked {
                let prefix = accounts_of(&new_plans(&slots[..i]));
                B::lock_accounts(conn, &prefix).await?;
                let earlier = apply_in_order(conn, &mut slots[..i], true, true).await?;
                return Ok(Some(earlier.unwrap_or((i, e))));
            }
            slots[i] = Slot::Failed(e);
        }
    }
    Ok(None)
}
