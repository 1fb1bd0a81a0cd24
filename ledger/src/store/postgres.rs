//! PostgreSQL's half of the store ([`Backend`]): few round trips, fixed-shape statements, short locks.
//!
//! Every statement here has one text whatever the batch size — the rows travel as arrays
//! (`unnest(:name::int8[], …)`), so each connection prepares it once — and a batch takes, after its
//! read of the stored transfers it names:
//! 1. `read_accounts_and_lock_head`: any free chain head (`FOR UPDATE SKIP LOCKED`, preferring the
//!    session's own) and an unlocked read of the accounts' asset and flags;
//! 2. `apply_and_insert`: in one statement, the accounts locked in ascending id order, the batch's
//!    net movement applied by a guarded increment per account, and — only when every guard passed —
//!    the new transfers inserted and the head moved.
//!
//! A single transfer on its own first tries [`one_statement`], one round trip.
//!
//! Locks are taken in the order chain head → accounts (ascending id), in every transaction, and the
//! account locks are held for that one statement and the commit. An account without any flag (the
//! issuance account every award debits) is not locked at all when the batch only posts on it: its
//! posted amounts go to the account's shard for the chain the batch holds (`ledger_account_shards`),
//! a row no other writer touches meanwhile — so hot-account transfers do not queue on one row. The same
//! goes for the credits of holds placed or resolved on an account whose only limit is *debits must not
//! exceed credits* (a shop's account, credited by every redemption code); before anything debits such
//! an account, `fold.rs` moves its shards' credits back into its row.

mod fold;
mod one_statement;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::LazyLock;

use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Value};

use ehome_entities::ledger_transfer::Model;

use crate::error::LedgerError;
use crate::hash::CHAINS;
use crate::types::{AccountId, MAX_BALANCE, TransferRequest};

use super::chain::{Head, INSERT_COLUMNS, NewRow, Seqs};
use super::guard::{
    MOVEMENT_COLUMNS, MOVEMENT_GUARD, MOVEMENT_SET, Movement, credit_sharded, has_credit_shards, increments_of,
    unflagged,
};
use super::plan::Referenced;
use super::replay::undo_all;
use super::sql::NamedSql;
use super::{AccountInfo, Accounts, Backend, Ids, Shape, Single, Write};

/// The PostgreSQL backend.
pub(super) struct Postgres;

impl Backend for Postgres {
    async fn prepare_transaction(conn: &impl ConnectionTrait) -> Result<(), LedgerError> {
        conn.execute_unprepared("SET LOCAL plan_cache_mode = force_generic_plan").await?;
        Ok(())
    }

    async fn before_close(conn: &impl ConnectionTrait) -> Result<(), LedgerError> {
        // Writing the heads (not only locking them) tells a one-statement writer whose snapshot
        // predates this close that it must not trust the `closed` bit it read (`one_statement.rs`).
        conn.execute_unprepared(
            "UPDATE ledger_chain_head SET last_seq = last_seq \
             WHERE id IN (SELECT id FROM ledger_chain_head ORDER BY id FOR UPDATE)",
        )
        .await?;
        Ok(())
    }

    async fn post_single(
        conn: &impl ConnectionTrait,
        r: &TransferRequest,
        now: i64,
        shape: Shape,
    ) -> Result<Single, LedgerError> {
        one_statement::post(conn, r, now, shape).await
    }

    async fn stored_transfers(conn: &impl ConnectionTrait, referenced: Referenced) -> Result<Vec<Model>, LedgerError> {
        let Referenced { ids, keys, pendings, reversed } = referenced;
        let values = vec![
            ("ids", ids.into()),
            ("keys", keys.into()),
            ("pendings", pendings.into()),
            ("reversed", reversed.into()),
        ];
        let statement = STORED_TRANSFERS.statement(DbBackend::Postgres, values)?;
        Ok(Model::find_by_statement(statement).all(conn).await?)
    }

