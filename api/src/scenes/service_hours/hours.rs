//! The pure computation of service hours: attendance clipped to the activity's window, rounded down
//! to quarter hours, flagged under 60% of the scheduled duration, split by Asia/Shanghai day and
//! credited within the caps (per volunteer per day, per activity). No database, no clock: tested
//! here.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;

use super::lifecycle::Flag;

/// Hours are counted in whole quarter hours, rounded down.
pub const QUARTER_MINUTES: i64 = 15;
/// Attendance under this share of the scheduled duration is flagged for the organiser.
pub const SHORT_ATTENDANCE_PERCENT: i64 = 60;
/// The most minutes one adjustment may record (a day).
pub const ADJUSTED_MINUTES_MAX: i64 = 24 * 60;

/// The activity's scheduled window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

impl Window {
    /// The scheduled duration in whole minutes (the per-activity cap).
    pub fn minutes(&self) -> i64 {
        (self.ends_at - self.starts_at).num_minutes().max(0)
    }
}

/// What a volunteer's check-in and check-out measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measured {
    /// Clipped to the window and rounded down to a quarter hour.
    pub minutes: i64,
    /// The attended part of the window, if any: where the minutes fall, day by day.
    pub attended: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub flags: Vec<Flag>,
}

/// Rounds down to a whole quarter hour.
pub fn round_down_to_quarter(minutes: i64) -> i64 {
    minutes.max(0) / QUARTER_MINUTES * QUARTER_MINUTES
}

/// Hours = check-out − check-in, clipped to the window, rounded down to quarter hours; flagged when
/// the volunteer never checked in or out, or stayed under 60% of the scheduled duration.
pub fn measure(
    window: Window,
    checked_in_at: Option<DateTime<Utc>>,
    checked_out_at: Option<DateTime<Utc>>,
) -> Measured {
    let (Some(checked_in), Some(checked_out)) = (checked_in_at, checked_out_at) else {
        let flag = if checked_in_at.is_none() { Flag::NoCheckin } else { Flag::NoCheckout };
        return Measured { minutes: 0, attended: None, flags: vec![flag, Flag::ShortAttendance] };
    };
    let from = checked_in.max(window.starts_at);
    let to = checked_out.min(window.ends_at);
    let minutes = if to > from { round_down_to_quarter((to - from).num_minutes()) } else { 0 };
    let mut flags = Vec::new();
    if is_short(minutes, window.minutes()) {
        flags.push(Flag::ShortAttendance);
    }
    Measured { minutes, attended: (to > from).then_some((from, to)), flags }
}

/// Under 60% of the scheduled minutes (integer arithmetic: no rounding at the boundary).
pub fn is_short(minutes: i64, scheduled_minutes: i64) -> bool {
    minutes * 100 < scheduled_minutes * SHORT_ATTENDANCE_PERCENT
}

/// The Shanghai calendar date of an instant (service days, caps and leaderboards count these).
pub fn shanghai_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Shanghai).date_naive()
}

/// The instant a Shanghai day begins (Shanghai has no daylight saving, so it exists and is unique).
pub fn shanghai_midnight(date: NaiveDate) -> Option<DateTime<Utc>> {
    Shanghai.from_local_datetime(&date.and_time(NaiveTime::MIN)).earliest().map(|at| at.with_timezone(&Utc))
}

/// The whole minutes of `[from, to)` on each Asia/Shanghai day it touches, in order.
pub fn by_shanghai_day(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(NaiveDate, i64)> {
    let mut days = Vec::new();
    let mut start = from;
    while start < to {
        let day = shanghai_date(start);
        let next_midnight = day.checked_add_days(Days::new(1)).and_then(shanghai_midnight);
        let end = next_midnight.map_or(to, |midnight| midnight.min(to));
        if end <= start {
            break;
        }
        days.push((day, (end - start).num_minutes()));
        start = end;
    }
    days
}

/// The caps a credit is bounded by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Credited minutes per volunteer per Shanghai day.
    pub daily_minutes_max: i64,
    /// Credited minutes per activity: its scheduled duration.
    pub activity_minutes_max: i64,
}

