//! PostgreSQL's write path: few round trips, fixed-shape statements, short locks.
//!
//! Every statement here has one text whatever the batch size — the rows travel as arrays
//! (`unnest($n::int8[], …)`), so each connection prepares it once — and a batch takes, after its
//! read of the stored transfers it names:
//! 1. [`read_accounts_and_lock_head`]: any free chain head (`FOR UPDATE SKIP LOCKED`, preferring the
//!    session's own) and an unlocked read of the accounts' asset and flags;
//! 2. [`apply_and_insert`]: in one statement, the accounts locked in ascending id order, the batch's
//!    net movement applied by a guarded increment per account, and — only when every guard passed —
//!    the new transfers inserted and the head moved.
//!
//! Locks are taken in the order chain head → accounts (ascending id), in every transaction, and the
//! account locks are held for that one statement and the commit. An account without limit flags (the
//! issuance account every award debits) is not locked at all when the batch only posts on it: its
//! posted amounts go to the account's shard for the chain the batch holds (`ledger_account_shards`),
//! a row no other writer touches meanwhile — so hot-account transfers do not queue on one row.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement, Value};

use ehome_entities::ledger_transfer;

use super::{
    AccountInfo, Head, INSERT_COLUMNS, MOVEMENT_GUARD, MOVEMENT_SET, Movement, Referenced, account_info, increments_of,
    undo_all,
};
use crate::error::LedgerError;
use crate::hash::CHAINS;
use crate::types::{AccountId, MAX_BALANCE};

/// Heads besides its own that a writer tries before it waits.
const HEAD_CANDIDATES: usize = 7;

/// The random other heads a writer tries after its own: the `int4[]` parameter of [`free_head`].
pub(super) fn head_candidates() -> Value {
    let others: Vec<i32> = (0..HEAD_CANDIDATES).map(|_| rand::random_range(0..CHAINS)).collect();
    others.into()
}

/// A query that takes the first free chain head among the session's own (`pg_backend_pid() % CHAINS`)
/// and then the `candidates` parameter's, in that order: each looked up by its key and locked
/// `FOR UPDATE SKIP LOCKED` through a lateral join that stops at the first free one (the head rows are
/// updated by every batch, so a scan of the table — which the generic plan of an `id = ANY(…)` chose —
/// reads their dead versions too). No row when all are taken. `columns` of `ledger_chain_head` are
/// returned; `gate` (a `WHERE` clause or nothing) must hold for any head to be taken.
pub(super) fn free_head(columns: &str, candidates: &str, gate: &str) -> String {
    format!(
        "SELECT c.* FROM unnest(array_prepend((pg_backend_pid() % {CHAINS})::int4, {candidates}::int4[])) AS k(id) \
         CROSS JOIN LATERAL (SELECT {columns} FROM ledger_chain_head WHERE id = k.id FOR UPDATE SKIP LOCKED) c \
         {gate} LIMIT 1"
    )
}

