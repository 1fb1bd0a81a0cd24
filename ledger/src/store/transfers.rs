//! Reading transfers back (by id, by key, an account's history) and expiring timed-out holds.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, Statement};

use ehome_entities::ledger_transfer;

use crate::error::LedgerError;
use crate::types::{AccountId, TransferAction, TransferId, TransferRequest};

use super::post_independent;
use super::records::{Page, Transfer};

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

/// The transfers that touch an account, newest first. `cursor` is the `next_cursor` of the previous
/// page (a chain sequence number); `limit` is clamped to 1..=500.
///
/// The debits and the credits are read as two index range scans, each newest first and limited,
/// then merged. One scan with `debit OR credit` is planned from the columns' statistics, and those
/// say that any account is debited by most transfers (nearly every debit comes from a few issuance
/// accounts): once the plan is generic, a resident's history walked every transfer backwards (25 ms
/// at 100,000 transfers for one row).
pub async fn history(
    conn: &impl ConnectionTrait,
    id: AccountId,
    cursor: Option<i64>,
    limit: u64,
) -> Result<Page<Transfer>, LedgerError> {
    let limit = limit.clamp(1, 500);
    let side = |column: &str| {
        format!(
            "SELECT * FROM (SELECT * FROM ledger_transfers WHERE {column} = $1 AND seq < $2 \
             ORDER BY seq DESC LIMIT $3) AS {column}_side"
        )
    };
    let sql = format!(
        "SELECT * FROM ({} UNION ALL {}) AS touching ORDER BY seq DESC LIMIT $3",
        side("debit_account_id"),
        side("credit_account_id")
    );
    // A transfer never debits and credits one account (a check constraint), so no row comes twice.
    let values = [id.0.into(), cursor.unwrap_or(i64::MAX).into(), i64::try_from(limit + 1).unwrap_or(501).into()];
    let statement = Statement::from_sql_and_values(conn.get_database_backend(), sql, values);
    let mut rows = ledger_transfer::Model::find_by_statement(statement).all(conn).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|r| r.seq) } else { None };
    let items = rows.iter().map(Transfer::from_model).collect::<Result<_, _>>()?;
    Ok(Page { items, next_cursor })
}

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
