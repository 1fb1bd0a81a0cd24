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
//!    with the global order) and moves the head — see [`postgres`]. The posted-only movements of
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

mod one_statement;
mod postgres;

pub(crate) use one_statement::Shape;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Condition;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QueryResult,
    QuerySelect, Statement, Value,
};
use serde::Serialize;

use ehome_entities::{ledger_account, ledger_account_shard, ledger_transfer};

use crate::error::{BatchRejected, LedgerError, TransferFailure};
use crate::hash::transfer_hash;
use crate::types::{
    AccountFlags, AccountId, Asset, MAX_BALANCE, NewAccount, TransferAction, TransferId, TransferKind, TransferRequest,
    canonical_json,
};

/// Longest hold timeout accepted: one year.
pub const MAX_TIMEOUT_SECONDS: u32 = 366 * 24 * 3600;

/// Current time in microseconds since the Unix epoch.
pub fn now_us() -> i64 {
    Utc::now().timestamp_micros()
}

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

// ---------------------------------------------------------------------------------------------------
// Accounts
// ---------------------------------------------------------------------------------------------------

/// Creates an account, or returns the existing one with the same code if its asset and limits agree.
pub async fn create_account(conn: &impl ConnectionTrait, new: &NewAccount) -> Result<Account, LedgerError> {
    if new.code.trim().is_empty() || new.code.len() > 200 {
        return Err(LedgerError::UnknownAccountCode(new.code.clone()));
    }
    let flags = AccountFlags::from_bits(new.flags.bits())?;
    let backend = conn.get_database_backend();
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        "INSERT INTO ledger_accounts (code, asset, flags, debits_posted, credits_posted, \
         debits_pending, credits_pending, created_at_us) VALUES ($1, $2, $3, 0, 0, 0, 0, $4) \
         ON CONFLICT (code) DO NOTHING",
        [new.code.clone().into(), new.asset.code().into(), flags.bits().into(), now_us().into()],
    ))
    .await?;
    let account = account_by_code(conn, &new.code).await?;
    let limits = |f: AccountFlags| f.bits() & 3;
    if account.asset != new.asset || limits(account.flags) != limits(flags) {
        return Err(LedgerError::AccountCodeConflict(new.code.clone()));
    }
    Ok(account)
}

/// Creates several accounts (each idempotent by code), in order.
pub async fn create_accounts(conn: &impl ConnectionTrait, new: &[NewAccount]) -> Result<Vec<Account>, LedgerError> {
    let mut out = Vec::with_capacity(new.len());
    for n in new {
        out.push(create_account(conn, n).await?);
    }
    Ok(out)
}

pub async fn account(conn: &impl ConnectionTrait, id: AccountId) -> Result<Account, LedgerError> {
    let mut model = ledger_account::Entity::find_by_id(id.0).one(conn).await?.ok_or(LedgerError::UnknownAccount(id))?;
    fold_shards(conn, std::slice::from_mut(&mut model), Some(id)).await?;
    Account::from_model(model)
}

pub async fn account_by_code(conn: &impl ConnectionTrait, code: &str) -> Result<Account, LedgerError> {
    let mut model = ledger_account::Entity::find()
        .filter(ledger_account::Column::Code.eq(code))
        .one(conn)
        .await?
        .ok_or_else(|| LedgerError::UnknownAccountCode(code.to_owned()))?;
    let id = AccountId(model.id);
    fold_shards(conn, std::slice::from_mut(&mut model), Some(id)).await?;
    Account::from_model(model)
}

/// Every account row with its shards folded in: the running balances as they stand.
pub(crate) async fn all_accounts(conn: &impl ConnectionTrait) -> Result<Vec<ledger_account::Model>, LedgerError> {
    let mut models = ledger_account::Entity::find().order_by_asc(ledger_account::Column::Id).all(conn).await?;
    fold_shards(conn, &mut models, None).await?;
    Ok(models)
}

/// Adds the shards of the accounts' posted balances (`ledger_account_shards`: on PostgreSQL a transfer
/// adds its posted amounts on an account without limits to the shard of the hash chain it holds, so
/// that concurrent writers of a hot account do not queue on its row) to the account rows. `only`
/// narrows the read to one account's shards.
async fn fold_shards(
    conn: &impl ConnectionTrait,
    models: &mut [ledger_account::Model],
    only: Option<AccountId>,
) -> Result<(), LedgerError> {
    let mut query = ledger_account_shard::Entity::find();
    if let Some(id) = only {
        query = query.filter(ledger_account_shard::Column::AccountId.eq(id.0));
    }
    let shards = query.all(conn).await?;
    if shards.is_empty() {
        return Ok(());
    }
    let index: HashMap<i64, usize> = models.iter().enumerate().map(|(i, m)| (m.id, i)).collect();
    for shard in shards {
        let Some(model) = index.get(&shard.account_id).and_then(|i| models.get_mut(*i)) else { continue };
        let add = |a: i64, b: i64| a.checked_add(b).ok_or(LedgerError::AmountOverflow);
        model.debits_posted = add(model.debits_posted, shard.debits_posted)?;
        model.credits_posted = add(model.credits_posted, shard.credits_posted)?;
    }
    Ok(())
}

/// Closes an account: it takes part in no new transfer (holds on it may still be voided or expire).
/// Setting the flag is the one change to an account besides its running balances. On PostgreSQL it
/// first takes every chain head: a writer adding to an account's shard does not lock the account's
/// row but holds a chain head from before its guard reads the flag until it commits, so once every
/// head is held no writer that saw the account open is still running, and every later one sees it
/// closed. Run it in a transaction (or use [`crate::Ledger::close_account`]): the heads are held
/// until it commits.
pub async fn close_account(conn: &impl ConnectionTrait, id: AccountId) -> Result<Account, LedgerError> {
    let backend = conn.get_database_backend();
    if backend == DbBackend::Postgres {
        // Writing the heads (not only locking them) tells a one-statement writer whose snapshot
        // predates this close that it must not trust the `closed` bit it read (`one_statement.rs`).
        conn.execute_unprepared(
            "UPDATE ledger_chain_head SET last_seq = last_seq \
             WHERE id IN (SELECT id FROM ledger_chain_head ORDER BY id FOR UPDATE)",
        )
        .await?;
    }
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        "UPDATE ledger_accounts SET flags = flags | 4 WHERE id = $1",
        [id.0.into()],
    ))
    .await?;
    account(conn, id).await
}

/// Current balances of an account.
pub async fn balance(conn: &impl ConnectionTrait, id: AccountId) -> Result<Balance, LedgerError> {
    Ok(account(conn, id).await?.balance())
}

