//! The use cases of service hours: the organiser's review list, bulk approval, adjustment and
//! decline, each owning its transaction, in which every record and its points transfer commit
//! together (DESIGN invariant 6); the leaderboard and the volunteer's notice follow the commit.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use ehome_entities::{hour_record, user};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::decide::{self, Decision, Previous};
use super::error::HoursError;
use super::hours::{self, Measured};
use super::leaderboard;
use super::lifecycle::{Kind, RecordStatus};
use super::store;
use crate::authz::{self, Actor, Case};
use crate::domain::{ActivityId, UserId};
use crate::platform::error::{ApiError, ApiResult};
use crate::scenes::activities::lifecycle::Status;
use crate::scenes::activities::service::{self as activities, ActivityForHours, Attendance};
use crate::scenes::notifications::{self, Notice};
use crate::state::AppState;

/// How often a decision runs its transaction again after a concurrent writer got there first.
const ATTEMPTS_MAX: u32 = 5;

/// One line of the organiser's review: the attendance, what it measures, its records so far.
pub struct ReviewLine {
    pub attendance: Attendance,
    pub measured: Measured,
    pub records: Vec<hour_record::Model>,
}

pub struct Review {
    pub activity: ActivityForHours,
    pub lines: Vec<ReviewLine>,
}

/// The activity, if the caller may organise it; one they may not organise is forbidden.
async fn organised(state: &AppState, actor: &Actor, id: ActivityId) -> ApiResult<ActivityForHours> {
    let activity = activities::activity_for_hours(&state.db, id).await?;
    if !activities::may_organise(actor, &activity).await {
        return Err(ApiError::Forbidden);
    }
    Ok(activity)
}

fn open_for_review(activity: &ActivityForHours) -> ApiResult<()> {
    match activity.status {
        Status::Ended | Status::HoursApproved => Ok(()),
        other => Err(HoursError::HoursNotOpen { status: other.as_str().to_owned() }.into()),
    }
}

/// The attendance list with the minutes each would earn now, flags, and the records already made.
pub async fn review(state: &AppState, actor: &Actor, id: ActivityId) -> ApiResult<Review> {
    let activity = organised(state, actor, id).await?;
    let attendance = activities::attendance(&state.db, id).await?;
    let mut records: HashMap<i64, Vec<hour_record::Model>> = HashMap::new();
    for record in store::of_activity(&state.db, id.0).await? {
        records.entry(record.signup_id).or_default().push(record);
    }
    let lines = attendance
        .into_iter()
        .map(|a| ReviewLine {
            measured: decide::measure(&activity, &a),
            records: records.remove(&a.signup_id).unwrap_or_default(),
            attendance: a,
        })
        .collect();
    Ok(Review { activity, lines })
}

/// The sign-up of the activity a decision is about; refuses a decider who is its volunteer.
fn signup_of<'a>(actor: &Actor, attendance: &'a [Attendance], signup_id: i64) -> ApiResult<&'a Attendance> {
    let found = attendance.iter().find(|a| a.signup_id == signup_id).ok_or(ApiError::NotFound("sign-up"))?;
    authz::not_a_party(actor.id, &Case::VolunteerHours { volunteer: found.user_id })?;
    Ok(found)
}

/// Runs a decision's transaction again while a concurrent writer gets there first.
async fn with_retries<T>(mut attempt: impl AsyncFnMut() -> ApiResult<T>) -> ApiResult<T> {
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt().await {
            Err(err) if decide::is_retry(&err) && tries < ATTEMPTS_MAX => {
                // A little longer each time, so racing instances stop meeting on the same rows.
                tokio::time::sleep(std::time::Duration::from_millis(10 * u64::from(tries))).await;
            }
            Err(err) if decide::is_retry(&err) => return Err(ApiError::Unavailable(err.to_string())),
            other => return other,
        }
    }
}

