//! How hour records and review lines are shown: hours and points as decimal strings, flags as words.

use chrono::{DateTime, NaiveDate, Utc};
use ehome_entities::hour_record;
use serde::Serialize;

use super::hours::hours_text;
use super::lifecycle::{Flag, parse_flags};
use super::service::ReviewLine;
use crate::points::points_text;

#[derive(Debug, Serialize)]
pub struct RecordView {
    pub id: i64,
    pub activity_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_title: Option<String>,
    pub signup_id: i64,
    pub user_id: i64,
    pub kind: String,
    pub corrects_id: Option<i64>,
    pub status: String,
    /// Measured (or, for an adjustment, set) minutes, rounded down to quarter hours.
    pub minutes: i32,
    pub hours: String,
    /// Minutes after the caps: what counts and earns points.
    pub credited_minutes: i32,
    pub credited_hours: String,
    pub points: String,
    /// What this record changed in the volunteer's points (negative when it took some back).
    pub points_change: String,
    pub transfer_id: Option<String>,
    pub flags: Vec<Flag>,
    pub reason: Option<String>,
    pub decided_by: i64,
    pub service_day: NaiveDate,
    pub created_at: DateTime<Utc>,
}

pub fn record_view(record: hour_record::Model, activity_title: Option<String>) -> RecordView {
    RecordView {
        id: record.id,
        activity_id: record.activity_id,
        activity_title,
        signup_id: record.signup_id,
        user_id: record.user_id,
        hours: hours_text(i64::from(record.minutes)),
        credited_hours: hours_text(i64::from(record.credited_minutes)),
        points: points_text(record.points_minor),
        points_change: points_text(record.points_delta_minor),
        flags: parse_flags(Some(&record.flags)),
        kind: record.kind,
        corrects_id: record.corrects_id,
        status: record.status,
        minutes: record.minutes,
        credited_minutes: record.credited_minutes,
        transfer_id: record.transfer_id,
        reason: record.reason,
        decided_by: record.decided_by,
        service_day: record.service_day,
        created_at: record.created_at,
    }
}

#[derive(Debug, Serialize)]
pub struct ReviewLineView {
    pub signup_id: i64,
    pub user_id: i64,
    pub nickname: Option<String>,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub checked_out_at: Option<DateTime<Utc>>,
    /// What the attendance measures now: clipped, rounded down to quarter hours.
    pub minutes: i64,
    pub hours: String,
    pub flags: Vec<Flag>,
    /// Whether the sign-up has its original decision.
    pub decided: bool,
    pub records: Vec<RecordView>,
}

pub fn review_line_view(line: ReviewLine, nickname: Option<String>) -> ReviewLineView {
    ReviewLineView {
        signup_id: line.attendance.signup_id,
        user_id: line.attendance.user_id.0,
        nickname,
        checked_in_at: line.attendance.checked_in_at,
        checked_out_at: line.attendance.checked_out_at,
        minutes: line.measured.minutes,
        hours: hours_text(line.measured.minutes),
        flags: line.measured.flags,
        decided: !line.records.is_empty(),
        records: line.records.into_iter().map(|r| record_view(r, None)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_show_with_their_sign() {
        assert_eq!(points_text(1250), "12.50");
        assert_eq!(points_text(-250), "-2.50");
        assert_eq!(points_text(0), "0.00");
    }
}