/// Balances of an account as they stood at `at` (every transfer created at or before it counted).
pub async fn balance_as_of(
    conn: &impl ConnectionTrait,
    id: AccountId,
    at: DateTime<Utc>,
) -> Result<Balance, LedgerError> {
    let acct = account(conn, id).await?;
    let at_us = at.timestamp_micros();
    let mut sums = [0i64; 4];
    for (side, column) in [(0usize, "debit_account_id"), (1usize, "credit_account_id")] {
        let sql = format!(
            "SELECT \
               CAST(COALESCE(SUM(CASE WHEN t.kind IN ('single', 'post_pending') \
                 THEN t.amount ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN t.kind = 'pending' AND NOT EXISTS ( \
                   SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id AND r.created_at_us <= $2) \
                 THEN t.amount ELSE 0 END), 0) AS BIGINT) \
             FROM ledger_transfers t WHERE t.{column} = $1 AND t.created_at_us <= $2"
        );
        let row = conn
            .query_one_raw(Statement::from_sql_and_values(
                conn.get_database_backend(),
                sql,
                [id.0.into(), at_us.into()],
            ))
            .await?
            .ok_or_else(|| LedgerError::Invariant("aggregate returned no row".into()))?;
        sums[side] = row.try_get_by_index::<i64>(0)?;
        sums[side + 2] = row.try_get_by_index::<i64>(1)?;
    }
    Ok(Balance::new(acct.asset, sums[0], sums[1], sums[2], sums[3]))
}

// ---------------------------------------------------------------------------------------------------
// Reading transfers
// ---------------------------------------------------------------------------------------------------

pub async fn transfer(conn: &impl ConnectionTrait, id: TransferId) -> Result<Transfer, LedgerError> {
    let model = ledger_transfer::Entity::find()
        .filter(ledger_transfer::Column::Id.eq(id.to_text()))
        .one(conn)
        .await?
        .ok_or(LedgerError::UnknownTransfer(id))?;
    Transfer::from_model(&model)
}

pub async fn transfer_by_idempotency_key(
    conn: &impl ConnectionTrait,
    key: &str,
) -> Result<Option<Transfer>, LedgerError> {
    ledger_transfer::Entity::find()
        .filter(ledger_transfer::Column::IdempotencyKey.eq(key))
        .one(conn)
        .await?
        .as_ref()
        .map(Transfer::from_model)
        .transpose()
}

/// One page of a cursor-paginated list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass back as `cursor` to get the next (older) page; `None` at the end.
    pub next_cursor: Option<i64>,
}

/// The transfers that touch an account, newest first. `cursor` is the `next_cursor` of the previous
/// page (a chain sequence number); `limit` is clamped to 1..=500.
pub async fn history(
    conn: &impl ConnectionTrait,
    id: AccountId,
    cursor: Option<i64>,
    limit: u64,
) -> Result<Page<Transfer>, LedgerError> {
    let limit = limit.clamp(1, 500);
    let mut query = ledger_transfer::Entity::find().filter(
        Condition::any()
            .add(ledger_transfer::Column::DebitAccountId.eq(id.0))
            .add(ledger_transfer::Column::CreditAccountId.eq(id.0)),
    );
    if let Some(cursor) = cursor {
        query = query.filter(ledger_transfer::Column::Seq.lt(cursor));
    }
    let mut rows = query.order_by_desc(ledger_transfer::Column::Seq).limit(limit + 1).all(conn).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|r| r.seq) } else { None };
    let items = rows.iter().map(Transfer::from_model).collect::<Result<_, _>>()?;
    Ok(Page { items, next_cursor })
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

/// The trial balance: per asset, the sums of the running balances of all accounts.
pub async fn trial_balance(conn: &impl ConnectionTrait) -> Result<Vec<TrialBalanceLine>, LedgerError> {
    // Sums are computed as NUMERIC/REAL-free integers by summing per account in Rust: an asset's total
    // may exceed one column's bound, so checked arithmetic catches what SQL SUM would overflow on.
    let rows = all_accounts(conn).await?;
    let mut lines: BTreeMap<Asset, TrialBalanceLine> = BTreeMap::new();
    for row in rows {
        let asset: Asset = row.asset.parse()?;
        let line = lines.entry(asset).or_insert(TrialBalanceLine {
            asset,
            accounts: 0,
            debits_posted: 0,
            credits_posted: 0,
            debits_pending: 0,
            credits_pending: 0,
        });
        let add = |a: i64, b: i64| a.checked_add(b).ok_or(LedgerError::AmountOverflow);
        line.accounts += 1;
        line.debits_posted = add(line.debits_posted, row.debits_posted)?;
        line.credits_posted = add(line.credits_posted, row.credits_posted)?;
        line.debits_pending = add(line.debits_pending, row.debits_pending)?;
        line.credits_pending = add(line.credits_pending, row.credits_pending)?;
    }
    Ok(lines.into_values().collect())
}

// ---------------------------------------------------------------------------------------------------
// Posting
// ---------------------------------------------------------------------------------------------------

/// Makes the rest of a PostgreSQL transaction run the ledger's statements on their generic plans
/// (`SET LOCAL plan_cache_mode = force_generic_plan`). The posting statements have one text for every
/// batch size and generic plans that suit every size; left to choose, PostgreSQL plans them afresh on
/// every execution, which costs more than the rest of a single transfer's work. [`crate::Ledger`]
/// does this in the transactions it opens; a caller posting in its own transaction may call it first
/// (nothing else changes). A no-op on SQLite.
pub async fn prepare_transaction(conn: &impl ConnectionTrait) -> Result<(), LedgerError> {
    if conn.get_database_backend() == DbBackend::Postgres {
        conn.execute_unprepared("SET LOCAL plan_cache_mode = force_generic_plan").await?;
    }
    Ok(())
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
/// (`store/one_statement.rs`). [`crate::Ledger::post`] tries it on the pool, outside a transaction, and
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
    let results = post_batch(conn, requests, true, now_us, one_statement)
        .await
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
    post_batch(conn, requests, false, now_us, OneStatement::Try).await
}

/// PostgreSQL's one-statement path for one single transfer (see [`one_statement::Shape`]). `None`
/// when it does not apply (SQLite; holds, resolutions and reversals, which name other transfers) or the
/// general path must decide; with the transfer come its accounts that carry limit flags.
pub(crate) async fn post_in_one_statement(
    conn: &impl ConnectionTrait,
    request: &TransferRequest,
    now_us: i64,
    shape: one_statement::Shape,
) -> Result<Option<(Transfer, Vec<AccountId>)>, LedgerError> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(None);
    }
    one_statement::post(conn, request, now_us, shape).await
}

/// The balance movement of a new transfer, as computed before it is stored.
#[derive(Clone, Debug)]
struct Plan {
    kind: TransferKind,
    debit: AccountId,
    credit: AccountId,
    asset: Asset,
    amount: i64,
    /// Amount of the hold that a post, void or expiry releases.
    released: i64,
    pending_id: Option<TransferId>,
    reverses: Option<TransferId>,
    timeout_at_us: Option<i64>,
    /// Index of an earlier request of the same batch this one needs (the hold it resolves, the transfer
    /// it reverses).
    depends_on: Option<usize>,
}

impl Plan {
    /// Increments of (debits_posted, debits_pending) on the debit account and (credits_posted,
    /// credits_pending) on the credit account.
    fn deltas(&self) -> (i64, i64) {
        match self.kind {
            TransferKind::Single => (self.amount, 0),
            TransferKind::Pending => (0, self.amount),
            TransferKind::PostPending => (self.amount, -self.released),
            TransferKind::VoidPending | TransferKind::ExpirePending => (0, -self.released),
        }
    }

    /// Whether a closed account refuses this transfer. Releasing a hold is always allowed.
    fn refused_by_closed(&self) -> bool {
        matches!(self.kind, TransferKind::Single | TransferKind::Pending | TransferKind::PostPending)
    }
}