/// Minutes credited after the caps, by day.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Credit {
    pub minutes: i64,
    pub by_day: BTreeMap<NaiveDate, i64>,
    pub flags: Vec<Flag>,
}

/// Credits `minutes` within the caps. The minutes fall on the days of `portions` in order (each
/// portion holds at most its own minutes; what is left falls on the last day); on each day at most
/// what the daily cap leaves after `credited_elsewhere` (the volunteer's other credited minutes that
/// day) is credited. Minutes above a cap are recorded by the caller but credited nothing, and the
/// credit's flags say which cap cut them.
pub fn credit(
    minutes: i64,
    portions: &[(NaiveDate, i64)],
    credited_elsewhere: &BTreeMap<NaiveDate, i64>,
    caps: Caps,
) -> Credit {
    let mut out = Credit::default();
    let mut remaining = minutes.max(0);
    if remaining > caps.activity_minutes_max {
        out.flags.push(Flag::ActivityCap);
        remaining = caps.activity_minutes_max.max(0);
    }
    if portions.is_empty() {
        return out;
    }
    let mut cut_by_day = false;
    for (index, (day, portion)) in portions.iter().enumerate() {
        let share = if index + 1 == portions.len() { remaining } else { remaining.min(*portion) };
        if share <= 0 {
            continue;
        }
        remaining -= share;
        let room = (caps.daily_minutes_max - credited_elsewhere.get(day).copied().unwrap_or(0)).max(0);
        let credited = share.min(room);
        cut_by_day |= credited < share;
        if credited > 0 {
            *out.by_day.entry(*day).or_default() += credited;
            out.minutes += credited;
        }
    }
    if cut_by_day {
        out.flags.push(Flag::DailyCap);
    }
    out
}

/// Points for credited minutes at a rate per hour (both in hundredths of a point), rounded down to
/// a hundredth; `None` on overflow.
pub fn points_minor(credited_minutes: i64, points_per_hour_minor: i64) -> Option<i64> {
    credited_minutes.checked_mul(points_per_hour_minor.max(0)).map(|product| product / 60)
}