fn statement(sql: impl Into<String>, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

fn ids_array(ids: &BTreeSet<AccountId>) -> Value {
    Value::from(ids.iter().map(|id| id.0).collect::<Vec<i64>>())
}

/// The stored transfers with one of these ids, idempotency keys, resolved holds or reversed transfers.
pub(super) async fn stored_transfers(
    conn: &impl ConnectionTrait,
    referenced: Referenced,
) -> Result<Vec<ledger_transfer::Model>, LedgerError> {
    let Referenced { ids, keys, pendings, reversed } = referenced;
    let sql = "SELECT * FROM ledger_transfers WHERE id = ANY($1) \
               OR (idempotency_key IS NOT NULL AND idempotency_key = ANY($2)) \
               OR (pending_id IS NOT NULL AND pending_id = ANY($3)) \
               OR (reverses IS NOT NULL AND reverses = ANY($4))";
    let values = vec![ids.into(), keys.into(), pendings.into(), reversed.into()];
    Ok(ledger_transfer::Model::find_by_statement(statement(sql, values)).all(conn).await?)
}

/// Takes a chain head and reads the accounts. A free head is taken without waiting ([`free_head`]);
/// only when all of those tried are taken does it wait for its own.
pub(super) async fn read_accounts_and_lock_head(
    conn: &impl ConnectionTrait,
    ids: &BTreeSet<AccountId>,
) -> Result<(HashMap<AccountId, AccountInfo>, Head), LedgerError> {
    let own = format!("pg_backend_pid() % {CHAINS}");
    for wait in [false, true] {
        let mut values = vec![ids_array(ids)];
        let head = if wait {
            format!("SELECT id, last_seq, last_hash FROM ledger_chain_head WHERE id = {own} FOR UPDATE")
        } else {
            values.push(head_candidates());
            free_head("id, last_seq, last_hash", "$2", "")
        };
        let sql = format!(
            "WITH h AS MATERIALIZED ({head}) \
             SELECT h.id, h.last_seq, h.last_hash, a.id, a.asset, a.flags \
             FROM h LEFT JOIN ledger_accounts a ON a.id = ANY($1)"
        );
        let rows = conn.query_all_raw(statement(sql, values)).await?;
        let Some(first) = rows.first() else { continue };
        let head = Head::from_row(first)?;
        let mut accounts = HashMap::with_capacity(rows.len());
        for row in &rows {
            if let Some(id) = row.try_get_by_index::<Option<i64>>(3)? {
                let info = account_info(row.try_get_by_index(4)?, row.try_get_by_index(5)?)?;
                accounts.insert(AccountId(id), info);
            }
        }
        return Ok((accounts, head));
    }
    Err(LedgerError::Invariant(format!("ledger_chain_head has no row pg_backend_pid() % {CHAINS}")))
}

/// Locks accounts in ascending id order (before transfer-by-transfer updates).
pub(super) async fn lock_accounts(conn: &impl ConnectionTrait, ids: &BTreeSet<AccountId>) -> Result<(), LedgerError> {
    let sql = "SELECT id FROM ledger_accounts WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE";
    conn.query_all_raw(statement(sql, vec![ids_array(ids)])).await?;
    Ok(())
}

/// Applies `movements` and, when every account's guard passed, inserts `rows` (linked after `head`)
/// and moves the head — one statement. Returns the seq of each chain position, or `None` when some
/// guard refused: then nothing is inserted and the movements that were applied are undone (the rows
/// stay locked, for the transfer-by-transfer replay).
pub(super) async fn apply_and_insert(
    conn: &impl ConnectionTrait,
    movements: &BTreeMap<AccountId, Movement>,
    accounts: &HashMap<AccountId, AccountInfo>,
    rows: &[(usize, ledger_transfer::Model)],
    head: &Head,
) -> Result<Option<HashMap<i64, i64>>, LedgerError> {
    // `moved` waits for `locked` through an initial plan (`(SELECT count(*) FROM locked) >= 0`, run once
    // before the update) rather than a join: joined, the generic plan rescanned the locked rows for each
    // account, quadratic in the batch size.
    let sql = format!(
        "WITH locked AS MATERIALIZED ( \
           SELECT id FROM ledger_accounts WHERE id = ANY($2) ORDER BY id FOR NO KEY UPDATE), \
         v AS MATERIALIZED (SELECT * FROM unnest($2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], \
             $7::int8[], $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::int8[], $13::bool[]) \
           AS v(id, dp, dq, cp, cq, dq_up, cq_up, dq_down, cq_down, d_up, c_up, refuse_closed)), \
         moved AS (UPDATE ledger_accounts SET {MOVEMENT_SET} FROM v \
           WHERE (SELECT count(*) FROM locked) >= 0 AND ledger_accounts.id = v.id AND {MOVEMENT_GUARD} \
           RETURNING ledger_accounts.id), \
         rows_moved AS MATERIALIZED (SELECT count(*) = cardinality($2::int8[]) AS ok FROM moved), \
         sharded AS (INSERT INTO ledger_account_shards AS s (account_id, shard, debits_posted, credits_posted) \
           SELECT m.id, $14, m.dp, m.cp FROM unnest($34::int8[], $35::int8[], $36::int8[]) AS m(id, dp, cp) \
             JOIN ledger_accounts a ON a.id = m.id AND a.flags = 0 \
           WHERE (SELECT ok FROM rows_moved) AND m.dp <= $37 AND m.cp <= $37 \
           ON CONFLICT (account_id, shard) DO UPDATE SET debits_posted = s.debits_posted + excluded.debits_posted, \
             credits_posted = s.credits_posted + excluded.credits_posted \
           WHERE s.debits_posted <= $37 - excluded.debits_posted AND s.credits_posted <= $37 - excluded.credits_posted \
           RETURNING account_id), \
         ok AS MATERIALIZED (SELECT (SELECT ok FROM rows_moved) AND count(*) = cardinality($34::int8[]) AS all_moved \
           FROM sharded), \
         ins AS (INSERT INTO ledger_transfers ({INSERT_COLUMNS}) \
           SELECT $14::int4, t.chain_seq, t.id, CASE WHEN t.nulls & 1 = 0 THEN t.idempotency_key END, t.kind, \
             t.debit, t.credit, t.asset, t.amount, t.code, CASE WHEN t.nulls & 2 = 0 THEN t.pending_id END, \
             CASE WHEN t.nulls & 4 = 0 THEN t.reverses END, CASE WHEN t.nulls & 8 = 0 THEN t.timeout_at_us END, \
             t.metadata, $15::int8, t.prev_hash, t.hash \
           FROM unnest($16::int8[], $17::text[], $18::text[], $19::text[], $20::int8[], $21::int8[], $22::text[], \
             $23::int8[], $24::text[], $25::text[], $26::text[], $27::int8[], $28::text[], $29::text[], \
             $30::text[], $31::int4[]) \
           AS t(chain_seq, id, idempotency_key, kind, debit, credit, asset, amount, code, pending_id, reverses, \
             timeout_at_us, metadata, prev_hash, hash, nulls) \
           WHERE (SELECT all_moved FROM ok) ORDER BY t.chain_seq \
           RETURNING chain_seq, seq), \
         head AS (UPDATE ledger_chain_head SET last_seq = $32, last_hash = $33 \
           WHERE id = $14 AND cardinality($16::int8[]) > 0 AND (SELECT all_moved FROM ok)) \
         SELECT chain_seq, seq FROM ins UNION ALL SELECT -1, id FROM moved UNION ALL SELECT -2, account_id FROM sharded"
    );
    let (on_shards, on_rows): (BTreeMap<AccountId, Movement>, BTreeMap<AccountId, Movement>) =
        movements.iter().partition(|(id, m)| m.posted_only() && accounts.get(id).is_some_and(AccountInfo::unlimited));
    let mut columns: [Vec<i64>; 11] = Default::default();
    let mut refuse_closed = Vec::with_capacity(on_rows.len());
    for (id, m) in &on_rows {
        for (column, value) in columns.iter_mut().zip(m.values(*id)) {
            column.push(value);
        }
        refuse_closed.push(m.refuse_closed);
    }
    let mut values: Vec<Value> = vec![MAX_BALANCE.into()];
    values.extend(columns.into_iter().map(Value::from));
    values.push(refuse_closed.into());
    values.push(head.chain_id.into());
    values.push(rows.first().map_or(0, |(_, r)| r.created_at_us).into());
    values.extend(transfer_columns(rows));
    let (last_seq, last_hash) =
        rows.last().map_or((head.last_seq, head.last_hash.clone()), |(_, r)| (r.chain_seq, r.hash.clone()));
    values.push(last_seq.into());
    values.push(last_hash.into());
    values.extend(shard_columns(&on_shards));
    values.push(SHARD_MAX.into());
    let returned = conn.query_all_raw(statement(sql, values)).await?;
    let mut seqs = HashMap::with_capacity(rows.len());
    let (mut moved, mut sharded) = (BTreeSet::new(), BTreeSet::new());
    for row in returned {
        let (chain_seq, n): (i64, i64) = (row.try_get_by_index(0)?, row.try_get_by_index(1)?);
        match chain_seq {
            -1 => {
                moved.insert(n);
            }
            -2 => {
                sharded.insert(n);
            }
            _ => {
                seqs.insert(chain_seq, n);
            }
        }
    }
    if moved.len() == on_rows.len() && sharded.len() == on_shards.len() {
        return Ok(Some(seqs));
    }
    undo_all(conn, &increments_of(on_rows.iter().filter(|(id, _)| moved.contains(&id.0)))).await?;
    let undone: BTreeMap<AccountId, Movement> =
        on_shards.into_iter().filter(|(id, _)| sharded.contains(&id.0)).collect();
    if !undone.is_empty() {
        let sql = "UPDATE ledger_account_shards SET debits_posted = debits_posted - m.dp, \
                   credits_posted = credits_posted - m.cp \
                   FROM unnest($1::int8[], $2::int8[], $3::int8[]) AS m(id, dp, cp) \
                   WHERE account_id = m.id AND shard = $4";
        let mut values = shard_columns(&undone);
        values.push(head.chain_id.into());
        conn.execute_raw(statement(sql, values)).await?;
    }
    Ok(None)
}

/// Bound of one shard's posted columns: an account's row (at most [`MAX_BALANCE`]) plus all its
/// shards stays far inside `i64`. A shard that would pass it sends the batch down the
/// transfer-by-transfer path, which moves the account's row instead.
pub(super) const SHARD_MAX: i64 = MAX_BALANCE / CHAINS as i64;

/// Movements added to the shards (account ids, debits posted, credits posted) as three arrays.
fn shard_columns(movements: &BTreeMap<AccountId, Movement>) -> Vec<Value> {
    let ids: Vec<i64> = movements.keys().map(|id| id.0).collect();
    let debits: Vec<i64> = movements.values().map(|m| m.debits_posted).collect();
    let credits: Vec<i64> = movements.values().map(|m| m.credits_posted).collect();
    vec![ids.into(), debits.into(), credits.into()]
}

/// The transfers as the 16 arrays `apply_and_insert` unnests ($16 to $31); absent optional values are
/// marked in a bit mask, since the arrays carry no NULLs.
fn transfer_columns(rows: &[(usize, ledger_transfer::Model)]) -> Vec<Value> {
    let n = rows.len();
    let (mut chain_seq, mut debit, mut credit, mut amount, mut timeout) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let mut texts: [Vec<String>; 10] = Default::default();
    let mut nulls: Vec<i32> = Vec::with_capacity(n);
    for (_, r) in rows {
        chain_seq.push(r.chain_seq);
        debit.push(r.debit_account_id);
        credit.push(r.credit_account_id);
        amount.push(r.amount);
        timeout.push(r.timeout_at_us.unwrap_or(0));
        let mask = i32::from(r.idempotency_key.is_none())
            | i32::from(r.pending_id.is_none()) << 1
            | i32::from(r.reverses.is_none()) << 2
            | i32::from(r.timeout_at_us.is_none()) << 3;
        nulls.push(mask);
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
    let [id, key, kind, asset, code, pending, reverses, metadata, prev_hash, hash] = texts;
    vec![
        chain_seq.into(),
        id.into(),
        key.into(),
        kind.into(),
        debit.into(),
        credit.into(),
        asset.into(),
        amount.into(),
        code.into(),
        pending.into(),
        reverses.into(),
        timeout.into(),
        metadata.into(),
        prev_hash.into(),
        hash.into(),
        nulls.into(),
    ]
}