    async fn read_accounts_and_lock_head(
        conn: &impl ConnectionTrait,
        ids: &Ids,
    ) -> Result<(Accounts, Head), LedgerError> {
        for sql in [&*ACCOUNTS_AND_FREE_HEAD, &*ACCOUNTS_AND_OWN_HEAD] {
            let mut values = vec![("ids", ids_array(ids))];
            if sql.has_parameter("candidates") {
                values.push(("candidates", head_candidates()));
            }
            let rows = conn.query_all_raw(sql.statement(DbBackend::Postgres, values)?).await?;
            let Some(first) = rows.first() else { continue };
            let head = Head::from_row(first)?;
            let mut accounts = HashMap::with_capacity(rows.len());
            for row in &rows {
                if let Some(id) = row.try_get_by_index::<Option<i64>>(3)? {
                    let in_shards = row.try_get_by_index::<Option<bool>>(6)?.unwrap_or(false);
                    let info = AccountInfo::new(row.try_get_by_index(4)?, row.try_get_by_index(5)?, in_shards)?;
                    accounts.insert(AccountId(id), info);
                }
            }
            return Ok((accounts, head));
        }
        Err(LedgerError::Invariant(format!("ledger_chain_head has no row pg_backend_pid() % {CHAINS}")))
    }

    async fn lock_accounts(conn: &impl ConnectionTrait, ids: &Ids) -> Result<(), LedgerError> {
        fold::lock_and_fold(conn, ids, ids).await
    }

    async fn apply_and_insert(conn: &impl ConnectionTrait, write: &Write<'_>) -> Result<Option<Seqs>, LedgerError> {
        apply_and_insert(conn, write).await
    }

    async fn insert(conn: &impl ConnectionTrait, rows: &[NewRow], head: &Head) -> Result<Seqs, LedgerError> {
        let write = Write { movements: &BTreeMap::new(), accounts: &HashMap::new(), rows, head };
        apply_and_insert(conn, &write)
            .await?
            .ok_or_else(|| LedgerError::Invariant("insert without movements refused".into()))
    }
}

/// Heads besides its own that a writer tries before it waits.
const HEAD_CANDIDATES: usize = 7;

/// The random other heads a writer tries after its own: the `int4[]` parameter of [`free_head`].
fn head_candidates() -> Value {
    let others: Vec<i32> = (0..HEAD_CANDIDATES).map(|_| rand::random_range(0..CHAINS)).collect();
    others.into()
}

/// A query that takes the first free chain head among the session's own (`pg_backend_pid() % CHAINS`)
/// and then the `candidates` parameter's, in that order: each looked up by its key and locked
/// `FOR UPDATE SKIP LOCKED` through a lateral join that stops at the first free one (the head rows are
/// updated by every batch, so a scan of the table — which the generic plan of an `id = ANY(…)` chose —
/// reads their dead versions too). No row when all are taken. `columns` of `ledger_chain_head` are
/// returned; `gate` (a `WHERE` clause or nothing) must hold for any head to be taken.
fn free_head(columns: &str, candidates: &str, gate: &str) -> String {
    format!(
        "SELECT c.* FROM unnest(array_prepend((pg_backend_pid() % {CHAINS})::int4, {candidates}::int4[])) AS k(id) \
         CROSS JOIN LATERAL (SELECT {columns} FROM ledger_chain_head WHERE id = k.id FOR UPDATE SKIP LOCKED) c \
         {gate} LIMIT 1"
    )
}

/// The stored transfers with one of these ids, idempotency keys, resolved holds or reversed transfers.
static STORED_TRANSFERS: LazyLock<NamedSql> = LazyLock::new(|| {
    NamedSql::new(
        "SELECT * FROM ledger_transfers WHERE id = ANY(:ids) \
         OR (idempotency_key IS NOT NULL AND idempotency_key = ANY(:keys)) \
         OR (pending_id IS NOT NULL AND pending_id = ANY(:pendings)) \
         OR (reverses IS NOT NULL AND reverses = ANY(:reversed))",
    )
});

/// A chain head (`head`, a query) and the accounts `:ids`, read without a lock, with whether their
/// shards hold credits, in one statement.
fn accounts_and_head(head: &str) -> NamedSql {
    NamedSql::new(&format!(
        "WITH h AS MATERIALIZED ({head}) \
         SELECT h.id, h.last_seq, h.last_hash, a.id, a.asset, a.flags, {} \
         FROM h LEFT JOIN ledger_accounts a ON a.id = ANY(:ids)",
        has_credit_shards("a")
    ))
}