/// Where a request stands while a batch is prepared.
#[derive(Clone, Debug)]
enum Slot {
    New(Plan),
    /// Already stored with the same content: its stored row is the result.
    Existing(Box<ledger_transfer::Model>),
    /// Repeats an earlier request of the batch: same result as that one.
    SameAs(usize),
    Failed(LedgerError),
}

/// Stored transfers the batch refers to, by id, and the resolutions and reversals pointing at them.
#[derive(Default)]
struct Known {
    by_id: HashMap<String, ledger_transfer::Model>,
    by_key: HashMap<String, ledger_transfer::Model>,
    resolution_of: HashMap<String, ledger_transfer::Model>,
    reversal_of: HashMap<String, ledger_transfer::Model>,
}

/// What a batch names among the stored transfers: its own ids (and those of the holds it resolves and
/// the transfers it reverses), its idempotency keys, the holds it resolves (to find their resolutions)
/// and the transfers it reverses (to find their reversals).
struct Referenced {
    ids: Vec<String>,
    keys: Vec<String>,
    pendings: Vec<String>,
    reversed: Vec<String>,
}

impl Referenced {
    fn of(requests: &[TransferRequest]) -> Self {
        let mut ids: Vec<String> = requests.iter().map(|r| r.id.to_text()).collect();
        let keys: Vec<String> = requests.iter().filter_map(|r| r.idempotency_key.clone()).collect();
        let mut pendings = vec![];
        let mut reversed = vec![];
        for r in requests {
            match &r.action {
                TransferAction::PostPending { pending_id, .. }
                | TransferAction::VoidPending { pending_id }
                | TransferAction::ExpirePending { pending_id } => pendings.push(pending_id.to_text()),
                TransferAction::Reverse { transfer_id } => reversed.push(transfer_id.to_text()),
                TransferAction::Single { .. } | TransferAction::Pending { .. } => {}
            }
        }
        ids.extend(pendings.iter().cloned());
        ids.extend(reversed.iter().cloned());
        Referenced { ids, keys, pendings, reversed }
    }
}

async fn load_known(conn: &impl ConnectionTrait, requests: &[TransferRequest]) -> Result<Known, LedgerError> {
    let referenced = Referenced::of(requests);
    let rows = if conn.get_database_backend() == DbBackend::Postgres {
        postgres::stored_transfers(conn, referenced).await?
    } else {
        stored_transfers(conn, referenced).await?
    };
    let mut known = Known::default();
    for row in rows {
        if let Some(p) = &row.pending_id {
            known.resolution_of.insert(p.clone(), row.clone());
        }
        if let Some(r) = &row.reverses {
            known.reversal_of.insert(r.clone(), row.clone());
        }
        if let Some(k) = &row.idempotency_key {
            known.by_key.insert(k.clone(), row.clone());
        }
        known.by_id.insert(row.id.clone(), row);
    }
    Ok(known)
}

/// The stored transfers a batch refers to (SQLite; see [`postgres::stored_transfers`]).
async fn stored_transfers(
    conn: &impl ConnectionTrait,
    referenced: Referenced,
) -> Result<Vec<ledger_transfer::Model>, LedgerError> {
    let Referenced { ids, keys, pendings, reversed } = referenced;
    let mut cond = Condition::any().add(ledger_transfer::Column::Id.is_in(ids));
    if !keys.is_empty() {
        cond = cond.add(ledger_transfer::Column::IdempotencyKey.is_in(keys));
    }
    if !pendings.is_empty() {
        cond = cond.add(ledger_transfer::Column::PendingId.is_in(pendings));
    }
    if !reversed.is_empty() {
        cond = cond.add(ledger_transfer::Column::Reverses.is_in(reversed));
    }
    Ok(ledger_transfer::Entity::find().filter(cond).all(conn).await?)
}

/// Checks that need no database.
fn validate_request(r: &TransferRequest) -> Result<(), LedgerError> {
    if r.code.trim().is_empty() || r.code.len() > 64 {
        return Err(LedgerError::InvalidCode(r.code.clone()));
    }
    match &r.action {
        TransferAction::Single { debit, credit, amount, .. }
        | TransferAction::Pending { debit, credit, amount, .. } => {
            crate::types::Amount::new(*amount)?;
            if debit == credit {
                return Err(LedgerError::SameAccount(*debit));
            }
            if let TransferAction::Pending { timeout_seconds: Some(t), .. } = &r.action
                && (*t == 0 || *t > MAX_TIMEOUT_SECONDS)
            {
                return Err(LedgerError::InvalidTimeout);
            }
            Ok(())
        }
        TransferAction::PostPending { amount: Some(amount), .. } => crate::types::Amount::new(*amount).map(|_| ()),
        _ => Ok(()),
    }
}

/// A stored or planned transfer, as much as resolving later requests needs.
#[derive(Clone, Debug)]
struct Target {
    kind: TransferKind,
    debit: AccountId,
    credit: AccountId,
    asset: Asset,
    amount: i64,
    reverses: bool,
    timeout_at_us: Option<i64>,
    /// Index in this batch, when the target is planned by it.
    index: Option<usize>,
}

impl Target {
    fn from_model(m: &ledger_transfer::Model) -> Result<Self, LedgerError> {
        Ok(Target {
            kind: TransferKind::parse(&m.kind)?,
            debit: AccountId(m.debit_account_id),
            credit: AccountId(m.credit_account_id),
            asset: m.asset.parse()?,
            amount: m.amount,
            reverses: m.reverses.is_some(),
            timeout_at_us: m.timeout_at_us,
            index: None,
        })
    }

    fn from_plan(p: &Plan, index: usize) -> Self {
        Target {
            kind: p.kind,
            debit: p.debit,
            credit: p.credit,
            asset: p.asset,
            amount: p.amount,
            reverses: p.reverses.is_some(),
            timeout_at_us: p.timeout_at_us,
            index: Some(index),
        }
    }
}

/// Resolves each request, in order, against the stored transfers and the batch's earlier requests.
fn resolve(requests: &[TransferRequest], known: &Known, now_us: i64) -> Result<Vec<Slot>, LedgerError> {
    let mut slots: Vec<Slot> = Vec::with_capacity(requests.len());
    let mut planned: HashMap<TransferId, usize> = HashMap::new();
    let mut planned_keys: HashMap<&str, usize> = HashMap::new();
    let mut resolved_in_batch: HashSet<TransferId> = HashSet::new();
    let mut reversed_in_batch: HashSet<TransferId> = HashSet::new();
    for (index, r) in requests.iter().enumerate() {
        let slot = resolve_one(
            r,
            requests,
            &slots,
            known,
            &planned,
            &planned_keys,
            &resolved_in_batch,
            &reversed_in_batch,
            now_us,
        )?;
        if let Slot::New(plan) = &slot {
            planned.insert(r.id, index);
            if let Some(k) = &r.idempotency_key {
                planned_keys.insert(k.as_str(), index);
            }
            if let Some(p) = plan.pending_id {
                resolved_in_batch.insert(p);
            }
            if let Some(t) = plan.reverses {
                reversed_in_batch.insert(t);
            }
        }
        slots.push(slot);
    }
    Ok(slots)
}

