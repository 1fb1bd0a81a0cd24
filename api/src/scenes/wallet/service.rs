//! The wallet's use cases: the balance with lifetime hours and what expires soon, the history worded
//! for the resident, and the expiry job's work for one resident.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::store;
use crate::domain::UserId;
use crate::platform::db::begin_write;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::transaction::{ATTEMPTS, Failure};
use crate::points::{
    self, Change, Expiring, ExpiryRule, HistoryCursor, HistoryEntry, Points, PointsBalance, Purpose, days_after,
    shanghai_day,
};
use crate::scenes::notifications::{self, Notice};
use crate::scenes::service_hours;
use crate::state::AppState;

/// How far ahead `GET /me/points` looks for points that expire.
pub const FORECAST_DAYS: u64 = 90;

/// What `GET /me/points` shows.
pub struct Wallet {
    pub balance: PointsBalance,
    pub lifetime_minutes: i64,
    /// Points that expire within 90 days, if nothing else changes.
    pub expiring_90_days: Points,
    /// The same by day, earliest first.
    pub expiring: Vec<Expiring>,
}

/// The rule configured (`POINTS_EXPIRY_MONTHS`, checked at start-up).
pub fn expiry_rule(state: &AppState) -> ApiResult<ExpiryRule> {
    let months = state.settings.points.expiry_months;
    ExpiryRule::new(months).ok_or_else(|| ApiError::internal(anyhow::anyhow!("expiry months {months} out of range")))
}

/// The balance (one indexed statement on the ledger), the lifetime hours (one on the hour records) and
/// the lots that may expire within 90 days (one more on the ledger), read side by side.
pub async fn wallet(state: &AppState, user: UserId) -> ApiResult<Wallet> {
    let rule = expiry_rule(state)?;
    let today = shanghai_day(state.clock.now());
    let until = days_after(today, FORECAST_DAYS);
    let (balance, lifetime_minutes, forecast) = tokio::try_join!(
        async { points::balance_of(&state.db, user).await.map_err(ApiError::from) },
        service_hours::lifetime_minutes(&state.db, user),
        async { points::expiring_between(&state.db, rule, user, today, until).await.map_err(ApiError::from) },
    )?;
    let expiring = forecast.with_available(balance.available);
    let mut expiring_90_days = Points::ZERO;
    for day in &expiring {
        expiring_90_days = expiring_90_days.checked_add(day.amount)?;
    }
    Ok(Wallet { balance, lifetime_minutes, expiring_90_days, expiring })
}

/// What the expiry job did for one resident.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Handled {
    pub transfers: usize,
    pub reminders: usize,
}

/// The reminder that `amount` points expire on `day`.
fn reminder(user: UserId, expiring: &Expiring) -> Notice {
    Notice {
        user_id: user.0,
        kind: "points_expiry",
        title: "积分即将过期".to_owned(),
        body: format!("您有 {} 积分将于 {} 过期，请在此之前使用。", expiring.amount, expiring.date),
        request_id: None,
        phrase: "即将过期".to_owned(),
    }
}

/// Expires the resident's points past their day and records a reminder for each day within the
/// notice window not told before, in one transaction (run again while a concurrent writer got
/// there first); the reminders are sent after the commit.
pub async fn expire_and_remind(
    state: &AppState,
    rule: ExpiryRule,
    user: UserId,
    now: DateTime<Utc>,
) -> ApiResult<Handled> {
    for attempt in 1..=ATTEMPTS {
        match expire_and_record(state, rule, user, now).await {
            Ok((transfers, reminders)) => {
                if transfers > 0 {
                    super::kept::changed(state, [user]).await;
                }
                let handled = Handled { transfers, reminders: reminders.len() };
                notifications::push_all(state, reminders, now).await;
                return Ok(handled);
            }
            Err(Failure::Answer(err)) => return Err(err),
            Err(Failure::Retry) => tokio::time::sleep(std::time::Duration::from_millis(3 * attempt)).await,
        }
    }
    Err(ApiError::Unavailable("points expiry busy".to_owned()))
}

/// One attempt of `expire_and_remind`: the transfers posted and the reminders recorded, committed.
/// (A plain function rather than `platform::transaction::retrying`'s closure, so that the job that
/// calls it can be spawned.)
async fn expire_and_record(
    state: &AppState,
    rule: ExpiryRule,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<(usize, Vec<Notice>), Failure> {
    let today = shanghai_day(now);
    let notice_until = days_after(today, super::jobs::NOTICE_DAYS);
    let txn = begin_write(&state.db).await?;
    let run = points::expire_due(&txn, rule, user, today, notice_until, now).await?;
    let mut reminders = Vec::new();
    for expiring in &run.upcoming {
        if store::claim_notice(&txn, user, expiring.date, expiring.amount, now).await? {
            let notice = reminder(user, expiring);
            notifications::record(&txn, &notice, now).await?;
            reminders.push(notice);
        }
    }
    txn.commit().await?;
    Ok((run.expired.len(), reminders))
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
