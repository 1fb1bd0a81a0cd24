//! SQLite's half of the store ([`Backend`]): one writer holds the database lock for the whole
//! transaction, so there is one chain head, no account lock to take and no shard to spread a hot
//! account over. A batch's statements follow its size (`IN` lists, multi-row `VALUES`), numbered by
//! code; SQLite prepares each shape once in the connection's statement cache.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sea_orm::sea_query::Condition;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement, Value};

use ehome_entities::ledger_transfer::{self, Column, Entity, Model};

use crate::error::LedgerError;
use crate::types::{AccountId, TransferRequest};

use super::chain::{Head, INSERT_COLUMNS, NewRow, Seqs};
use super::guard::{MOVEMENT_COLUMNS, MOVEMENT_GUARD, MOVEMENT_SET, Movement, increments_of};
use super::plan::Referenced;
use super::replay::undo_all;
use super::sql::placeholders;
use super::{AccountInfo, Accounts, Backend, Ids, Shape, Single, Write};

/// The SQLite backend.
pub(super) struct Sqlite;

impl Backend for Sqlite {
    async fn prepare_transaction(_conn: &impl ConnectionTrait) -> Result<(), LedgerError> {
        Ok(())
    }

    async fn before_close(_conn: &impl ConnectionTrait) -> Result<(), LedgerError> {
        // The closing transaction holds the database lock: no writer runs beside it.
        Ok(())
    }

    async fn post_single(
        _: &impl ConnectionTrait,
        _: &TransferRequest,
        _: i64,
        _: Shape,
    ) -> Result<Single, LedgerError> {
        // The general path is already one writer's few statements on a local file.
        Ok(None)
    }

    async fn stored_transfers(conn: &impl ConnectionTrait, referenced: Referenced) -> Result<Vec<Model>, LedgerError> {
        let Referenced { ids, keys, pendings, reversed } = referenced;
        let mut cond = Condition::any().add(Column::Id.is_in(ids));
        for (column, values) in
            [(Column::IdempotencyKey, keys), (Column::PendingId, pendings), (Column::Reverses, reversed)]
        {
            if !values.is_empty() {
                cond = cond.add(column.is_in(values));
            }
        }
        Ok(Entity::find().filter(cond).all(conn).await?)
    }

    async fn read_accounts_and_lock_head(
        conn: &impl ConnectionTrait,
        ids: &Ids,
    ) -> Result<(Accounts, Head), LedgerError> {
        Ok((read_accounts(conn, ids).await?, read_head(conn).await?))
    }

    async fn lock_accounts(_conn: &impl ConnectionTrait, _ids: &Ids) -> Result<(), LedgerError> {
        // The transaction's database lock covers every account.
        Ok(())
    }

    async fn apply_and_insert(conn: &impl ConnectionTrait, write: &Write<'_>) -> Result<Option<Seqs>, LedgerError> {
        if !apply_movements(conn, write.movements).await? {
            return Ok(None);
        }
        Ok(Some(insert_rows(conn, write.rows).await?))
    }

    async fn insert(conn: &impl ConnectionTrait, rows: &[NewRow], _head: &Head) -> Result<Seqs, LedgerError> {
        insert_rows(conn, rows).await
    }
}

/// SQLite's one chain head (its one writer holds the database lock).
async fn read_head(conn: &impl ConnectionTrait) -> Result<Head, LedgerError> {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT id, last_seq, last_hash FROM ledger_chain_head WHERE id = 0",
        ))
        .await?
        .ok_or_else(|| LedgerError::Invariant("ledger_chain_head has no row".into()))?;
    Head::from_row(&row)
}

/// Reads the accounts' asset and flags. The asset and the limit bits never change; the `closed` bit
/// read here is checked again by the guarded update.
async fn read_accounts(conn: &impl ConnectionTrait, ids: &Ids) -> Result<Accounts, LedgerError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!("SELECT id, asset, flags FROM ledger_accounts WHERE id IN ({})", placeholders(1, ids.len()));
    let values: Vec<Value> = ids.iter().map(|id| id.0.into()).collect();
    let rows = conn.query_all_raw(Statement::from_sql_and_values(conn.get_database_backend(), sql, values)).await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        let info = AccountInfo::new(row.try_get_by_index(1)?, row.try_get_by_index(2)?, false)?;
        out.insert(AccountId(row.try_get_by_index(0)?), info);
    }
    Ok(out)
}

/// Applies a whole batch's net movements in one guarded statement. Returns `false`, with nothing
/// changed, when some account's guard refused.
async fn apply_movements(
    conn: &impl ConnectionTrait,
    movements: &BTreeMap<AccountId, Movement>,
) -> Result<bool, LedgerError> {
    if movements.is_empty() {
        return Ok(true);
    }
    let width = MOVEMENT_COLUMNS.split(',').count();
    let mut values: Vec<Value> = Vec::with_capacity(movements.len() * width);
    let mut rows = Vec::with_capacity(movements.len());
    for (id, m) in movements {
        rows.push(format!("({})", placeholders(values.len() + 1, width)));
        values.extend(m.values(*id).into_iter().map(Value::from));
        values.push(m.refuse_closed.into());
    }
    let sql = format!(
        "WITH v({MOVEMENT_COLUMNS}) AS (VALUES {}) \
         UPDATE ledger_accounts SET {MOVEMENT_SET} FROM v WHERE ledger_accounts.id = v.id AND {} \
         RETURNING ledger_accounts.id",
        rows.join(", "),
        *MOVEMENT_GUARD
    );
    let updated = conn.query_all_raw(Statement::from_sql_and_values(conn.get_database_backend(), sql, values)).await?;
    if updated.len() == movements.len() {
        return Ok(true);
    }
    let moved: BTreeSet<i64> = updated.iter().map(|row| row.try_get_by_index::<i64>(0)).collect::<Result<_, _>>()?;
    undo_all(conn, &increments_of(movements.iter().filter(|(id, _)| moved.contains(&id.0)))).await?;
    Ok(false)
}

/// The values of [`INSERT_COLUMNS`] for one row.
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

/// Inserts the new transfers (in chunks of at most 1,000 rows, 17,000 parameters) and moves the chain
/// head. The database numbers the rows as they are inserted, so along the chain the global order
/// agrees with the chain's. Returns the seq of each chain position.
async fn insert_rows(conn: &impl ConnectionTrait, rows: &[NewRow]) -> Result<Seqs, LedgerError> {
    let backend = conn.get_database_backend();
    let mut seqs = HashMap::with_capacity(rows.len());
    for chunk in rows.chunks(1000) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 17);
        let mut tuples = Vec::with_capacity(chunk.len());
        for (_, row) in chunk {
            let row_values = insert_values(row);
            tuples.push(format!("({})", placeholders(values.len() + 1, row_values.len())));
            values.extend(row_values);
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