#[allow(clippy::too_many_arguments)]
fn resolve_one(
    r: &TransferRequest,
    requests: &[TransferRequest],
    slots: &[Slot],
    known: &Known,
    planned: &HashMap<TransferId, usize>,
    planned_keys: &HashMap<&str, usize>,
    resolved_in_batch: &HashSet<TransferId>,
    reversed_in_batch: &HashSet<TransferId>,
    now_us: i64,
) -> Result<Slot, LedgerError> {
    // A repeat of a stored transfer: the first result, or a conflict if the content differs.
    let stored =
        known.by_id.get(&r.id.to_text()).or_else(|| r.idempotency_key.as_ref().and_then(|k| known.by_key.get(k)));
    if let Some(stored) = stored {
        let original = referenced_amount(r, known);
        return Ok(if stored_matches(r, stored, original)? {
            Slot::Existing(Box::new(stored.clone()))
        } else {
            Slot::Failed(LedgerError::IdempotencyConflict(r.id))
        });
    }
    let earlier = planned.get(&r.id).or_else(|| r.idempotency_key.as_deref().and_then(|k| planned_keys.get(k)));
    if let Some(&earlier) = earlier {
        return Ok(if requests.get(earlier) == Some(r) {
            Slot::SameAs(earlier)
        } else {
            Slot::Failed(LedgerError::IdempotencyConflict(r.id))
        });
    }
    if let Err(e) = validate_request(r) {
        return Ok(Slot::Failed(e));
    }
    let find = |id: &TransferId| -> Result<Option<Target>, LedgerError> {
        if let Some(&i) = planned.get(id)
            && let Some(Slot::New(plan)) = slots.get(i)
        {
            return Ok(Some(Target::from_plan(plan, i)));
        }
        known.by_id.get(&id.to_text()).map(Target::from_model).transpose()
    };
    let plan = match &r.action {
        TransferAction::Single { debit, credit, asset, amount } => Ok(Plan {
            kind: TransferKind::Single,
            debit: *debit,
            credit: *credit,
            asset: *asset,
            amount: *amount,
            released: 0,
            pending_id: None,
            reverses: None,
            timeout_at_us: None,
            depends_on: None,
        }),
        TransferAction::Pending { debit, credit, asset, amount, timeout_seconds } => Ok(Plan {
            kind: TransferKind::Pending,
            debit: *debit,
            credit: *credit,
            asset: *asset,
            amount: *amount,
            released: 0,
            pending_id: None,
            reverses: None,
            timeout_at_us: timeout_seconds.map(|s| now_us + i64::from(s) * 1_000_000),
            depends_on: None,
        }),
        TransferAction::PostPending { pending_id, .. }
        | TransferAction::VoidPending { pending_id }
        | TransferAction::ExpirePending { pending_id } => {
            let hold = find(pending_id)?;
            plan_resolution(r, *pending_id, hold, known, resolved_in_batch, now_us)
        }
        TransferAction::Reverse { transfer_id } => {
            let original = find(transfer_id)?;
            plan_reversal(*transfer_id, original, known, reversed_in_batch)
        }
    };
    Ok(match plan {
        Ok(plan) => Slot::New(plan),
        Err(e) => Slot::Failed(e),
    })
}

fn plan_resolution(
    r: &TransferRequest,
    pending_id: TransferId,
    hold: Option<Target>,
    known: &Known,
    resolved_in_batch: &HashSet<TransferId>,
    now_us: i64,
) -> Result<Plan, LedgerError> {
    let hold = hold.ok_or(LedgerError::UnknownTransfer(pending_id))?;
    if hold.kind != TransferKind::Pending {
        return Err(LedgerError::NotPending(pending_id));
    }
    if known.resolution_of.contains_key(&pending_id.to_text()) || resolved_in_batch.contains(&pending_id) {
        return Err(LedgerError::HoldAlreadyResolved(pending_id));
    }
    let expired = hold.timeout_at_us.is_some_and(|t| t <= now_us);
    let (kind, amount) = match &r.action {
        TransferAction::PostPending { amount, .. } => {
            let amount = amount.unwrap_or(hold.amount);
            if amount > hold.amount {
                return Err(LedgerError::AmountExceedsPending { pending: hold.amount, requested: amount });
            }
            (TransferKind::PostPending, amount)
        }
        TransferAction::VoidPending { .. } => (TransferKind::VoidPending, hold.amount),
        _ => (TransferKind::ExpirePending, hold.amount),
    };
    match kind {
        TransferKind::ExpirePending if !expired => {
            return Err(LedgerError::HoldNotExpired(pending_id));
        }
        TransferKind::PostPending | TransferKind::VoidPending if expired => {
            return Err(LedgerError::HoldExpired(pending_id));
        }
        _ => {}
    }
    Ok(Plan {
        kind,
        debit: hold.debit,
        credit: hold.credit,
        asset: hold.asset,
        amount,
        released: hold.amount,
        pending_id: Some(pending_id),
        reverses: None,
        timeout_at_us: None,
        depends_on: hold.index,
    })
}

fn plan_reversal(
    transfer_id: TransferId,
    original: Option<Target>,
    known: &Known,
    reversed_in_batch: &HashSet<TransferId>,
) -> Result<Plan, LedgerError> {
    let original = original.ok_or(LedgerError::UnknownTransfer(transfer_id))?;
    if original.reverses {
        return Err(LedgerError::ReversalOfReversal(transfer_id));
    }
    if !original.kind.is_posting() {
        return Err(LedgerError::NotReversible(transfer_id));
    }
    if known.reversal_of.contains_key(&transfer_id.to_text()) || reversed_in_batch.contains(&transfer_id) {
        return Err(LedgerError::AlreadyReversed(transfer_id));
    }
    Ok(Plan {
        kind: TransferKind::Single,
        debit: original.credit,
        credit: original.debit,
        asset: original.asset,
        amount: original.amount,
        released: 0,
        pending_id: None,
        reverses: Some(transfer_id),
        timeout_at_us: None,
        depends_on: original.index,
    })
}

/// The amount of the hold a full post refers to, when it is stored.
fn referenced_amount(r: &TransferRequest, known: &Known) -> Option<i64> {
    match &r.action {
        TransferAction::PostPending { pending_id, amount: None } => {
            known.by_id.get(&pending_id.to_text()).map(|m| m.amount)
        }
        _ => None,
    }
}

/// Whether a stored transfer is what this request would have created (so a retry gets it back).
fn stored_matches(
    r: &TransferRequest,
    s: &ledger_transfer::Model,
    full_hold_amount: Option<i64>,
) -> Result<bool, LedgerError> {
    let same_envelope = s.id == r.id.to_text()
        && s.code == r.code
        && s.metadata == canonical_json(&r.metadata)
        && (r.idempotency_key.is_none() || s.idempotency_key == r.idempotency_key);
    if !same_envelope {
        return Ok(false);
    }
    let kind = TransferKind::parse(&s.kind)?;
    let same_accounts = |debit: &AccountId, credit: &AccountId, asset: &Asset, amount: &i64| {
        s.debit_account_id == debit.0
            && s.credit_account_id == credit.0
            && s.asset == asset.code()
            && s.amount == *amount
    };
    let pending_is = |p: &TransferId| s.pending_id.as_deref() == Some(p.to_text().as_str());
    Ok(match &r.action {
        TransferAction::Single { debit, credit, asset, amount } => {
            kind == TransferKind::Single && s.reverses.is_none() && same_accounts(debit, credit, asset, amount)
        }
        TransferAction::Pending { debit, credit, asset, amount, timeout_seconds } => {
            kind == TransferKind::Pending
                && same_accounts(debit, credit, asset, amount)
                && s.timeout_at_us.is_some() == timeout_seconds.is_some()
        }
        TransferAction::PostPending { pending_id, amount } => {
            kind == TransferKind::PostPending
                && pending_is(pending_id)
                && match (amount, full_hold_amount) {
                    (Some(a), _) => s.amount == *a,
                    (None, Some(full)) => s.amount == full,
                    (None, None) => true,
                }
        }
        TransferAction::VoidPending { pending_id } => kind == TransferKind::VoidPending && pending_is(pending_id),
        TransferAction::ExpirePending { pending_id } => kind == TransferKind::ExpirePending && pending_is(pending_id),
        TransferAction::Reverse { transfer_id } => {
            kind == TransferKind::Single && s.reverses.as_deref() == Some(transfer_id.to_text().as_str())
        }
    })
}

