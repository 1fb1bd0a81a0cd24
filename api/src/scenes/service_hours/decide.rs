//! How one decision becomes a record: the attendance measured, the minutes credited within the caps
//! (reading the volunteer's other credited minutes that day in the deciding transaction), the points
//! they earn, and the transfer that moves those points in the same transaction.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use ehome_entities::hour_record;
use sea_orm::ConnectionTrait;

use super::hours::{self, Caps, Measured, Window};
use super::lifecycle::{Flag, Kind, RecordStatus, parse_flags};
use super::store::{self, NewRecord};
use crate::domain::UserId;
use crate::platform::error::ApiError;
use crate::points::{self, Award, AwardKey, Points, PointsError, TransferId};
use crate::scenes::activities::service::{ActivityForHours, Attendance};

/// A conflict that running the transaction again resolves: a concurrent approval wrote the same
/// original record first (its unique index), or the ledger was busy.
#[derive(Debug, thiserror::Error)]
#[error("a concurrent writer got there first; run the transaction again")]
pub struct Retry;

/// Points errors, with `Busy` marked for a retry.
pub fn points_error(err: PointsError) -> ApiError {
    if err.is_retryable() { ApiError::internal(Retry) } else { err.into() }
}

/// Whether the error means "roll back and run the transaction again".
pub fn is_retry(err: &ApiError) -> bool {
    let ApiError::Internal(inner) = err else {
        return false;
    };
    if inner.downcast_ref::<Retry>().is_some() {
        return true;
    }
    inner.downcast_ref::<sea_orm::DbErr>().is_some_and(|db| {
        matches!(db.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
            || ehome_ledger::retry::is_retryable(db)
    })
}

pub fn window_of(activity: &ActivityForHours) -> Window {
    Window { starts_at: activity.starts_at, ends_at: activity.ends_at }
}

/// The day a record is filed under: the Shanghai day its activity started.
pub fn service_day(activity: &ActivityForHours) -> NaiveDate {
    hours::shanghai_date(activity.starts_at)
}

/// What the attendance measures, with the activities scene's check-in and check-out flags.
pub fn measure(activity: &ActivityForHours, attendance: &Attendance) -> Measured {
    let mut measured = hours::measure(window_of(activity), attendance.checked_in_at, attendance.checked_out_at);
    measured.flags.extend(parse_flags(attendance.checkin_flags.as_deref()));
    measured.flags.extend(parse_flags(attendance.checkout_flags.as_deref()));
    measured.flags.sort();
    measured.flags.dedup();
    measured
}

/// The caps of an activity for a volunteer.
pub fn caps(activity: &ActivityForHours, daily_hours_max: u32) -> Caps {
    Caps { daily_minutes_max: i64::from(daily_hours_max) * 60, activity_minutes_max: window_of(activity).minutes() }
}

/// What the volunteers have credited on the days of the activity's window at other activities.
pub async fn credited_elsewhere(
    db: &impl ConnectionTrait,
    activity: &ActivityForHours,
    users: &[UserId],
) -> Result<HashMap<UserId, BTreeMap<NaiveDate, i64>>, ApiError> {
    let window = window_portions(activity);
    let (Some(first), Some(last)) = (window.first(), window.last()) else {
        return Ok(HashMap::new());
    };
    store::credited_by_day(db, users, first.0, last.0, activity.id.0).await
}

/// The days an attendance falls on: the attended part of the window, else the day it started.
pub fn attended_portions(activity: &ActivityForHours, measured: &Measured) -> Vec<(NaiveDate, i64)> {
    match measured.attended {
        Some((from, to)) => hours::by_shanghai_day(from, to),
        None => vec![(service_day(activity), 0)],
    }
}

/// The days of the activity's scheduled window (where an adjustment's minutes fall).
pub fn window_portions(activity: &ActivityForHours) -> Vec<(NaiveDate, i64)> {
    let portions = hours::by_shanghai_day(activity.starts_at, activity.ends_at);
    if portions.is_empty() { vec![(service_day(activity), 0)] } else { portions }
}

pub fn points_for(activity: &ActivityForHours, credited_minutes: i64) -> Result<i64, ApiError> {
    hours::points_minor(credited_minutes, activity.points_per_hour_minor)
        .ok_or_else(|| ApiError::validation("minutes", "too many points"))
}

/// A record about to be written for a sign-up of `activity`.
pub struct Decision {
    pub kind: Kind,
    pub corrects_id: Option<i64>,
    pub status: RecordStatus,
    pub minutes: i64,
    pub credit: hours::Credit,
    pub points_minor: i64,
    pub previous: Previous,
    pub flags: Vec<Flag>,
    pub reason: Option<String>,
}

/// What counted for the sign-up before this decision (nothing before its original record).
#[derive(Debug, Clone, Copy, Default)]
pub struct Previous {
    pub credited_minutes: i64,
    pub points_minor: i64,
}

impl Previous {
    pub fn of(record: &hour_record::Model) -> Previous {
        if record.status == RecordStatus::Approved.as_str() {
            Previous { credited_minutes: i64::from(record.credited_minutes), points_minor: record.points_minor }
        } else {
            Previous::default()
        }
    }
}

/// Writes the record and moves its points: the difference it makes is awarded, or taken back along
/// an earlier award of the same sign-up (`chain`: its earlier records, oldest first).
pub async fn write(
    db: &impl ConnectionTrait,
    activity: &ActivityForHours,
    attendance: &Attendance,
    decision: Decision,
    chain: &[hour_record::Model],
    decided_by: UserId,
    now: DateTime<Utc>,
) -> Result<hour_record::Model, ApiError> {
    let mut flags = decision.flags;
    flags.extend(decision.credit.flags.iter().copied());
    let credited = decision.credit.minutes;
    let points_delta = decision.points_minor - decision.previous.points_minor;
    let new = NewRecord {
        community_id: activity.community_id.0,
        activity_id: activity.id.0,
        user_id: attendance.user_id.0,
        signup_id: attendance.signup_id,
        kind: decision.kind,
        corrects_id: decision.corrects_id,
        status: decision.status,
        minutes: decision.minutes,
        credited_minutes: credited,
        points_minor: decision.points_minor,
        credited_delta_minutes: credited - decision.previous.credited_minutes,
        points_delta_minor: points_delta,
        credited_by_day: decision.credit.by_day,
        flags,
        reason: decision.reason,
        decided_by: decided_by.0,
        service_day: service_day(activity),
    };
    let record = store::insert(db, new, now).await?;
    let posted = move_points(db, activity, &record, points_delta, chain, now).await?;
    if let Some(transfer) = posted {
        store::set_transfer(db, record.id, &transfer.to_text()).await?;
        return Ok(hour_record::Model { transfer_id: Some(transfer.to_text()), ..record });
    }
    Ok(record)
}

async fn move_points(
    db: &impl ConnectionTrait,
    activity: &ActivityForHours,
    record: &hour_record::Model,
    points_delta: i64,
    chain: &[hour_record::Model],
    now: DateTime<Utc>,
) -> Result<Option<TransferId>, ApiError> {
    let awards = || chain.iter().rev().filter(|r| r.points_delta_minor > 0).filter_map(award_of);
    if points_delta > 0 {
        let amount = Points::from_minor(points_delta).map_err(points_error)?;
        // An increase names the sign-up's first award (its original), as the adjustment key asks.
        let first_award = chain.iter().filter(|r| r.points_delta_minor > 0).find_map(award_of);
        let key = match first_award {
            Some((original, _)) => AwardKey::HoursAdjustment { adjustment: record.id, corrects: original },
            None => AwardKey::VolunteerHours(record.id),
        };
        let award = Award { community: activity.community_id, user: UserId(record.user_id), amount, key };
        let posted = points::award(db, &award, now).await.map_err(points_error)?;
        return Ok(Some(posted.id));
    }
    if points_delta < 0 {
        let amount_minor = -points_delta;
        let (corrects, _) = awards()
            .find(|(_, awarded)| *awarded >= amount_minor)
            .ok_or_else(|| ApiError::validation("minutes", "lower these hours in smaller steps"))?;
        let amount = Points::from_minor(amount_minor).map_err(points_error)?;
        let posted = points::reverse_part(db, record.id, corrects, amount, now).await.map_err(points_error)?;
        return Ok(Some(posted.id));
    }
    Ok(None)
}

/// The transfer an earlier record awarded with, and how much it awarded.
fn award_of(record: &hour_record::Model) -> Option<(TransferId, i64)> {
    let id = TransferId::parse(record.transfer_id.as_deref()?).ok()?;
    Some((id, record.points_delta_minor))
}

/// The total a sign-up's chain counts now, keyed by nothing but its latest record.
pub fn latest(chain: &[hour_record::Model]) -> Option<&hour_record::Model> {
    chain.iter().max_by_key(|r| r.id)
}
