//! Attendance on site: the organiser's rotating code (and a printable mini-program code carrying the
//! activity), and the confirmed volunteer's check-in and check-out with it, within the window from
//! 30 minutes before the start to the end. A location outside the activity's radius is accepted and
//! flagged; attempts are rate limited per volunteer; checking in (or out) twice changes nothing.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use ehome_entities::{activity, activity_signup};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::code;
use super::error::ActivityError;
use super::for_hours::status_of;
use super::signups::{self, SignupStatus};
use crate::domain::{ActivityId, UserId};
use crate::platform::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Check-in opens this long before the start.
pub const OPENS_BEFORE_START_MINUTES: i64 = 30;
/// Code attempts a volunteer may make per activity in the window below.
pub const ATTEMPTS_MAX: u32 = 10;
pub const ATTEMPTS_WINDOW: StdDuration = StdDuration::from_secs(300);
/// The mini-program page the printed code opens (its `scene` is `a=<activity id>`).
pub const CHECKIN_PAGE: &str = "pages/activity/checkin";
pub const WXA_CODE_WIDTH: u32 = 430;

pub const FLAG_OUTSIDE_RADIUS: &str = "outside_radius";
pub const FLAG_NO_LOCATION: &str = "no_location";
pub const FLAG_AUTO_CHECKOUT: &str = "auto_checkout";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
}

/// What the volunteer's phone sends: the code it read, and where it is if it may say.
pub struct Presence {
    pub code: String,
    pub location: Option<(f64, f64)>,
}

/// The code the organiser's phone shows now, and when it changes.
pub struct ShownCode {
    pub code: String,
    pub step_ends_at: DateTime<Utc>,
}

pub fn shown_code(activity: &activity::Model, now: DateTime<Utc>) -> ApiResult<ShownCode> {
    if !status_of(activity)?.takes_attendance() {
        return Err(ActivityError::OutsideCheckinWindow.into());
    }
    Ok(ShownCode { code: code::code_at(&activity.checkin_secret, now), step_ends_at: code::step_ends_at(now) })
}

pub async fn wxa_code(state: &AppState, activity: &activity::Model) -> ApiResult<Vec<u8>> {
    let scene = format!("a={}", activity.id);
    Ok(state.wechat.wxa_code(&scene, CHECKIN_PAGE, WXA_CODE_WIDTH).await?)
}

fn in_window(activity: &activity::Model, now: DateTime<Utc>) -> bool {
    now >= activity.starts_at - Duration::minutes(OPENS_BEFORE_START_MINUTES) && now <= activity.ends_at
}

/// The flag a location earns: outside the radius, or none given where the activity has a place.
fn location_flag(activity: &activity::Model, location: Option<(f64, f64)>) -> Option<&'static str> {
    let (Some(latitude), Some(longitude), Some(radius_m)) = (activity.latitude, activity.longitude, activity.radius_m)
    else {
        return None;
    };
    match location {
        None => Some(FLAG_NO_LOCATION),
        Some(at) if code::distance_m((latitude, longitude), at) > f64::from(radius_m) => Some(FLAG_OUTSIDE_RADIUS),
        Some(_) => None,
    }
}

/// Checks the volunteer in or out with the code. Refusals in order: not confirmed, outside the
/// window, too many attempts, wrong or stale code.
pub async fn attend(
    state: &AppState,
    activity: &activity::Model,
    user: UserId,
    direction: Direction,
    presence: Presence,
) -> ApiResult<activity_signup::Model> {
    let id = ActivityId(activity.id);
    let now = state.clock.now();
    let mine = signups::of_user(&state.db, id, user)
        .await?
        .filter(|row| row.status == SignupStatus::Confirmed.as_str())
        .ok_or(ActivityError::NotSignedUp)?;
    if !status_of(activity)?.takes_attendance() || !in_window(activity, now) {
        return Err(ActivityError::OutsideCheckinWindow.into());
    }
    let key = format!("rl:checkin:{}:{}", activity.id, user);
    // The attempts guard the check-in code: uncounted guesses are refused (fail closed).
    crate::platform::rate_limit::check_in_or_refuse(state, &key, ATTEMPTS_MAX, ATTEMPTS_WINDOW).await?;
    if !code::accepts(&activity.checkin_secret, presence.code.trim(), now) {
        return Err(ActivityError::CheckinCodeInvalid.into());
    }
    let flag = location_flag(activity, presence.location).map(str::to_owned);
    let (at_column, flags_column, done) = match direction {
        Direction::In => {
            (activity_signup::Column::CheckedInAt, activity_signup::Column::CheckinFlags, mine.checked_in_at)
        }
        Direction::Out => {
            if mine.checked_in_at.is_none() {
                return Err(ActivityError::NotCheckedIn.into());
            }
            (activity_signup::Column::CheckedOutAt, activity_signup::Column::CheckoutFlags, mine.checked_out_at)
        }
    };
    if done.is_some() {
        return Ok(mine);
    }
    // Set once: of two check-ins racing, the first time stands.
    activity_signup::Entity::update_many()
        .col_expr(at_column, Expr::value(now))
        .col_expr(flags_column, Expr::value(flag))
        .col_expr(activity_signup::Column::UpdatedAt, Expr::value(now))
        .filter(activity_signup::Column::Id.eq(mine.id))
        .filter(at_column.is_null())
        .exec(&state.db)
        .await?;
    activity_signup::Entity::find_by_id(mine.id).one(&state.db).await?.ok_or(ApiError::NotFound("signup"))
}