/// What an account row says about a planned transfer (neither ever changes).
#[derive(Clone, Copy, Debug)]
struct AccountInfo {
    asset: Asset,
    flags: AccountFlags,
}

impl AccountInfo {
    /// No limit flag and not closed: no guard needs this account's exact balance when it is written,
    /// so its posted amounts may go to a shard (PostgreSQL).
    fn unlimited(&self) -> bool {
        self.flags == AccountFlags::NONE
    }
}

/// Reads the accounts' asset and flags, without locking them (SQLite has one writer; on PostgreSQL
/// see [`postgres::read_accounts_and_lock_head`]). The asset and the limit bits never change; the
/// `closed` bit read here is checked again under the row lock by the guarded update.
async fn read_accounts(
    conn: &impl ConnectionTrait,
    ids: &BTreeSet<AccountId>,
) -> Result<HashMap<AccountId, AccountInfo>, LedgerError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = conn.get_database_backend();
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!("SELECT id, asset, flags FROM ledger_accounts WHERE id IN ({})", placeholders.join(", "));
    let values: Vec<Value> = ids.iter().map(|id| id.0.into()).collect();
    let rows = conn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        out.insert(
            AccountId(row.try_get_by_index(0)?),
            account_info(row.try_get_by_index(1)?, row.try_get_by_index(2)?)?,
        );
    }
    Ok(out)
}

fn account_info(asset: String, flags: i32) -> Result<AccountInfo, LedgerError> {
    Ok(AccountInfo { asset: asset.parse()?, flags: AccountFlags::from_bits(flags)? })
}

/// One guarded increment applied to one side of one account.
#[derive(Clone, Copy, Debug)]
struct Increment {
    account: AccountId,
    debit_side: bool,
    posted: i64,
    pending: i64,
}

const DEBIT_UPDATE: &str = "UPDATE ledger_accounts \
    SET debits_posted = debits_posted + $1, debits_pending = debits_pending + $2 \
    WHERE id = $3 \
      AND debits_posted <= $5 - $1 AND debits_pending + $2 >= 0 AND debits_pending <= $5 - $2 \
      AND ($4 = 0 OR (flags & 4) = 0) \
      AND ((flags & 1) = 0 OR $1 + $2 <= 0 \
           OR debits_posted + debits_pending + $1 + $2 <= credits_posted) \
    RETURNING id";

const CREDIT_UPDATE: &str = "UPDATE ledger_accounts \
    SET credits_posted = credits_posted + $1, credits_pending = credits_pending + $2 \
    WHERE id = $3 \
      AND credits_posted <= $5 - $1 AND credits_pending + $2 >= 0 AND credits_pending <= $5 - $2 \
      AND ($4 = 0 OR (flags & 4) = 0) \
      AND ((flags & 2) = 0 OR $1 + $2 <= 0 \
           OR credits_posted + credits_pending + $1 + $2 <= debits_posted) \
    RETURNING id";

/// Applies a guarded increment; `false` when the guard refused it (nothing changed).
async fn apply(conn: &impl ConnectionTrait, inc: Increment, refuse_closed: bool) -> Result<bool, LedgerError> {
    let sql = if inc.debit_side { DEBIT_UPDATE } else { CREDIT_UPDATE };
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            sql,
            [
                inc.posted.into(),
                inc.pending.into(),
                inc.account.0.into(),
                i64::from(refuse_closed).into(),
                MAX_BALANCE.into(),
            ],
        ))
        .await?;
    Ok(!rows.is_empty())
}

/// Undoes an applied increment. The account is locked by this transaction and the undos run in the
/// reverse order of the increments, so each one restores a state the row had before.
async fn undo(conn: &impl ConnectionTrait, inc: Increment) -> Result<(), LedgerError> {
    let sql = if inc.debit_side {
        "UPDATE ledger_accounts SET debits_posted = debits_posted - $1, \
         debits_pending = debits_pending - $2 WHERE id = $3"
    } else {
        "UPDATE ledger_accounts SET credits_posted = credits_posted - $1, \
         credits_pending = credits_pending - $2 WHERE id = $3"
    };
    conn.execute_raw(Statement::from_sql_and_values(
        conn.get_database_backend(),
        sql,
        [inc.posted.into(), inc.pending.into(), inc.account.0.into()],
    ))
    .await?;
    Ok(())
}

async fn undo_all(conn: &impl ConnectionTrait, applied: &[Increment]) -> Result<(), LedgerError> {
    for inc in applied.iter().rev() {
        undo(conn, *inc).await?;
    }
    Ok(())
}

/// Why a guarded increment matched no row.
async fn classify_refusal(
    conn: &impl ConnectionTrait,
    inc: Increment,
    plan: &Plan,
) -> Result<LedgerError, LedgerError> {
    let acct = account(conn, inc.account).await?;
    if plan.refused_by_closed() && acct.flags.closed() {
        return Ok(LedgerError::AccountClosed(inc.account));
    }
    let (posted, pending) = if inc.debit_side {
        (acct.debits_posted, acct.debits_pending)
    } else {
        (acct.credits_posted, acct.credits_pending)
    };
    if pending + inc.pending < 0 {
        // The hold was released by a concurrent writer after this batch read it.
        let id = plan.pending_id.unwrap_or_default();
        return Ok(LedgerError::HoldAlreadyResolved(id));
    }
    if posted > MAX_BALANCE - inc.posted || pending > MAX_BALANCE - inc.pending {
        return Ok(LedgerError::AmountOverflow);
    }
    Ok(if inc.debit_side {
        LedgerError::InsufficientFunds(inc.account)
    } else {
        LedgerError::CreditLimitExceeded(inc.account)
    })
}

/// Checks a plan against its locked accounts (existence, asset, closed).
fn check_accounts(plan: &Plan, accounts: &HashMap<AccountId, AccountInfo>) -> Result<(), LedgerError> {
    for id in [plan.debit, plan.credit] {
        let acct = accounts.get(&id).ok_or(LedgerError::UnknownAccount(id))?;
        if acct.asset != plan.asset {
            return Err(LedgerError::AssetMismatch { account: id, account_asset: acct.asset, transfer: plan.asset });
        }
        if plan.refused_by_closed() && acct.flags.closed() {
            return Err(LedgerError::AccountClosed(id));
        }
    }
    Ok(())
}