/// Hours as the API shows them: a decimal string with two places ("2.25").
pub fn hours_text(minutes: i64) -> String {
    let sign = if minutes < 0 { "-" } else { "" };
    let minutes = minutes.unsigned_abs();
    format!("{sign}{}.{:02}", minutes / 60, minutes % 60 * 100 / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn window(from: &str, to: &str) -> Window {
        Window { starts_at: at(from), ends_at: at(to) }
    }

    const CAPS: Caps = Caps { daily_minutes_max: 8 * 60, activity_minutes_max: 24 * 60 };

    #[test]
    fn attendance_is_clipped_to_the_window_and_rounded_down_to_quarter_hours() {
        let w = window("2026-11-28T09:00:00+08:00", "2026-11-28T12:00:00+08:00");
        // Early check-in and late check-out count only the window.
        let m = measure(w, Some(at("2026-11-28T08:10:00+08:00")), Some(at("2026-11-28T12:40:00+08:00")));
        assert_eq!((m.minutes, m.flags.clone()), (180, vec![]));
        // 9:07 to 11:58 is 2 h 51 min: 2 h 45 min.
        let m = measure(w, Some(at("2026-11-28T09:07:00+08:00")), Some(at("2026-11-28T11:58:00+08:00")));
        assert_eq!(m.minutes, 165);
        assert!(m.flags.is_empty());
        // 14 minutes round down to nothing.
        let m = measure(w, Some(at("2026-11-28T09:00:00+08:00")), Some(at("2026-11-28T09:14:59+08:00")));
        assert_eq!(m.minutes, 0);
        // Outside the window entirely.
        let m = measure(w, Some(at("2026-11-28T12:30:00+08:00")), Some(at("2026-11-28T13:00:00+08:00")));
        assert_eq!((m.minutes, m.attended), (0, None));
    }

    #[test]
    fn under_sixty_percent_of_the_schedule_is_flagged() {
        let w = window("2026-11-28T09:00:00+08:00", "2026-11-28T12:00:00+08:00");
        // 60% of 180 minutes is 108: 1 h 45 min (105) is short, 1 h 48 rounds to 105 too, 2 h is not.
        let m = measure(w, Some(at("2026-11-28T09:00:00+08:00")), Some(at("2026-11-28T10:48:00+08:00")));
        assert_eq!((m.minutes, m.flags), (105, vec![Flag::ShortAttendance]));
        let m = measure(w, Some(at("2026-11-28T09:00:00+08:00")), Some(at("2026-11-28T11:00:00+08:00")));
        assert_eq!((m.minutes, m.flags), (120, vec![]));
        assert!(!is_short(108, 180));
        assert!(is_short(107, 180));
        let absent = measure(w, None, None);
        assert_eq!((absent.minutes, absent.flags), (0, vec![Flag::NoCheckin, Flag::ShortAttendance]));
        let no_out = measure(w, Some(at("2026-11-28T09:00:00+08:00")), None);
        assert_eq!(no_out.flags, vec![Flag::NoCheckout, Flag::ShortAttendance]);
    }

    #[test]
    fn minutes_split_at_shanghai_midnight_not_utc_midnight() {
        // 22:00 to 02:00 Shanghai time is 14:00 to 18:00 UTC: one UTC day, two Shanghai days.
        let days = by_shanghai_day(at("2026-11-28T22:00:00+08:00"), at("2026-11-29T02:00:00+08:00"));
        assert_eq!(days, vec![(date("2026-11-28"), 120), (date("2026-11-29"), 120)]);
        // 07:00 to 09:00 Shanghai is 23:00 to 01:00 UTC: two UTC days, one Shanghai day.
        let days = by_shanghai_day(at("2026-11-29T07:00:00+08:00"), at("2026-11-29T09:00:00+08:00"));
        assert_eq!(days, vec![(date("2026-11-29"), 120)]);
    }

    #[test]
    fn the_daily_cap_applies_per_shanghai_day_across_midnight() {
        // Seven hours already credited on the 28th: of 22:00–02:00, one hour of the 28th's two is
        // credited, and both hours of the 29th.
        let portions = by_shanghai_day(at("2026-11-28T22:00:00+08:00"), at("2026-11-29T02:00:00+08:00"));
        let elsewhere = BTreeMap::from([(date("2026-11-28"), 7 * 60)]);
        let c = credit(240, &portions, &elsewhere, CAPS);
        assert_eq!(c.minutes, 180);
        assert_eq!(c.by_day, BTreeMap::from([(date("2026-11-28"), 60), (date("2026-11-29"), 120)]));
        assert_eq!(c.flags, vec![Flag::DailyCap]);
        // Nothing else that day: all four hours.
        let c = credit(240, &portions, &BTreeMap::new(), CAPS);
        assert_eq!((c.minutes, c.flags), (240, vec![]));
    }

    #[test]
    fn at_most_the_activity_duration_and_eight_hours_a_day() {
        let day = date("2026-11-28");
        let caps = Caps { daily_minutes_max: 480, activity_minutes_max: 600 };
        let c = credit(720, &[(day, 600)], &BTreeMap::new(), caps);
        assert_eq!(c.minutes, 480);
        assert_eq!(c.flags, vec![Flag::ActivityCap, Flag::DailyCap]);
        // An adjustment above what was attended falls on the last day.
        let c = credit(180, &[(day, 60)], &BTreeMap::new(), caps);
        assert_eq!((c.minutes, c.by_day), (180, BTreeMap::from([(day, 180)])));
        assert_eq!(credit(60, &[], &BTreeMap::new(), caps), Credit::default());
    }

    #[test]
    fn points_and_hours_as_shown() {
        assert_eq!(points_minor(150, 1000), Some(2500));
        assert_eq!(points_minor(10, 100), Some(16));
        assert_eq!(points_minor(i64::MAX, 2), None);
        assert_eq!(hours_text(150), "2.50");
        assert_eq!(hours_text(45), "0.75");
        assert_eq!(hours_text(-15), "-0.25");
        assert_eq!(hours_text(0), "0.00");
        assert_eq!(round_down_to_quarter(44), 30);
    }
}