/// Serialises the decisions about the same volunteers' hours on PostgreSQL (their daily cap reads
/// what the others credit); SQLite's writer is one at a time already.
async fn lock_volunteers(db: &impl ConnectionTrait, users: &[UserId]) -> ApiResult<()> {
    if db.get_database_backend() == DatabaseBackend::Postgres && !users.is_empty() {
        user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::Id.is_in(users.iter().map(|u| u.0)))
            .order_by_asc(user::Column::Id)
            .lock_exclusive()
            .into_tuple::<i64>()
            .all(db)
            .await?;
    }
    Ok(())
}

/// Moves the activity to `hours_approved` once every confirmed sign-up has its original decision.
/// The status is read again inside the transaction; of two deciders that both see the last sign-up
/// decided, one moves it and the other finds it moved (the activities scene's compare-and-set), which
/// is no failure of this decision.
async fn close_when_all_decided(
    db: &impl ConnectionTrait,
    activity: &ActivityForHours,
    attendance: &[Attendance],
    now: DateTime<Utc>,
) -> ApiResult<bool> {
    if activities::activity_for_hours(db, activity.id).await?.status != Status::Ended {
        return Ok(false);
    }
    let decided: HashSet<i64> = store::of_activity(db, activity.id.0).await?.iter().map(|r| r.signup_id).collect();
    if !attendance.iter().all(|a| decided.contains(&a.signup_id)) {
        return Ok(false);
    }
    match activities::mark_hours_approved(db, activity.id, now).await {
        Ok(()) => Ok(true),
        Err(ApiError::Activities(_)) => Ok(false),
        Err(other) => Err(other),
    }
}

/// What an approval, adjustment or decline wrote.
pub struct Decided {
    pub records: Vec<hour_record::Model>,
    pub hours_approved: bool,
}

/// Approves the hours of the named sign-ups (all undecided ones but the caller's own when none are
/// named): one transaction, each record with its award. Sign-ups already decided are left as they
/// are, so approving twice, from two instances at once or after a crash awards once.
pub async fn approve(
    state: &AppState,
    actor: &Actor,
    id: ActivityId,
    signup_ids: Option<Vec<i64>>,
) -> ApiResult<Decided> {
    let activity = organised(state, actor, id).await?;
    open_for_review(&activity)?;
    let attendance = activities::attendance(&state.db, id).await?;
    let chosen: Vec<Attendance> = match signup_ids {
        Some(mut ids) => {
            ids.sort_unstable();
            ids.dedup();
            let mut chosen = Vec::new();
            for signup_id in ids {
                chosen.push(signup_of(actor, &attendance, signup_id)?.clone());
            }
            chosen
        }
        None => attendance.iter().filter(|a| a.user_id != actor.id).cloned().collect(),
    };
    let decided = with_retries(async || approve_once(state, actor, &activity, &attendance, &chosen).await).await?;
    after_commit(state, &activity, &decided.records).await;
    Ok(decided)
}

async fn approve_once(
    state: &AppState,
    actor: &Actor,
    activity: &ActivityForHours,
    attendance: &[Attendance],
    chosen: &[Attendance],
) -> ApiResult<Decided> {
    let now = state.clock.now();
    let caps = decide::caps(activity, state.settings.hours.daily_hours_max);
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let users: Vec<UserId> = chosen.iter().map(|a| a.user_id).collect();
    lock_volunteers(&txn, &users).await?;
    let decided: HashSet<i64> = store::of_activity(&txn, activity.id.0).await?.iter().map(|r| r.signup_id).collect();
    let elsewhere = decide::credited_elsewhere(&txn, activity, &users).await?;
    let mut records = Vec::new();
    for one in chosen.iter().filter(|a| !decided.contains(&a.signup_id)) {
        let measured = decide::measure(activity, one);
        let portions = decide::attended_portions(activity, &measured);
        let theirs = elsewhere.get(&one.user_id).cloned().unwrap_or_default();
        let credit = hours::credit(measured.minutes, &portions, &theirs, caps);
        let decision = Decision {
            kind: Kind::Original,
            corrects_id: None,
            status: RecordStatus::Approved,
            minutes: measured.minutes,
            points_minor: decide::points_for(activity, credit.minutes)?,
            credit,
            previous: Previous::default(),
            flags: measured.flags,
            reason: None,
        };
        let record = decide::write(&txn, activity, one, decision, &[], actor.id, now).await?;
        notifications::record(&txn, &approved_notice(activity, &record), now).await?;
        records.push(record);
    }
    let hours_approved = close_when_all_decided(&txn, activity, attendance, now).await?;
    txn.commit().await?;
    Ok(Decided { records, hours_approved })
}