/// Applies one plan's increments in ascending account order; on refusal, undoes its own increments.
async fn apply_plan(
    conn: &impl ConnectionTrait,
    plan: &Plan,
    applied: &mut Vec<Increment>,
) -> Result<Result<(), LedgerError>, LedgerError> {
    let (posted, pending) = plan.deltas();
    let debit = Increment { account: plan.debit, debit_side: true, posted, pending };
    let credit = Increment { account: plan.credit, debit_side: false, posted, pending };
    let ordered = if plan.debit < plan.credit { [debit, credit] } else { [credit, debit] };
    let mark = applied.len();
    for inc in ordered {
        if apply(conn, inc, plan.refused_by_closed()).await? {
            applied.push(inc);
        } else {
            let reason = classify_refusal(conn, inc, plan).await?;
            undo_all(conn, &applied[mark..]).await?;
            applied.truncate(mark);
            return Ok(Err(reason));
        }
    }
    Ok(Ok(()))
}

/// The net movement of one account over a batch, and the conservative bounds its guard checks.
#[derive(Clone, Copy, Debug, Default)]
struct Movement {
    debits_posted: i64,
    debits_pending: i64,
    credits_posted: i64,
    credits_pending: i64,
    /// Sums of the pending increments alone (for the overflow bound).
    debits_pending_up: i64,
    credits_pending_up: i64,
    /// Sums of the pending releases alone (negative; the pending columns must cover them).
    debits_pending_down: i64,
    credits_pending_down: i64,
    /// Sums over the transfers of max(0, posted + pending increment) on each side: what the flag
    /// guards must allow without counting the batch's own movements on the other side.
    debits_up: i64,
    credits_up: i64,
    /// Whether some transfer of the batch on this account is refused by a closed account.
    refuse_closed: bool,
}

impl Movement {
    fn add(&mut self, debit_side: bool, posted: i64, pending: i64) -> Option<()> {
        let (p, q, up, down, grow) = if debit_side {
            (
                &mut self.debits_posted,
                &mut self.debits_pending,
                &mut self.debits_pending_up,
                &mut self.debits_pending_down,
                &mut self.debits_up,
            )
        } else {
            (
                &mut self.credits_posted,
                &mut self.credits_pending,
                &mut self.credits_pending_up,
                &mut self.credits_pending_down,
                &mut self.credits_up,
            )
        };
        *p = p.checked_add(posted)?;
        *q = q.checked_add(pending)?;
        if pending > 0 {
            *up = up.checked_add(pending)?;
        } else {
            *down = down.checked_add(pending)?;
        }
        *grow = grow.checked_add(posted.checked_add(pending)?.max(0))?;
        Some(())
    }

    /// Whether the movement only posts (no hold placed or resolved on this account).
    fn posted_only(&self) -> bool {
        self.debits_pending_up == 0
            && self.credits_pending_up == 0
            && self.debits_pending_down == 0
            && self.credits_pending_down == 0
    }

    fn values(&self, id: AccountId) -> [i64; 11] {
        [
            id.0,
            self.debits_posted,
            self.debits_pending,
            self.credits_posted,
            self.credits_pending,
            self.debits_pending_up,
            self.credits_pending_up,
            self.debits_pending_down,
            self.credits_pending_down,
            self.debits_up,
            self.credits_up,
        ]
    }
}

/// The net movement of every account a batch moves; `None` when a sum overflows (the batch is then
/// applied transfer by transfer, which reports the overflow on the transfer that causes it).
fn net_movements(plans: &[&Plan]) -> Option<BTreeMap<AccountId, Movement>> {
    let mut movements: BTreeMap<AccountId, Movement> = BTreeMap::new();
    for plan in plans {
        let (posted, pending) = plan.deltas();
        for (account, debit_side) in [(plan.debit, true), (plan.credit, false)] {
            let movement = movements.entry(account).or_default();
            movement.add(debit_side, posted, pending)?;
            movement.refuse_closed |= plan.refused_by_closed();
        }
    }
    Some(movements)
}

/// The increments a set of net movements applied (to undo them).
fn increments_of<'a>(movements: impl Iterator<Item = (&'a AccountId, &'a Movement)>) -> Vec<Increment> {
    movements
        .flat_map(|(id, m)| {
            [
                Increment { account: *id, debit_side: true, posted: m.debits_posted, pending: m.debits_pending },
                Increment { account: *id, debit_side: false, posted: m.credits_posted, pending: m.credits_pending },
            ]
        })
        .collect()
}

/// The guard of a batch's net movement on one account, as SQL over the account's columns and `v`'s
/// (see [`Movement`]): as if every debit of the batch came before every credit. When that pessimistic
/// order passes, every order does, so the result is the one the transfer-by-transfer path would give.
/// `$1` is [`MAX_BALANCE`].
const MOVEMENT_GUARD: &str = "debits_posted <= $1 - v.dp AND credits_posted <= $1 - v.cp \
    AND debits_pending <= $1 - v.dq_up AND credits_pending <= $1 - v.cq_up \
    AND debits_pending + v.dq_down >= 0 AND credits_pending + v.cq_down >= 0 \
    AND (NOT v.refuse_closed OR (flags & 4) = 0) \
    AND ((flags & 1) = 0 OR debits_posted + debits_pending + v.d_up <= credits_posted) \
    AND ((flags & 2) = 0 OR credits_posted + credits_pending + v.c_up <= debits_posted)";

const MOVEMENT_SET: &str = "debits_posted = debits_posted + v.dp, debits_pending = debits_pending + v.dq, \
    credits_posted = credits_posted + v.cp, credits_pending = credits_pending + v.cq";

/// Applies a whole batch's net movements in one guarded statement (SQLite; PostgreSQL does this inside
/// [`postgres::apply_and_insert`]). Returns `false`, with nothing changed, when some account's guard
/// refused.
async fn apply_movements(
    conn: &impl ConnectionTrait,
    movements: &BTreeMap<AccountId, Movement>,
) -> Result<bool, LedgerError> {
    if movements.is_empty() {
        return Ok(true);
    }
    let backend = conn.get_database_backend();
    let mut values: Vec<Value> = vec![MAX_BALANCE.into()];
    let mut rows = Vec::with_capacity(movements.len());
    for (id, m) in movements {
        let base = values.len();
        let placeholders: Vec<String> = (1..=12).map(|k| format!("${}", base + k)).collect();
        rows.push(format!("({})", placeholders.join(", ")));
        values.extend(m.values(*id).into_iter().map(Value::from));
        values.push(m.refuse_closed.into());
    }
    let sql = format!(
        "WITH v(id, dp, dq, cp, cq, dq_up, cq_up, dq_down, cq_down, d_up, c_up, refuse_closed) AS (VALUES {}) \
         UPDATE ledger_accounts SET {MOVEMENT_SET} FROM v WHERE ledger_accounts.id = v.id AND {MOVEMENT_GUARD} \
         RETURNING ledger_accounts.id",
        rows.join(", ")
    );
    let updated = conn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    if updated.len() == movements.len() {
        return Ok(true);
    }
    let moved: BTreeSet<i64> = updated.iter().map(|row| row.try_get_by_index::<i64>(0)).collect::<Result<_, _>>()?;
    undo_all(conn, &increments_of(movements.iter().filter(|(id, _)| moved.contains(&id.0)))).await?;
    Ok(false)
}

