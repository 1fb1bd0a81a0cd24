//! The calendar of the statistics: Shanghai days, the range a query covers, and the day, week or
//! month buckets of a series.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use serde::{Deserialize, Serialize};

use crate::platform::error::ApiError;

/// The longest range one call may cover, in days (a leap year).
pub const RANGE_DAYS_MAX: u64 = 366;
/// The range when none is given: the last 30 days up to today.
pub const RANGE_DAYS_DEFAULT: u64 = 30;

/// The Shanghai calendar date of an instant.
pub fn shanghai_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Shanghai).date_naive()
}

/// The instant a Shanghai calendar day begins.
pub fn shanghai_midnight(date: NaiveDate) -> Result<DateTime<Utc>, ApiError> {
    // Shanghai has had no daylight saving since 1991, so midnight always exists and is unique; the
    // error is for a time-zone database that says otherwise.
    Shanghai
        .from_local_datetime(&date.and_time(NaiveTime::MIN))
        .earliest()
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no Shanghai midnight on {date}")))
}

/// Inclusive Shanghai dates, `from` ≤ `to`, at most `RANGE_DAYS_MAX` days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    from: NaiveDate,
    to: NaiveDate,
}

fn parse_date(field: &str, text: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| ApiError::validation(field, "a date as YYYY-MM-DD"))
}

impl DateRange {
    /// The range a query asks for; `to` defaults to today and `from` to 30 days up to `to`.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: NaiveDate) -> Result<DateRange, ApiError> {
        let to = to.map(|t| parse_date("to", t)).transpose()?.unwrap_or(today);
        let from = match from {
            Some(text) => parse_date("from", text)?,
            None => to
                .checked_sub_days(Days::new(RANGE_DAYS_DEFAULT - 1))
                .ok_or_else(|| ApiError::validation("to", "out of range"))?,
        };
        if from > to {
            return Err(ApiError::validation("from", "must not be after `to`"));
        }
        let days = to.signed_duration_since(from).num_days() + 1;
        if days > RANGE_DAYS_MAX as i64 {
            return Err(ApiError::validation("from", format!("at most {RANGE_DAYS_MAX} days from `from` to `to`")));
        }
        Ok(DateRange { from, to })
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }

    /// [start, end) in UTC: Shanghai midnight of `from` to Shanghai midnight after `to`.
    pub fn instants(&self) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
        let after = self.to.checked_add_days(Days::new(1)).ok_or_else(|| ApiError::validation("to", "out of range"))?;
        Ok((shanghai_midnight(self.from)?, shanghai_midnight(after)?))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    pub fn parse(text: Option<&str>) -> Result<Period, ApiError> {
        match text {
            None | Some("day") => Ok(Period::Day),
            Some("week") => Ok(Period::Week),
            Some("month") => Ok(Period::Month),
            Some(_) => Err(ApiError::validation("period", "day, week or month")),
        }
    }

    /// The first day of the bucket a date falls in: the day, its week's Monday, its month's 1st.
    pub fn bucket_start(self, date: NaiveDate) -> NaiveDate {
        match self {
            Period::Day => date,
            Period::Week => {
                date.checked_sub_days(Days::new(u64::from(date.weekday().num_days_from_monday()))).unwrap_or(date)
            }
            Period::Month => date.with_day(1).unwrap_or(date),
        }
    }

    fn next_bucket(self, start: NaiveDate) -> Option<NaiveDate> {
        match self {
            Period::Day => start.checked_add_days(Days::new(1)),
            Period::Week => start.checked_add_days(Days::new(7)),
            Period::Month => start.checked_add_months(chrono::Months::new(1)),
        }
    }

    /// Every bucket start from the one holding `range.from` to the one holding `range.to`.
    pub fn buckets(self, range: &DateRange) -> Vec<NaiveDate> {
        let mut starts = Vec::new();
        let mut start = Some(self.bucket_start(range.from));
        while let Some(current) = start.filter(|s| *s <= range.to) {
            starts.push(current);
            start = self.next_bucket(current);
        }
        starts
    }
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

    fn range(from: &str, to: &str) -> DateRange {
        DateRange::parse(Some(from), Some(to), date("2026-12-31")).unwrap()
    }

    #[test]
    fn ranges_default_and_are_checked() {
        let today = date("2026-11-22");
        let default = DateRange::parse(None, None, today).unwrap();
        assert_eq!((default.from(), default.to()), (date("2026-10-24"), today));
        assert!(DateRange::parse(Some("2026-11-23"), Some("2026-11-22"), today).is_err());
        assert!(DateRange::parse(Some("2025-11-22"), Some("2026-11-22"), today).is_ok(), "366 days");
        assert!(DateRange::parse(Some("2025-11-21"), Some("2026-11-22"), today).is_err(), "367 days");
        assert!(DateRange::parse(Some("2026-13-01"), None, today).is_err());
        assert!(DateRange::parse(Some("2026-11-01T00:00:00Z"), None, today).is_err());
        let (start, end) = range("2026-11-01", "2026-11-02").instants().unwrap();
        assert_eq!(start, at("2026-10-31T16:00:00Z"));
        assert_eq!(end, at("2026-11-02T16:00:00Z"));
    }

    #[test]
    fn buckets_are_shanghai_days_mondays_and_months() {
        assert_eq!(shanghai_date(at("2026-11-01T15:59:59Z")), date("2026-11-01"));
        assert_eq!(shanghai_date(at("2026-11-01T16:00:00Z")), date("2026-11-02"));
        let r = range("2026-10-30", "2026-11-10");
        assert_eq!(Period::Day.buckets(&r).len(), 12);
        // 2026-10-30 is a Friday: its week starts on Monday 26 October.
        assert_eq!(Period::Week.buckets(&r), vec![date("2026-10-26"), date("2026-11-02"), date("2026-11-09")]);
        assert_eq!(Period::Month.buckets(&r), vec![date("2026-10-01"), date("2026-11-01")]);
        assert_eq!(Period::Month.bucket_start(date("2024-02-29")), date("2024-02-01"));
        assert!(Period::parse(Some("year")).is_err());
    }
}
