//! Pure: when points expire, and how much, oldest first (FIFO).
//!
//! Points expire a configured number of months after the Asia/Shanghai day they were earned: a lot
//! earned on 2024-05-10 expires on 2027-05-10 with 36 months (a lot earned on the 31st of a month
//! expires on the last day of the target month when it is shorter).
//!
//! Spending consumes the oldest points first, and expiry takes the oldest too, so whatever has left a
//! resident's balance is always a prefix of their earnings in the order they were earned. That makes
//! the exact answer an aggregate: after `consumed` points left the balance (spent, held, expired, less
//! refunds), the points that have expired by a date are
//! `max(0, earned before the cut-off − consumed)`, and they are the lots just past the consumed
//! prefix. A take-back of an award (a reversal, a downward adjustment) lowers the lot it corrects, at
//! that lot's date. `tests` below check this against a naive queue of lots.

use chrono::{DateTime, Days, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;

use crate::domain::CommunityId;

/// How long points live; checked at start-up (1 to 120 months).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpiryRule {
    months: u32,
}

/// The months allowed in configuration.
pub const EXPIRY_MONTHS_RANGE: std::ops::RangeInclusive<u32> = 1..=120;

impl ExpiryRule {
    pub fn new(months: u32) -> Option<ExpiryRule> {
        EXPIRY_MONTHS_RANGE.contains(&months).then_some(ExpiryRule { months })
    }

    pub fn months(self) -> u32 {
        self.months
    }

    /// The day a lot earned on `earned_on` expires (it is no longer usable from that day on).
    pub fn expires_on(self, earned_on: NaiveDate) -> NaiveDate {
        earned_on.checked_add_months(Months::new(self.months)).unwrap_or(NaiveDate::MAX)
    }

    /// The first earning day whose points are still valid on `date`: every lot earned before it has
    /// expired by `date`, every lot earned on or after it has not.
    pub fn first_valid_earning_day(self, date: NaiveDate) -> NaiveDate {
        // `expires_on` never decreases, but clamping at month ends maps up to four earning days onto
        // one expiry day, so the inverse is found from the plain subtraction by a step or two.
        let mut day = date.checked_sub_months(Months::new(self.months)).unwrap_or(NaiveDate::MIN);
        while day > NaiveDate::MIN && self.expires_on(day) > date {
            day = day.pred_opt().unwrap_or(NaiveDate::MIN);
        }
        while self.expires_on(day) <= date {
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        day
    }

    /// The instant from which earnings are still valid on `date` (Shanghai midnight).
    pub fn valid_from(self, date: NaiveDate) -> DateTime<Utc> {
        start_of_day(self.first_valid_earning_day(date))
    }
}

/// The Asia/Shanghai calendar day of an instant (day boundaries are Shanghai's everywhere).
pub fn shanghai_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Shanghai).date_naive()
}

/// Shanghai midnight starting `day` (China has no daylight saving: the offset is always +08:00).
pub fn start_of_day(day: NaiveDate) -> DateTime<Utc> {
    match Shanghai.from_local_datetime(&day.and_time(chrono::NaiveTime::MIN)).earliest() {
        Some(local) => local.with_timezone(&Utc),
        None => day.and_time(chrono::NaiveTime::MIN).and_utc() - chrono::Duration::hours(8),
    }
}

/// `day` plus `days` calendar days (saturating at the end of time).
pub fn days_after(day: NaiveDate, days: u64) -> NaiveDate {
    day.checked_add_days(Days::new(days)).unwrap_or(NaiveDate::MAX)
}

/// Points earned in one transfer, net of what was taken back from it, and where they came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lot {
    pub earned_at: DateTime<Utc>,
    pub community: CommunityId,
    /// Minor units; a lot taken back entirely is 0 (never negative).
    pub amount_minor: i64,
}

/// The points that have expired by `date` and not left the balance yet, per community of the lots
/// they were earned in. `lots` in the order earned; `consumed` is everything that left the balance
/// (spent, held, expired, less refunds), which FIFO takes from the front of `lots`.
pub fn due_by(rule: ExpiryRule, lots: &[Lot], consumed_minor: i64, date: NaiveDate) -> Vec<(CommunityId, i64)> {
    let valid_from = rule.valid_from(date);
    let mut due: Vec<(CommunityId, i64)> = Vec::new();
    let mut start = 0i64;
    for lot in lots.iter().take_while(|lot| lot.earned_at < valid_from) {
        let end = start.saturating_add(lot.amount_minor.max(0));
        let expiring = end.saturating_sub(start.max(consumed_minor)).max(0);
        if expiring > 0 {
            match due.iter_mut().find(|(community, _)| *community == lot.community) {
                Some((_, amount)) => *amount += expiring,
                None => due.push((lot.community, expiring)),
            }
        }
        start = end;
    }
    due
}

/// What expires on each day from `today` to `until` if nothing else changes: `(day, minor)`, days
/// ascending, positive amounts only; points already past their day (the daily job has not run yet)
/// show on `today`.
///
/// `available` is what can be spent now; `valid_after_until` the net earnings still valid on `until`;
/// `window` the lots that expire between `today` (exclusive) and `until` (inclusive), by their
/// expiry day. Whatever of `available` the lots valid on a day cannot account for is older and has
/// expired by that day (spending took the oldest first).
pub fn upcoming(
    available_minor: i64,
    valid_after_until_minor: i64,
    window: &[(NaiveDate, i64)],
    today: NaiveDate,
) -> Vec<(NaiveDate, i64)> {
    let mut days: Vec<(NaiveDate, i64)> = Vec::new();
    let mut sorted = window.to_vec();
    sorted.sort_by_key(|(day, _)| *day);
    for (day, amount) in sorted {
        match days.last_mut() {
            Some((last, total)) if *last == day => *total += amount.max(0),
            _ => days.push((day, amount.max(0))),
        }
    }
    // Valid on `today`: everything in the window and after it.
    let mut valid: i64 = valid_after_until_minor.max(0) + days.iter().map(|(_, amount)| amount).sum::<i64>();
    let mut expired_so_far = (available_minor - valid).max(0);
    let mut out = Vec::new();
    if expired_so_far > 0 {
        out.push((today, expired_so_far));
    }
    for (day, amount) in days {
        valid -= amount;
        let expired = (available_minor - valid).max(0);
        if expired > expired_so_far {
            out.push((day, expired - expired_so_far));
            expired_so_far = expired;
        }
    }
    out
}

#[cfg(test)]
#[path = "expiry_rule_tests.rs"]
mod tests;