/// First a free head, taken without waiting ([`free_head`]).
static ACCOUNTS_AND_FREE_HEAD: LazyLock<NamedSql> =
    LazyLock::new(|| accounts_and_head(&free_head("id, last_seq, last_hash", ":candidates", "")));

/// Only when all of those tried are taken, the session's own head, waiting for it.
static ACCOUNTS_AND_OWN_HEAD: LazyLock<NamedSql> = LazyLock::new(|| {
    accounts_and_head(&format!(
        "SELECT id, last_seq, last_hash FROM ledger_chain_head WHERE id = pg_backend_pid() % {CHAINS} FOR UPDATE"
    ))
});

/// The ids as an `int8[]` parameter.
fn ids_array(ids: &Ids) -> Value {
    Value::from(ids.iter().map(|id| id.0).collect::<Vec<i64>>())
}

/// Bound of one shard's posted columns: an account's row (at most [`MAX_BALANCE`]) plus all its
/// shards stays far inside `i64`. A shard that would pass it sends the batch down the
/// transfer-by-transfer path, which moves the account's row instead.
const SHARD_MAX: i64 = MAX_BALANCE / CHAINS as i64;

/// The bits of the `t_nulls` mask that mark a transfer's absent optional values (the arrays carry no
/// NULLs).
const NULL_KEY: i32 = 1;
const NULL_PENDING: i32 = 2;
const NULL_REVERSES: i32 = 4;
const NULL_TIMEOUT: i32 = 8;

/// The arrays a batch's new transfers travel in: parameter, element type and column of `t(…)`.
const TRANSFER_ARRAYS: [(&str, &str, &str); 16] = [
    ("t_chain_seq", "int8", "chain_seq"),
    ("t_id", "text", "id"),
    ("t_key", "text", "idempotency_key"),
    ("t_kind", "text", "kind"),
    ("t_debit", "int8", "debit"),
    ("t_credit", "int8", "credit"),
    ("t_asset", "text", "asset"),
    ("t_amount", "int8", "amount"),
    ("t_code", "text", "code"),
    ("t_pending", "text", "pending_id"),
    ("t_reverses", "text", "reverses"),
    ("t_timeout", "int8", "timeout_at_us"),
    ("t_metadata", "text", "metadata"),
    ("t_prev_hash", "text", "prev_hash"),
    ("t_hash", "text", "hash"),
    ("t_nulls", "int4", "nulls"),
];

/// The parameters the batch's net movements travel in: `m_` and a column of [`MOVEMENT_COLUMNS`].
static MOVEMENT_ARRAYS: LazyLock<Vec<String>> =
    LazyLock::new(|| MOVEMENT_COLUMNS.split(", ").map(|c| format!("m_{c}")).collect());

/// `unnest(:a::t[], …) AS alias(columns)` over named array parameters.
fn unnest(arrays: &[(&str, &str)], alias: &str, columns: &str) -> String {
    let arrays: Vec<String> = arrays.iter().map(|(name, ty)| format!(":{name}::{ty}[]")).collect();
    format!("unnest({}) AS {alias}({columns})", arrays.join(", "))
}

