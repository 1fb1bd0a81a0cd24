//! What a resident has and what happened to it, read from the ledger itself (never from a copy that
//! could drift).

use chrono::{DateTime, Utc};
use ehome_ledger::{AccountId, Asset, Balance, Transfer, TransferId, TransferKind};
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
///
/// One indexed statement: the account row by its unique code, with the sums of its earnings and
/// take-backs from its transfers (indexed by account) as subqueries. A resident's account carries
/// the no-overdraft flag, so its posted balances live in its row, never in the per-chain shards that
/// only unlimited accounts use.
pub async fn balance_of(conn: &impl ConnectionTrait, user: UserId) -> Result<PointsBalance, PointsError> {
    let quoted =
        |purposes: &[Purpose]| purposes.iter().map(|p| format!("'{}'", p.code())).collect::<Vec<_>>().join(", ");
    let earnings = quoted(&Purpose::EARNINGS);
    let take_backs = quoted(&[Purpose::Reversal, Purpose::AwardAdjustment]);
    // A debit coded `reversal` always undoes an earning: the only other credits a resident receives
    // are refunds, and a reversal is never reversed.
    let sql = format!(
        "SELECT a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending, \
           (SELECT CAST(COALESCE(SUM(t.amount), 0) AS BIGINT) FROM ledger_transfers t \
             WHERE t.credit_account_id = a.id AND t.kind IN ('single', 'post_pending') \
             AND t.code IN ({earnings})), \
           (SELECT CAST(COALESCE(SUM(t.amount), 0) AS BIGINT) FROM ledger_transfers t \
             WHERE t.debit_account_id = a.id AND t.kind = 'single' AND t.code IN ({take_backs})) \
         FROM ledger_accounts a WHERE a.code = $1"
    );
    let code = LedgerAccount::User(user).code();
    let statement = Statement::from_sql_and_values(conn.get_database_backend(), sql, [code.into()]);
    let Some(row) = conn.query_one_raw(statement).await? else {
        return Ok(PointsBalance::default());
    };
    let column = |index: usize| row.try_get_by_index::<i64>(index);
    let balance = Balance::new(Asset::Points, column(0)?, column(1)?, column(2)?, column(3)?);
    let (earned, taken_back) = (column(4)?, column(5)?);
    Ok(PointsBalance {
        available: Points::from_minor(balance.available)?,
        on_hold: Points::from_minor(balance.debits_pending)?,
        lifetime_earned: Points::from_minor(earned.saturating_sub(taken_back))?,
    })
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
