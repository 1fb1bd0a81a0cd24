//! What a resident has and what happened to it, read from the ledger itself (never from a copy that
//! could drift).

use chrono::{DateTime, Utc};
use ehome_ledger::{AccountId, Transfer, TransferId, TransferKind};
use sea_orm::{ConnectionTrait, Statement};
use serde::Serialize;

use super::accounts::{LedgerAccount, Purpose, find};
use super::amount::Points;
use super::error::PointsError;
use crate::domain::UserId;

/// A resident's points.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PointsBalance {
    /// What can be spent now: posted credits less posted debits less holds.
    pub available: Points,
    /// Held for redemptions and help-post rewards not yet captured, paid or released.
    pub on_hold: Points,
    /// Everything ever earned (awards, adjustments, rewards and bonuses received), less what was taken
    /// back from those; spending and expiry do not lower it.
    pub lifetime_earned: Points,
}

/// A resident's balance; zero for a resident who never had points (reading creates no account).
pub async fn balance_of(conn: &impl ConnectionTrait, user: UserId) -> Result<PointsBalance, PointsError> {
    let Some(account) = find(conn, LedgerAccount::User(user)).await? else {
        return Ok(PointsBalance::default());
    };
    let balance = account.balance();
    Ok(PointsBalance {
        available: Points::from_minor(balance.available)?,
        on_hold: Points::from_minor(account.debits_pending)?,
        lifetime_earned: lifetime_earned(conn, account.id).await?,
    })
}

/// Sums the earnings credited to the account less the take-backs debited from it, in one query over
/// the account's transfers (both are indexed by account). A debit coded `reversal` always undoes an
/// earning: the only other credits a resident receives are refunds, and a reversal is never reversed.
async fn lifetime_earned(conn: &impl ConnectionTrait, account: AccountId) -> Result<Points, PointsError> {
    let quoted =
        |purposes: &[Purpose]| purposes.iter().map(|p| format!("'{}'", p.code())).collect::<Vec<_>>().join(", ");
    let earnings = quoted(&Purpose::EARNINGS);
    let take_backs = quoted(&[Purpose::Reversal, Purpose::AwardAdjustment]);
    let sql = format!(
        "SELECT \
           CAST(COALESCE(SUM(CASE WHEN credit_account_id = $1 AND kind IN ('single', 'post_pending') \
             AND code IN ({earnings}) THEN amount ELSE 0 END), 0) AS BIGINT), \
           CAST(COALESCE(SUM(CASE WHEN debit_account_id = $1 AND kind = 'single' \
             AND code IN ({take_backs}) THEN amount ELSE 0 END), 0) AS BIGINT) \
         FROM ledger_transfers WHERE credit_account_id = $1 OR debit_account_id = $1"
    );
    let statement = Statement::from_sql_and_values(conn.get_database_backend(), sql, [account.0.into()]);
    let Some(row) = conn.query_one_raw(statement).await? else {
        return Ok(Points::ZERO);
    };
    let earned: i64 = row.try_get_by_index(0)?;
    let taken_back: i64 = row.try_get_by_index(1)?;
    Points::from_minor(earned.saturating_sub(taken_back))
}

/// How a transfer changed the resident's points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Points came in (an award, a reward, a refund).
    Credited,
    /// Points went out at once (an expiry, a take-back).
    Debited,
    /// Points were set aside (a redemption code, a help-post reward).
    Held,
    /// A hold was spent: `amount` went out, the rest of the hold came back.
    HoldCaptured,
    /// A hold was cancelled: its points are available again.
    HoldReleased,
    /// A hold timed out and the ledger's job released it.
    HoldExpired,
}

/// One line of a resident's points history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    pub id: TransferId,
    pub purpose: Purpose,
    pub change: Change,
    pub amount: Points,
    /// The hold a capture, release or expiry resolves.
    pub hold: Option<TransferId>,
    /// The transfer a reversal moves back.
    pub reverses: Option<TransferId>,
    /// The domain links (`hour_record`, `redemption_code`, `help_post`, `corrects` …) for wording.
    pub metadata: serde_json::Value,
    pub at: DateTime<Utc>,
}

/// Where the next (older) page starts; opaque to clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryCursor(i64);

impl HistoryCursor {
    pub fn parse(text: &str) -> Option<HistoryCursor> {
        text.strip_prefix('t')?.parse().ok().filter(|seq| *seq > 0).map(HistoryCursor)
    }

    pub fn to_text(self) -> String {
        format!("t{}", self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryPage {
    pub entries: Vec<HistoryEntry>,
    pub next_cursor: Option<HistoryCursor>,
}

/// A resident's transfers, newest first, `limit` (1 to 500) at a time.
pub async fn history_of(
    conn: &impl ConnectionTrait,
    user: UserId,
    cursor: Option<HistoryCursor>,
    limit: u64,
) -> Result<HistoryPage, PointsError> {
    let Some(account) = find(conn, LedgerAccount::User(user)).await? else {
        return Ok(HistoryPage { entries: vec![], next_cursor: None });
    };
    let page = ehome_ledger::history(conn, account.id, cursor.map(|c| c.0), limit).await?;
    let entries = page.items.iter().map(|t| entry(t, account.id)).collect::<Result<_, _>>()?;
    Ok(HistoryPage { entries, next_cursor: page.next_cursor.map(HistoryCursor) })
}

fn entry(transfer: &Transfer, account: AccountId) -> Result<HistoryEntry, PointsError> {
    let purpose = Purpose::parse(&transfer.code).ok_or(PointsError::WrongTransfer(transfer.id, "points transfer"))?;
    let debited = transfer.debit == account;
    let change = match transfer.kind {
        TransferKind::Single | TransferKind::PostPending if !debited => Change::Credited,
        TransferKind::Single => Change::Debited,
        TransferKind::PostPending => Change::HoldCaptured,
        TransferKind::Pending => Change::Held,
        TransferKind::VoidPending => Change::HoldReleased,
        TransferKind::ExpirePending => Change::HoldExpired,
    };
    Ok(HistoryEntry {
        id: transfer.id,
        purpose,
        change,
        amount: Points::from_minor(transfer.amount)?,
        hold: transfer.pending_id,
        reverses: transfer.reverses,
        metadata: transfer.metadata.clone(),
        at: transfer.created_at,
    })
}
