//! The wallet's use cases: the balance with lifetime hours, and the history worded for the resident.

use std::collections::HashMap;

use serde::Serialize;

use crate::domain::UserId;
use crate::platform::error::{ApiError, ApiResult};
use crate::points::{self, Change, HistoryCursor, HistoryEntry, Points, PointsBalance, Purpose};
use crate::scenes::service_hours;
use crate::state::AppState;

/// What `GET /me/points` shows.
pub struct Wallet {
    pub balance: PointsBalance,
    pub lifetime_minutes: i64,
    /// Points that expire within 90 days: zero until points expire (issue 12).
    pub expiring_90_days: Points,
}

/// The balance (one indexed statement on the ledger) and the lifetime hours (one on the hour
/// records), read side by side.
pub async fn wallet(state: &AppState, user: UserId) -> ApiResult<Wallet> {
    let (balance, lifetime_minutes) = tokio::try_join!(
        async { points::balance_of(&state.db, user).await.map_err(ApiError::from) },
        service_hours::lifetime_minutes(&state.db, user),
    )?;
    Ok(Wallet { balance, lifetime_minutes, expiring_90_days: Points::ZERO })
}

/// One line of the history as the resident reads it.
#[derive(Debug, Serialize)]
pub struct Line {
    pub id: String,
    /// The resident's words: the activity's title for hours, 调整, 兑换, 撤销, 过期, 邻里互助.
    pub title: String,
    pub purpose: Purpose,
    pub change: Change,
    /// The transfer's amount signed by direction ("+12.50" came in, "-3.00" went out or was set
    /// aside); a redemption shows as `held`, then `hold_captured`, and `change` tells them apart.
    pub amount: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// The words for a transfer of this purpose (the activity title is looked up for hours awards).
pub fn words(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::VolunteerAward => "志愿服务",
        Purpose::AwardAdjustment => "调整",
        Purpose::Redemption => "兑换",
        Purpose::Reversal => "撤销",
        Purpose::Expiry => "过期",
        Purpose::AidReward | Purpose::AidBonus => "邻里互助",
        // Settlement moves a shop's points and the community's money, never a resident's.
        Purpose::Settlement | Purpose::SettlementPayment => "结算",
    }
}

fn signed(entry: &HistoryEntry) -> String {
    match entry.change {
        Change::Credited | Change::HoldReleased | Change::HoldExpired => format!("+{}", entry.amount),
        Change::Debited | Change::Held | Change::HoldCaptured => format!("-{}", entry.amount),
    }
}

fn hour_record_of(entry: &HistoryEntry) -> Option<i64> {
    (entry.purpose == Purpose::VolunteerAward).then(|| entry.metadata.get("hour_record")?.as_i64()).flatten()
}

/// A page of the resident's history, newest first.
pub async fn history(
    state: &AppState,
    user: UserId,
    cursor: Option<HistoryCursor>,
    limit: u64,
) -> ApiResult<(Vec<Line>, Option<String>)> {
    let page = points::history_of(&state.db, user, cursor, limit).await?;
    let records: Vec<i64> = page.entries.iter().filter_map(hour_record_of).collect();
    let titles: HashMap<i64, String> = service_hours::titles_of_records(&state.db, &records).await?;
    let lines = page
        .entries
        .iter()
        .map(|entry| {
            let title = hour_record_of(entry)
                .and_then(|record| titles.get(&record).cloned())
                .unwrap_or_else(|| words(entry.purpose).to_owned());
            Line {
                id: entry.id.to_text(),
                title,
                purpose: entry.purpose,
                change: entry.change,
                amount: signed(entry),
                at: entry.at,
            }
        })
        .collect();
    Ok((lines, page.next_cursor.map(HistoryCursor::to_text)))
}