/// Corrects a decided sign-up's hours to `minutes`: a new record naming the latest one; the
/// difference in points is awarded or taken back in the same transaction.
pub async fn adjust(
    state: &AppState,
    actor: &Actor,
    id: ActivityId,
    signup_id: i64,
    minutes: i64,
    reason: String,
) -> ApiResult<Decided> {
    let activity = organised(state, actor, id).await?;
    open_for_review(&activity)?;
    let attendance = activities::attendance(&state.db, id).await?;
    let one = signup_of(actor, &attendance, signup_id)?.clone();
    let reason = crate::identity::author::screen(state, actor.id, crate::platform::wechat::TextScene::Comment, reason)
        .await?
        .into_inner();
    let decided = with_retries(async || adjust_once(state, actor, &activity, &one, minutes, &reason).await).await?;
    after_commit(state, &activity, &decided.records).await;
    Ok(decided)
}

async fn adjust_once(
    state: &AppState,
    actor: &Actor,
    activity: &ActivityForHours,
    one: &Attendance,
    minutes: i64,
    reason: &str,
) -> ApiResult<Decided> {
    let now = state.clock.now();
    let caps = decide::caps(activity, state.settings.hours.daily_hours_max);
    let txn = crate::platform::db::begin_write(&state.db).await?;
    lock_volunteers(&txn, &[one.user_id]).await?;
    let chain = store::of_signup(&txn, one.signup_id).await?;
    let latest = decide::latest(&chain).ok_or(HoursError::NotDecided)?;
    let portions = decide::window_portions(activity);
    let elsewhere = decide::credited_elsewhere(&txn, activity, &[one.user_id]).await?;
    let theirs = elsewhere.get(&one.user_id).cloned().unwrap_or_default();
    let credit = hours::credit(minutes, &portions, &theirs, caps);
    let mut flags = Vec::new();
    if hours::is_short(minutes, decide::window_of(activity).minutes()) {
        flags.push(super::lifecycle::Flag::ShortAttendance);
    }
    let decision = Decision {
        kind: Kind::Adjustment,
        corrects_id: Some(latest.id),
        status: RecordStatus::Approved,
        minutes,
        points_minor: decide::points_for(activity, credit.minutes)?,
        credit,
        previous: Previous::of(latest),
        flags,
        reason: Some(reason.to_owned()),
    };
    let record = decide::write(&txn, activity, one, decision, &chain, actor.id, now).await?;
    notifications::record(&txn, &adjusted_notice(activity, &record), now).await?;
    txn.commit().await?;
    Ok(Decided { records: vec![record], hours_approved: false })
}

/// Declines an undecided sign-up's hours, with a reason: an original record that credits nothing.
pub async fn decline(
    state: &AppState,
    actor: &Actor,
    id: ActivityId,
    signup_id: i64,
    reason: String,
) -> ApiResult<Decided> {
    let activity = organised(state, actor, id).await?;
    open_for_review(&activity)?;
    let attendance = activities::attendance(&state.db, id).await?;
    let one = signup_of(actor, &attendance, signup_id)?.clone();
    let reason = crate::identity::author::screen(state, actor.id, crate::platform::wechat::TextScene::Comment, reason)
        .await?
        .into_inner();
    let outcome = with_retries(async || decline_once(state, actor, &activity, &attendance, &one, &reason).await).await;
    match outcome {
        // The unique index found the original another decider wrote meanwhile.
        Err(ApiError::Unavailable(_)) => Err(HoursError::AlreadyDecided.into()),
        Ok(decided) => {
            let notices = decided.records.iter().map(|record| declined_notice(&activity, record));
            notifications::push_all(state, notices, state.clock.now()).await;
            crate::scenes::requests::service::stats_changed(state, [activity.community_id]).await;
            Ok(decided)
        }
        Err(other) => Err(other),
    }
}