/// The one statement of a batch: see [`apply_and_insert`]. `moved` waits for `locked` through an
/// initial plan (`(SELECT count(*) FROM locked) >= 0`, run once before the update) rather than a
/// join: joined, the generic plan rescanned the locked rows for each account, quadratic in the batch
/// size.
static APPLY_AND_INSERT: LazyLock<NamedSql> = LazyLock::new(|| {
    let movement_arrays: Vec<(&str, &str)> = MOVEMENT_ARRAYS
        .iter()
        .map(|name| (name.as_str(), if name == "m_refuse_closed" { "bool" } else { "int8" }))
        .collect();
    let movements = unnest(&movement_arrays, "v", MOVEMENT_COLUMNS);
    let shards = unnest(&SHARD_ARRAYS, "m", SHARD_COLUMNS);
    let transfer_arrays: Vec<(&str, &str)> = TRANSFER_ARRAYS.iter().map(|(n, ty, _)| (*n, *ty)).collect();
    let transfer_columns: Vec<&str> = TRANSFER_ARRAYS.iter().map(|(_, _, c)| *c).collect();
    let transfers = unnest(&transfer_arrays, "t", &transfer_columns.join(", "));
    let (unflagged, credit_sharded) = (unflagged("a.flags"), credit_sharded("a.flags", "m.refuse_closed"));
    let guard = &*MOVEMENT_GUARD;
    NamedSql::new(&format!(
        "WITH locked AS MATERIALIZED ( \
           SELECT id FROM ledger_accounts WHERE id = ANY(:m_id) ORDER BY id FOR NO KEY UPDATE), \
         v AS MATERIALIZED (SELECT * FROM {movements}), \
         moved AS (UPDATE ledger_accounts SET {MOVEMENT_SET} FROM v \
           WHERE (SELECT count(*) FROM locked) >= 0 AND ledger_accounts.id = v.id AND {guard} \
           RETURNING ledger_accounts.id), \
         rows_moved AS MATERIALIZED (SELECT count(*) = cardinality(:m_id::int8[]) AS ok FROM moved), \
         sharded AS (INSERT INTO ledger_account_shards AS s \
             (account_id, shard, debits_posted, credits_posted, credits_pending) \
           SELECT m.id, :chain, m.dp, m.cp, m.cq FROM {shards} JOIN ledger_accounts a ON a.id = m.id \
             AND (({unflagged} AND m.cq = 0) OR ({credit_sharded} AND m.dp = 0)) \
           WHERE (SELECT ok FROM rows_moved) AND m.dp <= {SHARD_MAX} AND m.cp <= {SHARD_MAX} \
             AND m.cq BETWEEN -{SHARD_MAX} AND {SHARD_MAX} \
           ON CONFLICT (account_id, shard) DO UPDATE SET debits_posted = s.debits_posted + excluded.debits_posted, \
             credits_posted = s.credits_posted + excluded.credits_posted, \
             credits_pending = s.credits_pending + excluded.credits_pending \
           WHERE s.debits_posted <= {SHARD_MAX} - excluded.debits_posted \
             AND s.credits_posted <= {SHARD_MAX} - excluded.credits_posted \
             AND s.credits_pending + excluded.credits_pending BETWEEN -{SHARD_MAX} AND {SHARD_MAX} \
           RETURNING account_id), \
         ok AS MATERIALIZED (SELECT (SELECT ok FROM rows_moved) AND count(*) = cardinality(:s_id::int8[]) AS all_moved \
           FROM sharded), \
         ins AS (INSERT INTO ledger_transfers ({INSERT_COLUMNS}) \
           SELECT :chain::int4, t.chain_seq, t.id, CASE WHEN t.nulls & {NULL_KEY} = 0 THEN t.idempotency_key END, \
             t.kind, t.debit, t.credit, t.asset, t.amount, t.code, \
             CASE WHEN t.nulls & {NULL_PENDING} = 0 THEN t.pending_id END, \
             CASE WHEN t.nulls & {NULL_REVERSES} = 0 THEN t.reverses END, \
             CASE WHEN t.nulls & {NULL_TIMEOUT} = 0 THEN t.timeout_at_us END, \
             t.metadata, :created_at::int8, t.prev_hash, t.hash \
           FROM {transfers} \
           WHERE (SELECT all_moved FROM ok) ORDER BY t.chain_seq \
           RETURNING chain_seq, seq), \
         head AS (UPDATE ledger_chain_head SET last_seq = :last_seq, last_hash = :last_hash \
           WHERE id = :chain AND cardinality(:t_chain_seq::int8[]) > 0 AND (SELECT all_moved FROM ok)) \
         SELECT chain_seq, seq FROM ins UNION ALL SELECT -1, id FROM moved UNION ALL SELECT -2, account_id FROM sharded"
    ))
});