/// Applies the new transfers one by one, in order. Linked: stops at the first failure, undoes
/// everything and returns it. Independent: marks each failure in its slot and goes on. `undo_after`
/// undoes everything even when all succeed (to find the first failure of a linked prefix).
async fn apply_in_order(
    conn: &impl ConnectionTrait,
    slots: &mut [Slot],
    linked: bool,
    undo_after: bool,
) -> Result<Option<(usize, LedgerError)>, LedgerError> {
    let mut applied: Vec<Increment> = vec![];
    for i in 0..slots.len() {
        let Slot::New(plan) = &slots[i] else { continue };
        let outcome = match plan.depends_on.and_then(|d| slots.get(d)) {
            Some(Slot::Failed(_)) => {
                Err(LedgerError::UnknownTransfer(plan.pending_id.or(plan.reverses).unwrap_or_default()))
            }
            _ => apply_plan(conn, plan, &mut applied).await?,
        };
        if let Err(e) = outcome {
            if linked {
                undo_all(conn, &applied).await?;
                return Ok(Some((i, e)));
            }
            slots[i] = Slot::Failed(e);
        }
    }
    if undo_after {
        undo_all(conn, &applied).await?;
    }
    Ok(None)
}

/// A hash chain's head: where the next transfer on it links to.
#[derive(Clone, Debug)]
struct Head {
    chain_id: i32,
    last_seq: i64,
    last_hash: String,
}

impl Head {
    /// From a row whose first three columns are `id, last_seq, last_hash` of `ledger_chain_head`.
    fn from_row(row: &QueryResult) -> Result<Self, LedgerError> {
        Ok(Head {
            chain_id: row.try_get_by_index(0)?,
            last_seq: row.try_get_by_index(1)?,
            last_hash: row.try_get_by_index(2)?,
        })
    }
}

/// SQLite's one chain head (its one writer holds the database lock).
async fn read_sqlite_head(conn: &impl ConnectionTrait) -> Result<Head, LedgerError> {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT id, last_seq, last_hash FROM ledger_chain_head WHERE id = 0",
        ))
        .await?
        .ok_or_else(|| LedgerError::Invariant("ledger_chain_head has no row".into()))?;
    Head::from_row(&row)
}

fn new_plans(slots: &[Slot]) -> Vec<&Plan> {
    slots
        .iter()
        .filter_map(|s| match s {
            Slot::New(p) => Some(p),
            _ => None,
        })
        .collect()
}

fn accounts_of(plans: &[&Plan]) -> BTreeSet<AccountId> {
    plans.iter().flat_map(|p| [p.debit, p.credit]).collect()
}

/// The heart of posting: see the module documentation for the steps.
async fn post_batch(
    conn: &impl ConnectionTrait,
    requests: &[TransferRequest],
    linked: bool,
    now_us: i64,
    one_statement: OneStatement,
) -> Result<Vec<Result<Transfer, LedgerError>>, LedgerError> {
    if requests.is_empty() {
        return Ok(vec![]);
    }
    if let [request] = requests
        && one_statement == OneStatement::Try
        && let Some((posted, _)) = post_in_one_statement(conn, request, now_us, Shape::InTransaction).await?
    {
        return Ok(vec![Ok(posted)]);
    }
    let on_postgres = conn.get_database_backend() == DbBackend::Postgres;
    let known = load_known(conn, requests).await?;
    let mut slots = resolve(requests, &known, now_us)?;
    if linked && let Some(failed) = first_failure(&slots) {
        return Ok(linked_failure(requests.len(), failed));
    }
    let account_ids = accounts_of(&new_plans(&slots));
    let (accounts, head) = if on_postgres {
        postgres::read_accounts_and_lock_head(conn, &account_ids).await?
    } else {
        (read_accounts(conn, &account_ids).await?, read_sqlite_head(conn).await?)
    };
    for i in 0..slots.len() {
        let Slot::New(plan) = &slots[i] else { continue };
        let checked = match plan.depends_on.map(|d| &slots[d]) {
            Some(Slot::Failed(_)) => {
                Err(LedgerError::UnknownTransfer(plan.pending_id.or(plan.reverses).unwrap_or_default()))
            }
            _ => check_accounts(plan, &accounts),
        };
        if let Err(e) = checked {
            if linked {
                // An earlier transfer of the batch may fail first: the batch reports the first
                // failure in order, as if it ran transfer by transfer.
                let prefix = accounts_of(&new_plans(&slots[..i]));
                lock_in_order(conn, &prefix).await?;
                let earlier = apply_in_order(conn, &mut slots[..i], true, true).await?;
                return Ok(linked_failure(requests.len(), earlier.unwrap_or((i, e))));
            }
            slots[i] = Slot::Failed(e);
        }
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
        if on_postgres {
            if let Some(seqs) = postgres::apply_and_insert(conn, &movements, &accounts, &rows, &head).await? {
                return results(requests, &slots, numbered(rows, &seqs)?);
            }
        } else if apply_movements(conn, &movements).await? {
            let seqs = insert_sqlite_rows(conn, &rows).await?;
            return results(requests, &slots, numbered(rows, &seqs)?);
        }
    }
    // Some account's guard refused the batch as a whole: replay it transfer by transfer, which gives
    // each transfer its exact outcome and reason, then insert the ones that passed.
    lock_in_order(conn, &account_ids).await?;
    if let Some(failure) = apply_in_order(conn, &mut slots, linked, false).await? {
        return Ok(linked_failure(requests.len(), failure));
    }
    let rows = chain_rows(requests, &slots, &head, now_us);
    if rows.is_empty() {
        return results(requests, &slots, HashMap::new());
    }
    let seqs = if on_postgres {
        postgres::apply_and_insert(conn, &BTreeMap::new(), &HashMap::new(), &rows, &head)
            .await?
            .ok_or_else(|| LedgerError::Invariant("insert without movements refused".into()))?
    } else {
        insert_sqlite_rows(conn, &rows).await?
    };
    results(requests, &slots, numbered(rows, &seqs)?)
}

/// Locks accounts in ascending id order before transfer-by-transfer updates (PostgreSQL; SQLite has
/// one writer), so that no two writers wait for each other in a cycle.
async fn lock_in_order(conn: &impl ConnectionTrait, ids: &BTreeSet<AccountId>) -> Result<(), LedgerError> {
    if conn.get_database_backend() == DbBackend::Postgres && !ids.is_empty() {
        postgres::lock_accounts(conn, ids).await?;
    }
    Ok(())
}

/// The rows of the batch's new transfers, hashed and linked after `head`, with their slot indexes.
fn chain_rows(
    requests: &[TransferRequest],
    slots: &[Slot],
    head: &Head,
    now_us: i64,
) -> Vec<(usize, ledger_transfer::Model)> {
    let mut chain_seq = head.last_seq;
    let mut prev_hash = head.last_hash.clone();
    let mut rows = Vec::with_capacity(slots.len());
    for (i, slot) in slots.iter().enumerate() {
        let Slot::New(plan) = slot else { continue };
        chain_seq += 1;
        let r = &requests[i];
        let mut row = ledger_transfer::Model {
            // Assigned by the database on insert, in chain order, under the head lock.
            seq: 0,
            chain_id: head.chain_id,
            chain_seq,
            id: r.id.to_text(),
            idempotency_key: r.idempotency_key.clone(),
            kind: plan.kind.as_str().to_owned(),
            debit_account_id: plan.debit.0,
            credit_account_id: plan.credit.0,
            asset: plan.asset.code().to_owned(),
            amount: plan.amount,
            code: r.code.clone(),
            pending_id: plan.pending_id.map(TransferId::to_text),
            reverses: plan.reverses.map(TransferId::to_text),
            timeout_at_us: plan.timeout_at_us,
            metadata: canonical_json(&r.metadata),
            created_at_us: now_us,
            prev_hash,
            hash: String::new(),
        };
        row.hash = transfer_hash(&row);
        prev_hash = row.hash.clone();
        rows.push((i, row));
    }
    rows
}