async fn decline_once(
    state: &AppState,
    actor: &Actor,
    activity: &ActivityForHours,
    attendance: &[Attendance],
    one: &Attendance,
    reason: &str,
) -> ApiResult<Decided> {
    let now = state.clock.now();
    let txn = crate::platform::db::begin_write(&state.db).await?;
    if !store::of_signup(&txn, one.signup_id).await?.is_empty() {
        return Err(HoursError::AlreadyDecided.into());
    }
    let measured = decide::measure(activity, one);
    let decision = Decision {
        kind: Kind::Original,
        corrects_id: None,
        status: RecordStatus::Declined,
        minutes: measured.minutes,
        credit: hours::Credit::default(),
        points_minor: 0,
        previous: Previous::default(),
        flags: measured.flags,
        reason: Some(reason.to_owned()),
    };
    let record = decide::write(&txn, activity, one, decision, &[], actor.id, now).await?;
    notifications::record(&txn, &declined_notice(activity, &record), now).await?;
    let hours_approved = close_when_all_decided(&txn, activity, attendance, now).await?;
    txn.commit().await?;
    Ok(Decided { records: vec![record], hours_approved })
}

/// After the commit: the volunteers' wallets are read afresh, the leaderboards count the new hours,
/// and the volunteers are told.
async fn after_commit(state: &AppState, activity: &ActivityForHours, records: &[hour_record::Model]) {
    crate::scenes::wallet::changed(state, records.iter().map(|record| UserId(record.user_id))).await;
    let now = state.clock.now();
    let notices = records.iter().map(|record| match store::kind_of(record) {
        Ok(Kind::Adjustment) => adjusted_notice(activity, record),
        _ => approved_notice(activity, record),
    });
    notifications::push_all(state, notices, now).await;
    let credited: Vec<(UserId, chrono::NaiveDate, i64)> = records
        .iter()
        .filter(|r| r.credited_delta_minutes != 0)
        .map(|r| (UserId(r.user_id), r.service_day, i64::from(r.credited_delta_minutes)))
        .collect();
    leaderboard::count(state, activity.community_id, &credited).await;
    // The committee's statistics count the hours and the activities held.
    crate::scenes::requests::service::stats_changed(state, [activity.community_id]).await;
}

fn hours_and_points(record: &hour_record::Model) -> String {
    let points = crate::points::Points::from_minor(record.points_minor).unwrap_or_default();
    format!("{} 小时，{} 积分", hours::hours_text(i64::from(record.credited_minutes)), points)
}

fn approved_notice(activity: &ActivityForHours, record: &hour_record::Model) -> Notice {
    Notice {
        user_id: record.user_id,
        kind: "hours_approved",
        title: activity.title.clone(),
        body: format!("您参加的「{}」服务时长已确认：{}", activity.title, hours_and_points(record)),
        request_id: None,
        phrase: "已确认".to_owned(),
    }
}

fn adjusted_notice(activity: &ActivityForHours, record: &hour_record::Model) -> Notice {
    Notice {
        user_id: record.user_id,
        kind: "hours_adjusted",
        title: activity.title.clone(),
        body: format!("您参加的「{}」服务时长已调整为：{}", activity.title, hours_and_points(record)),
        request_id: None,
        phrase: "已调整".to_owned(),
    }
}

fn declined_notice(activity: &ActivityForHours, record: &hour_record::Model) -> Notice {
    let reason = record.reason.clone().unwrap_or_default();
    Notice {
        user_id: record.user_id,
        kind: "hours_declined",
        title: activity.title.clone(),
        body: format!("您参加的「{}」服务时长未通过审核：{reason}", activity.title),
        request_id: None,
        phrase: "未通过".to_owned(),
    }
}