/// Applies `movements` and, when every account's guard passed, inserts `rows` (linked after `head`)
/// and moves the head — one statement. Returns the seq of each chain position, or `None` when some
/// guard refused: then nothing is inserted and the movements that were applied are undone (the rows
/// stay locked, for the transfer-by-transfer replay).
async fn apply_and_insert(conn: &impl ConnectionTrait, write: &Write<'_>) -> Result<Option<Seqs>, LedgerError> {
    let Write { movements, accounts, rows, head } = *write;
    let (on_shards, on_rows): (BTreeMap<AccountId, Movement>, BTreeMap<AccountId, Movement>) =
        movements.iter().partition(|(id, m)| accounts.get(id).is_some_and(|info| goes_to_shard(info, m)));
    // A row about to be debited, or to release a hold, must count the credits its shards hold.
    let to_fold: Ids = on_rows
        .iter()
        .filter(|(id, m)| {
            !m.posted_credits_only() && accounts.get(id).is_some_and(|a| a.credit_sharded() && a.credits_in_shards)
        })
        .map(|(id, _)| *id)
        .collect();
    if !to_fold.is_empty() {
        fold::lock_and_fold(conn, &on_rows.keys().copied().collect(), &to_fold).await?;
    }
    let (last_seq, last_hash) =
        rows.last().map_or((head.last_seq, head.last_hash.clone()), |(_, r)| (r.chain_seq, r.hash.clone()));
    let mut values = movement_columns(&on_rows);
    values.extend(shard_columns(&on_shards));
    values.extend(transfer_columns(rows));
    values.extend([
        ("chain", head.chain_id.into()),
        ("created_at", rows.first().map_or(0, |(_, r)| r.created_at_us).into()),
        ("last_seq", last_seq.into()),
        ("last_hash", last_hash.into()),
    ]);
    let returned = conn.query_all_raw(APPLY_AND_INSERT.statement(DbBackend::Postgres, values)?).await?;
    let mut seqs = HashMap::with_capacity(rows.len());
    let (mut moved, mut sharded) = (BTreeSet::new(), BTreeSet::new());
    for row in returned {
        let (chain_seq, n): (i64, i64) = (row.try_get_by_index(0)?, row.try_get_by_index(1)?);
        match chain_seq {
            -1 => moved.insert(n),
            -2 => sharded.insert(n),
            _ => seqs.insert(chain_seq, n).is_none(),
        };
    }
    if moved.len() == on_rows.len() && sharded.len() == on_shards.len() {
        return Ok(Some(seqs));
    }
    undo_all(conn, &increments_of(on_rows.iter().filter(|(id, _)| moved.contains(&id.0)))).await?;
    let undone: BTreeMap<AccountId, Movement> =
        on_shards.into_iter().filter(|(id, _)| sharded.contains(&id.0)).collect();
    undo_shards(conn, &undone, head.chain_id).await?;
    Ok(None)
}

/// Whether a batch's movement on an account goes to the account's shard for the chain held rather
/// than to its row: posted amounts of an account without limits, and the credits of holds placed or
/// resolved on an account whose only limit is *debits must not exceed credits* (a closed one takes
/// only releases). The statement checks the flags again as it writes.
fn goes_to_shard(info: &AccountInfo, m: &Movement) -> bool {
    (info.unlimited() && m.posted_only())
        || (info.credit_sharded() && m.hold_credits_only() && !(m.refuse_closed && info.flags.closed()))
}

/// Takes back what a refused batch added to the shards of the chain it holds.
async fn undo_shards(
    conn: &impl ConnectionTrait,
    undone: &BTreeMap<AccountId, Movement>,
    chain_id: i32,
) -> Result<(), LedgerError> {
    if undone.is_empty() {
        return Ok(());
    }
    let sql = NamedSql::new(&format!(
        "UPDATE ledger_account_shards SET debits_posted = debits_posted - m.dp, \
           credits_posted = credits_posted - m.cp, credits_pending = credits_pending - m.cq \
         FROM {} WHERE account_id = m.id AND shard = :chain",
        unnest(&SHARD_ARRAYS, "m", SHARD_COLUMNS)
    ));
    let mut values = shard_columns(undone);
    values.push(("chain", chain_id.into()));
    conn.execute_raw(sql.statement(DbBackend::Postgres, values)?).await?;
    Ok(())
}