/// Gives each inserted row the `seq` the database assigned to its chain position.
fn numbered(
    rows: Vec<(usize, ledger_transfer::Model)>,
    seqs: &HashMap<i64, i64>,
) -> Result<HashMap<usize, ledger_transfer::Model>, LedgerError> {
    let mut inserted = HashMap::with_capacity(rows.len());
    for (i, mut row) in rows {
        row.seq =
            *seqs.get(&row.chain_seq).ok_or_else(|| LedgerError::Invariant("inserted transfer without seq".into()))?;
        inserted.insert(i, row);
    }
    Ok(inserted)
}

const INSERT_COLUMNS: &str = "chain_id, chain_seq, id, idempotency_key, kind, debit_account_id, \
    credit_account_id, asset, amount, code, pending_id, reverses, timeout_at_us, metadata, created_at_us, \
    prev_hash, hash";

fn insert_values(row: &ledger_transfer::Model) -> [Value; 17] {
    [
        row.chain_id.into(),
        row.chain_seq.into(),
        row.id.clone().into(),
        row.idempotency_key.clone().into(),
        row.kind.clone().into(),
        row.debit_account_id.into(),
        row.credit_account_id.into(),
        row.asset.clone().into(),
        row.amount.into(),
        row.code.clone().into(),
        row.pending_id.clone().into(),
        row.reverses.clone().into(),
        row.timeout_at_us.into(),
        row.metadata.clone().into(),
        row.created_at_us.into(),
        row.prev_hash.clone().into(),
        row.hash.clone().into(),
    ]
}

/// Inserts the new transfers on SQLite (in chunks of at most 1,000 rows, 17,000 parameters) and moves
/// the chain head. The database numbers the rows as they are inserted, so along the chain the global
/// order agrees with the chain's. Returns the seq of each chain position.
async fn insert_sqlite_rows(
    conn: &impl ConnectionTrait,
    rows: &[(usize, ledger_transfer::Model)],
) -> Result<HashMap<i64, i64>, LedgerError> {
    let backend = conn.get_database_backend();
    let mut seqs = HashMap::with_capacity(rows.len());
    for chunk in rows.chunks(1000) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 17);
        let mut tuples = Vec::with_capacity(chunk.len());
        for (_, row) in chunk {
            let base = values.len();
            let placeholders: Vec<String> = (1..=17).map(|k| format!("${}", base + k)).collect();
            tuples.push(format!("({})", placeholders.join(", ")));
            values.extend(insert_values(row));
        }
        let sql = format!(
            "INSERT INTO ledger_transfers ({INSERT_COLUMNS}) VALUES {} RETURNING chain_seq, seq",
            tuples.join(", ")
        );
        for r in conn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await? {
            seqs.insert(r.try_get_by_index::<i64>(0)?, r.try_get_by_index::<i64>(1)?);
        }
    }
    if let Some((_, last)) = rows.last() {
        conn.execute_raw(Statement::from_sql_and_values(
            backend,
            "UPDATE ledger_chain_head SET last_seq = $1, last_hash = $2 WHERE id = $3",
            [last.chain_seq.into(), last.hash.clone().into(), last.chain_id.into()],
        ))
        .await?;
    }
    Ok(seqs)
}

fn first_failure(slots: &[Slot]) -> Option<(usize, LedgerError)> {
    slots.iter().enumerate().find_map(|(i, s)| match s {
        Slot::Failed(e) => Some((i, e.clone())),
        _ => None,
    })
}

fn linked_failure(len: usize, (index, error): (usize, LedgerError)) -> Vec<Result<Transfer, LedgerError>> {
    (0..len).map(|i| Err(if i == index { error.clone() } else { LedgerError::LinkedTransferFailed })).collect()
}

fn results(
    requests: &[TransferRequest],
    slots: &[Slot],
    inserted: HashMap<usize, ledger_transfer::Model>,
) -> Result<Vec<Result<Transfer, LedgerError>>, LedgerError> {
    let mut out: Vec<Result<Transfer, LedgerError>> = Vec::with_capacity(requests.len());
    for (i, slot) in slots.iter().enumerate() {
        let result = match slot {
            Slot::New(_) => {
                let row =
                    inserted.get(&i).ok_or_else(|| LedgerError::Invariant("planned transfer not inserted".into()))?;
                Ok(Transfer::from_model(row)?)
            }
            Slot::Existing(row) => Ok(Transfer::from_model(row)?),
            Slot::SameAs(j) => {
                out.get(*j).cloned().ok_or_else(|| LedgerError::Invariant("repeat of a later request".into()))?
            }
            Slot::Failed(e) => Err(e.clone()),
        };
        out.push(result);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------
// Holds
// ---------------------------------------------------------------------------------------------------

/// Holds whose timeout has passed at `now_us` and that nobody resolved yet, oldest first.
pub async fn expired_holds(conn: &impl ConnectionTrait, now_us: i64, limit: u64) -> Result<Vec<Transfer>, LedgerError> {
    let rows = ledger_transfer::Model::find_by_statement(Statement::from_sql_and_values(
        conn.get_database_backend(),
        "SELECT p.* FROM ledger_transfers p \
         WHERE p.kind = 'pending' AND p.timeout_at_us IS NOT NULL AND p.timeout_at_us <= $1 \
           AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = p.id) \
         ORDER BY p.seq LIMIT $2",
        [now_us.into(), i64::try_from(limit).unwrap_or(i64::MAX).into()],
    ))
    .all(conn)
    .await?;
    rows.iter().map(Transfer::from_model).collect()
}

/// The request that expires a hold. Its id is derived from the hold's id, so two job runners racing on
/// the same hold post one expiry between them.
pub fn expiry_request(hold: &Transfer) -> TransferRequest {
    TransferRequest {
        id: TransferId::from_idempotency_key(&format!("expire:{}", hold.id)),
        idempotency_key: None,
        action: TransferAction::ExpirePending { pending_id: hold.id },
        code: "expiry".to_owned(),
        metadata: serde_json::json!({ "expired": hold.id.to_text() }),
    }
}

/// Expires up to `limit` timed-out holds in the caller's transaction; returns the expiry transfers.
pub async fn expire_holds(conn: &impl ConnectionTrait, now_us: i64, limit: u64) -> Result<Vec<Transfer>, LedgerError> {
    let holds = expired_holds(conn, now_us, limit).await?;
    if holds.is_empty() {
        return Ok(vec![]);
    }
    let requests: Vec<TransferRequest> = holds.iter().map(expiry_request).collect();
    let results = post_independent(conn, &requests, now_us).await?;
    Ok(results.into_iter().filter_map(Result::ok).collect())
}
