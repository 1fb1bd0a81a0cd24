//! Making an account's row exact again: the credits its shards hold folded into it.
//!
//! An account whose only limit is *debits must not exceed credits* (a shop's points) keeps the
//! credits of the holds towards it — placed, captured, voided, expired — in its shard of the chain
//! each writer holds, so the codes of one shop do not queue on its row. Its guard, and the
//! transfer-by-transfer path, read the row alone; before anything debits it (a refund, a settlement)
//! or releases a hold on its row, the row must count every credit of its shards:
//!
//! 1. the accounts are locked (ascending id, as everywhere), and every one of those that may keep
//!    credits in shards and holds some gets all its [`CHAINS`] shard rows, created where missing
//!    (`ON CONFLICT DO NOTHING` waits for a writer inserting the same row, so once this statement
//!    returns, every shard row of the account exists and is committed or ours);
//! 2. the shard rows of those accounts are locked and read (`FOR UPDATE`, the latest versions): with
//!    all of them present, that is the exact sum of the account's shards — a single shard's pending
//!    credits may be negative (a hold placed on one chain and resolved on another), the sum never is;
//! 3. what was read is moved from the shards to the rows in one statement.
//!
//! The shard rows stay locked to the commit, so nothing adds to them meanwhile and the row stays
//! exact for the rest of the transaction. Writers of those shards wait for it; they lock nothing this
//! transaction waits for after step 1 (a shard write comes after its own row locks), so no cycle forms.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use sea_orm::{ConnectionTrait, DbBackend, Value};

use super::ids_array;
use crate::error::LedgerError;
use crate::hash::CHAINS;
use crate::store::Ids;
use crate::store::guard::has_credit_shards;
use crate::store::sql::NamedSql;
use crate::types::MAX_BALANCE;

/// Step 1: locks `:all`, answers those of `:candidates` whose shards hold credits, and creates their
/// missing shard rows.
static LOCK_AND_COMPLETE: LazyLock<NamedSql> = LazyLock::new(|| {
    NamedSql::new(&format!(
        "WITH locked AS MATERIALIZED ( \
           SELECT id, flags FROM ledger_accounts WHERE id = ANY(:all) ORDER BY id FOR NO KEY UPDATE), \
         folded AS MATERIALIZED (SELECT l.id FROM locked l WHERE l.id = ANY(:candidates) AND {}), \
         completed AS (INSERT INTO ledger_account_shards \
             (account_id, shard, debits_posted, credits_posted, credits_pending) \
           SELECT f.id, g, 0, 0, 0 FROM folded f CROSS JOIN generate_series(0, {}) AS g \
           ON CONFLICT (account_id, shard) DO NOTHING) \
         SELECT id FROM folded",
        has_credit_shards("l"),
        CHAINS - 1
    ))
});

/// Step 2: every shard row of `:ids` that holds a credit, locked (every row of the account is locked,
/// so that none changes before the commit).
static READ_SHARDS: LazyLock<NamedSql> = LazyLock::new(|| {
    NamedSql::new(
        "SELECT account_id, shard, credits_posted, credits_pending FROM ( \
           SELECT * FROM ledger_account_shards WHERE account_id = ANY(:ids) \
           ORDER BY account_id, shard FOR UPDATE) s \
         WHERE credits_posted <> 0 OR credits_pending <> 0",
    )
});

/// Step 3: moves what was read from the shards (`f_…`) to the rows (`r_…`).
static MOVE_TO_ROWS: LazyLock<NamedSql> = LazyLock::new(|| {
    NamedSql::new(
        "WITH emptied AS (UPDATE ledger_account_shards s \
           SET credits_posted = s.credits_posted - f.cp, credits_pending = s.credits_pending - f.cq \
           FROM unnest(:f_id::int8[], :f_shard::int4[], :f_cp::int8[], :f_cq::int8[]) AS f(id, shard, cp, cq) \
           WHERE s.account_id = f.id AND s.shard = f.shard) \
         UPDATE ledger_accounts a SET credits_posted = a.credits_posted + r.cp, \
           credits_pending = a.credits_pending + r.cq \
         FROM unnest(:r_id::int8[], :r_cp::int8[], :r_cq::int8[]) AS r(id, cp, cq) WHERE a.id = r.id",
    )
});

/// Locks the accounts `all` in ascending id order and folds the credits held by the shards of those of
/// `candidates` that may keep some into their rows (see the module documentation).
pub(in crate::store) async fn lock_and_fold(
    conn: &impl ConnectionTrait,
    all: &Ids,
    candidates: &Ids,
) -> Result<(), LedgerError> {
    if all.is_empty() {
        return Ok(());
    }
    let values = vec![("all", ids_array(all)), ("candidates", ids_array(candidates))];
    let folded = conn.query_all_raw(LOCK_AND_COMPLETE.statement(DbBackend::Postgres, values)?).await?;
    let ids: Vec<i64> = folded.iter().map(|row| row.try_get_by_index(0)).collect::<Result<_, _>>()?;
    if ids.is_empty() {
        return Ok(());
    }
    let shards = conn.query_all_raw(READ_SHARDS.statement(DbBackend::Postgres, vec![("ids", ids.into())])?).await?;
    let mut from: [Vec<i64>; 3] = Default::default();
    let mut shard_numbers: Vec<i32> = Vec::with_capacity(shards.len());
    let mut sums: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for row in &shards {
        let (id, shard): (i64, i32) = (row.try_get_by_index(0)?, row.try_get_by_index(1)?);
        let (cp, cq): (i64, i64) = (row.try_get_by_index(2)?, row.try_get_by_index(3)?);
        for (column, value) in from.iter_mut().zip([id, cp, cq]) {
            column.push(value);
        }
        shard_numbers.push(shard);
        let sum = sums.entry(id).or_default();
        let add =
            |a: i64, b: i64| a.checked_add(b).filter(|s| s.abs() <= MAX_BALANCE).ok_or(LedgerError::AmountOverflow);
        *sum = (add(sum.0, cp)?, add(sum.1, cq)?);
    }
    if sums.is_empty() {
        return Ok(());
    }
    let [f_id, f_cp, f_cq] = from.map(Value::from);
    let values = vec![
        ("f_id", f_id),
        ("f_shard", shard_numbers.into()),
        ("f_cp", f_cp),
        ("f_cq", f_cq),
        ("r_id", sums.keys().copied().collect::<Vec<i64>>().into()),
        ("r_cp", sums.values().map(|s| s.0).collect::<Vec<i64>>().into()),
        ("r_cq", sums.values().map(|s| s.1).collect::<Vec<i64>>().into()),
    ];
    conn.execute_raw(MOVE_TO_ROWS.statement(DbBackend::Postgres, values)?).await?;
    Ok(())
}