/// The movements applied to the account rows, as the `m_…` arrays.
fn movement_columns(movements: &BTreeMap<AccountId, Movement>) -> Vec<(&'static str, Value)> {
    let mut columns: [Vec<i64>; 11] = Default::default();
    let mut refuse_closed = Vec::with_capacity(movements.len());
    for (id, m) in movements {
        for (column, value) in columns.iter_mut().zip(m.values(*id)) {
            column.push(value);
        }
        refuse_closed.push(m.refuse_closed);
    }
    let values = columns.into_iter().map(Value::from).chain([Value::from(refuse_closed)]);
    MOVEMENT_ARRAYS.iter().map(String::as_str).zip(values).collect()
}

/// The arrays the movements added to the shards travel in, and their columns in `m(…)`.
const SHARD_ARRAYS: [(&str, &str); 5] =
    [("s_id", "int8"), ("s_dp", "int8"), ("s_cp", "int8"), ("s_cq", "int8"), ("s_rc", "bool")];
const SHARD_COLUMNS: &str = "id, dp, cp, cq, refuse_closed";

/// Movements added to the shards as the [`SHARD_ARRAYS`] (account ids, debits posted, credits posted,
/// credits pending, whether a closed account refuses them).
fn shard_columns(movements: &BTreeMap<AccountId, Movement>) -> Vec<(&'static str, Value)> {
    let column = |f: fn(&Movement) -> i64| Value::from(movements.values().map(f).collect::<Vec<i64>>());
    let ids: Vec<i64> = movements.keys().map(|id| id.0).collect();
    let refuse_closed: Vec<bool> = movements.values().map(|m| m.refuse_closed).collect();
    vec![
        ("s_id", ids.into()),
        ("s_dp", column(|m| m.debits_posted)),
        ("s_cp", column(|m| m.credits_posted)),
        ("s_cq", column(|m| m.credits_pending)),
        ("s_rc", refuse_closed.into()),
    ]
}

/// The transfers as the [`TRANSFER_ARRAYS`]; absent optional values are marked in `t_nulls`.
fn transfer_columns(rows: &[NewRow]) -> Vec<(&'static str, Value)> {
    let n = rows.len();
    let mut integers: [Vec<i64>; 5] = std::array::from_fn(|_| Vec::with_capacity(n));
    let mut texts: [Vec<String>; 10] = std::array::from_fn(|_| Vec::with_capacity(n));
    let mut nulls: Vec<i32> = Vec::with_capacity(n);
    for (_, r) in rows {
        let row_integers =
            [r.chain_seq, r.debit_account_id, r.credit_account_id, r.amount, r.timeout_at_us.unwrap_or(0)];
        for (column, value) in integers.iter_mut().zip(row_integers) {
            column.push(value);
        }
        let absent = [
            (r.idempotency_key.is_none(), NULL_KEY),
            (r.pending_id.is_none(), NULL_PENDING),
            (r.reverses.is_none(), NULL_REVERSES),
            (r.timeout_at_us.is_none(), NULL_TIMEOUT),
        ];
        nulls.push(absent.iter().filter(|(is_none, _)| *is_none).fold(0, |mask, (_, bit)| mask | bit));
        let row_texts = [
            r.id.clone(),
            r.idempotency_key.clone().unwrap_or_default(),
            r.kind.clone(),
            r.asset.clone(),
            r.code.clone(),
            r.pending_id.clone().unwrap_or_default(),
            r.reverses.clone().unwrap_or_default(),
            r.metadata.clone(),
            r.prev_hash.clone(),
            r.hash.clone(),
        ];
        for (column, text) in texts.iter_mut().zip(row_texts) {
            column.push(text);
        }
    }
    let [chain_seq, debit, credit, amount, timeout] = integers.map(Value::from);
    let [id, key, kind, asset, code, pending, reverses, metadata, prev_hash, hash] = texts.map(Value::from);
    let values = [
        chain_seq,
        id,
        key,
        kind,
        debit,
        credit,
        asset,
        amount,
        code,
        pending,
        reverses,
        timeout,
        metadata,
        prev_hash,
        hash,
        nulls.into(),
    ];
    TRANSFER_ARRAYS.iter().map(|(name, _, _)| *name).zip(values).collect()
}
