//! Sign-ups with capacity and a waitlist. Every sign-up and cancellation of an activity first takes
//! the activity's row (an `UPDATE` of its arrival counter), so they queue on it: the counter gives each
//! sign-up its arrival number, and a conditional `UPDATE … WHERE confirmed_count < capacity` decides
//! confirmed or waiting — confirmed never exceeds capacity and the waitlist is in arrival order,
//! however many instances race. A cancellation of a confirmed place promotes the first waiting
//! volunteer in the same transaction, so a place never stays free while someone waits. A
//! transaction that meets a busy database or a serialization failure runs again.

use chrono::{DateTime, Utc};
use ehome_entities::{activity, activity_signup};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
    TryIntoModel,
};

use super::error::ActivityError;
use super::lifecycle::Status;
use crate::domain::{ActivityId, UserId};
use crate::platform::error::ApiError;
use crate::scenes::notifications::Notice;
use crate::state::AppState;
use crate::stored_enum;

stored_enum! {
    pub enum SignupStatus {
        Confirmed => "confirmed",
        Waiting => "waiting",
        Cancelled => "cancelled",
    }
}

/// A failure inside a sign-up transaction: a database error that may be retried, or a refusal.
enum Failure {
    Db(DbErr),
    Refused(ApiError),
}

impl From<DbErr> for Failure {
    fn from(err: DbErr) -> Failure {
        Failure::Db(err)
    }
}

impl From<ActivityError> for Failure {
    fn from(err: ActivityError) -> Failure {
        Failure::Refused(err.into())
    }
}

/// Runs `attempt` in a write transaction, again after a busy database or a serialization failure.
async fn retrying<T, F, Fut>(state: &AppState, attempt: F) -> Result<T, ApiError>
where
    F: Fn(sea_orm::DatabaseTransaction) -> Fut,
    Fut: std::future::Future<Output = Result<(T, sea_orm::DatabaseTransaction), (Failure, sea_orm::DatabaseTransaction)>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        let txn = match crate::platform::db::begin_write(&state.db).await {
            Ok(txn) => txn,
            // SQLite's write lock stayed taken through the busy timeout: wait a little and try again.
            Err(err) if ehome_ledger::retry::is_retryable(&err) && tries < ehome_ledger::retry::MAX_ATTEMPTS => {
                tokio::time::sleep(ehome_ledger::retry::backoff(tries)).await;
                continue;
            }
            Err(err) => return Err(err.into()),
        };
        match attempt(txn).await {
            Ok((value, txn)) => match txn.commit().await {
                Ok(()) => return Ok(value),
                Err(err) if ehome_ledger::retry::is_retryable(&err) && tries < ehome_ledger::retry::MAX_ATTEMPTS => {}
                Err(err) => return Err(err.into()),
            },
            Err((Failure::Refused(err), txn)) => {
                txn.rollback().await?;
                return Err(err);
            }
            Err((Failure::Db(err), txn)) => {
                txn.rollback().await?;
                if !ehome_ledger::retry::is_retryable(&err) || tries >= ehome_ledger::retry::MAX_ATTEMPTS {
                    return Err(err.into());
                }
            }
        }
        tokio::time::sleep(ehome_ledger::retry::backoff(tries)).await;
    }
}

/// Takes the activity's row for this transaction and the next arrival number; `None` when the
/// activity no longer takes sign-ups.
async fn take_arrival(db: &impl ConnectionTrait, id: ActivityId, now: DateTime<Utc>) -> Result<Option<i64>, DbErr> {
    let updated = activity::Entity::update_many()
        .col_expr(activity::Column::SignupArrivals, Expr::col(activity::Column::SignupArrivals).add(1))
        .col_expr(activity::Column::UpdatedAt, Expr::value(now))
        .filter(activity::Column::Id.eq(id.0))
        .filter(activity::Column::Status.eq(Status::Published.as_str()))
        .exec(db)
        .await?;
    if updated.rows_affected != 1 {
        return Ok(None);
    }
    let row = activity::Entity::find_by_id(id.0).one(db).await?;
    Ok(row.map(|row| row.signup_arrivals))
}

/// One more confirmed place, if there is one left.
async fn take_place(db: &impl ConnectionTrait, id: ActivityId) -> Result<bool, DbErr> {
    let updated = activity::Entity::update_many()
        .col_expr(activity::Column::ConfirmedCount, Expr::col(activity::Column::ConfirmedCount).add(1))
        .filter(activity::Column::Id.eq(id.0))
        .filter(Expr::col(activity::Column::ConfirmedCount).lt(Expr::col(activity::Column::Capacity)))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

async fn find(
    db: &impl ConnectionTrait,
    id: ActivityId,
    user: UserId,
) -> Result<Option<activity_signup::Model>, DbErr> {
    activity_signup::Entity::find()
        .filter(activity_signup::Column::ActivityId.eq(id.0))
        .filter(activity_signup::Column::UserId.eq(user.0))
        .one(db)
        .await
}

fn is_active(row: &activity_signup::Model) -> bool {
    row.status != SignupStatus::Cancelled.as_str()
}

async fn sign_up_in(
    db: &impl ConnectionTrait,
    id: ActivityId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<activity_signup::Model, Failure> {
    let arrival = take_arrival(db, id, now).await?.ok_or(ActivityError::SignupClosed)?;
    let existing = find(db, id, user).await?;
    if existing.as_ref().is_some_and(is_active) {
        return Err(ActivityError::AlreadySignedUp.into());
    }
    let status = if take_place(db, id).await? { SignupStatus::Confirmed } else { SignupStatus::Waiting };
    let mut row = match existing {
        // Signing up again after cancelling: a new arrival, at the back of the queue.
        Some(cancelled) => cancelled.into(),
        None => activity_signup::ActiveModel {
            activity_id: Set(id.0),
            user_id: Set(user.0),
            created_at: Set(now),
            ..Default::default()
        },
    };
    row.status = Set(status.as_str().to_owned());
    row.arrival = Set(arrival);
    row.checked_in_at = Set(None);
    row.checkin_flags = Set(None);
    row.checked_out_at = Set(None);
    row.checkout_flags = Set(None);
    row.updated_at = Set(now);
    Ok(row.save(db).await?.try_into_model()?)
}

/// Signs the volunteer up: confirmed while places last, else waiting in arrival order. The caller
/// checked the volunteer, the audience and the deadline.
pub async fn sign_up(
    state: &AppState,
    id: ActivityId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<activity_signup::Model, ApiError> {
    retrying(state, |txn| async move {
        match sign_up_in(&txn, id, user, now).await {
            Ok(row) => Ok((row, txn)),
            Err(err) => Err((err, txn)),
        }
    })
    .await
}

/// The first waiting sign-up, confirmed in place of a cancelled one.
async fn promote_first(
    db: &impl ConnectionTrait,
    id: ActivityId,
    now: DateTime<Utc>,
) -> Result<Option<activity_signup::Model>, DbErr> {
    let first = activity_signup::Entity::find()
        .filter(activity_signup::Column::ActivityId.eq(id.0))
        .filter(activity_signup::Column::Status.eq(SignupStatus::Waiting.as_str()))
        .order_by_asc(activity_signup::Column::Arrival)
        .one(db)
        .await?;
    let Some(first) = first else { return Ok(None) };
    let mut row: activity_signup::ActiveModel = first.into();
    row.status = Set(SignupStatus::Confirmed.as_str().to_owned());
    row.updated_at = Set(now);
    Ok(Some(row.update(db).await?))
}

async fn cancel_in(
    db: &impl ConnectionTrait,
    id: ActivityId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<Option<activity_signup::Model>, Failure> {
    // The row lock first, as every sign-up takes it; a cancellation takes no arrival number, but
    // moving the counter is how it queues behind the sign-ups in flight.
    take_arrival(db, id, now).await?.ok_or(ActivityError::SignupClosed)?;
    let mine = find(db, id, user).await?.filter(is_active).ok_or(ActivityError::NotSignedUp)?;
    let was_confirmed = mine.status == SignupStatus::Confirmed.as_str();
    let mut row: activity_signup::ActiveModel = mine.into();
    row.status = Set(SignupStatus::Cancelled.as_str().to_owned());
    row.updated_at = Set(now);
    row.update(db).await?;
    if !was_confirmed {
        return Ok(None);
    }
    let promoted = promote_first(db, id, now).await?;
    if promoted.is_none() {
        activity::Entity::update_many()
            .col_expr(activity::Column::ConfirmedCount, Expr::col(activity::Column::ConfirmedCount).sub(1))
            .filter(activity::Column::Id.eq(id.0))
            .exec(db)
            .await?;
    }
    Ok(promoted)
}

/// Cancels the volunteer's sign-up; a confirmed place goes to the first waiting volunteer, who is
/// told (recorded in the same transaction, pushed after commit).
pub async fn cancel(
    state: &AppState,
    activity: &activity::Model,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<Option<activity_signup::Model>, ApiError> {
    let id = ActivityId(activity.id);
    let title = activity.title.clone();
    let promoted = retrying(state, |txn| {
        let title = title.clone();
        async move {
            let outcome = async {
                let promoted = cancel_in(&txn, id, user, now).await?;
                if let Some(row) = &promoted {
                    let notice = promotion_notice(row, &title);
                    crate::scenes::notifications::record(&txn, &notice, now).await.map_err(Failure::Refused)?;
                }
                Ok::<_, Failure>(promoted)
            }
            .await;
            match outcome {
                Ok(promoted) => Ok((promoted, txn)),
                Err(err) => Err((err, txn)),
            }
        }
    })
    .await?;
    if let Some(row) = &promoted {
        crate::scenes::notifications::push(state, promotion_notice(row, &activity.title), now).await;
    }
    Ok(promoted)
}

fn promotion_notice(row: &activity_signup::Model, title: &str) -> Notice {
    Notice {
        user_id: row.user_id,
        kind: "activity_signup",
        title: title.to_owned(),
        body: format!("您报名的「{title}」已有空位，您已从候补转为报名成功"),
        request_id: None,
        phrase: "报名成功".to_owned(),
    }
}

/// The waitlist position of a waiting sign-up (1 = next to be promoted).
pub async fn position(db: &impl ConnectionTrait, row: &activity_signup::Model) -> Result<Option<u64>, ApiError> {
    if row.status != SignupStatus::Waiting.as_str() {
        return Ok(None);
    }
    let ahead = activity_signup::Entity::find()
        .filter(activity_signup::Column::ActivityId.eq(row.activity_id))
        .filter(activity_signup::Column::Status.eq(SignupStatus::Waiting.as_str()))
        .filter(activity_signup::Column::Arrival.lt(row.arrival))
        .count(db)
        .await?;
    Ok(Some(ahead + 1))
}

/// Confirmed and waiting sign-ups in arrival order (positions are the waiting ones' order).
pub async fn active(db: &impl ConnectionTrait, id: ActivityId) -> Result<Vec<activity_signup::Model>, ApiError> {
    Ok(activity_signup::Entity::find()
        .filter(activity_signup::Column::ActivityId.eq(id.0))
        .filter(activity_signup::Column::Status.ne(SignupStatus::Cancelled.as_str()))
        .order_by_asc(activity_signup::Column::Arrival)
        .all(db)
        .await?)
}

pub async fn of_user(
    db: &impl ConnectionTrait,
    id: ActivityId,
    user: UserId,
) -> Result<Option<activity_signup::Model>, ApiError> {
    Ok(find(db, id, user).await?)
}

/// Whether the caller is among those the activity is for.
async fn in_audience(state: &AppState, user: UserId, row: &activity::Model) -> Result<bool, ApiError> {
    use super::lifecycle::Audience;
    use crate::domain::{CommunityId, TeamId};
    let audience = Audience::parse(&row.audience).unwrap_or(Audience::Community);
    let community_id = CommunityId(row.community_id);
    Ok(match (audience, row.audience_id) {
        (Audience::Community, _) => true,
        (Audience::Grid, Some(grid)) => {
            super::store::homes(&state.db, community_id, user).await?.iter().any(|(g, _)| *g == grid)
        }
        (Audience::Building, Some(building)) => {
            super::store::homes(&state.db, community_id, user).await?.iter().any(|(_, b)| *b == building)
        }
        (Audience::Team, Some(team)) => super::store::is_team_member(&state.db, TeamId(team), user).await?,
        (_, None) => false,
    })
}

/// The use case behind `POST /activities/{id}/signups`: an approved volunteer of the community, in
/// the audience, before the deadline. Returns the sign-up and its waitlist position.
pub async fn join(
    state: &AppState,
    actor: &crate::authz::Actor,
    id: ActivityId,
) -> Result<(activity_signup::Model, Option<u64>), ApiError> {
    let row = super::service::visible(state, actor, id).await?;
    let now = state.clock.now();
    if !super::for_hours::status_of(&row)?.takes_signups() || now >= row.signup_deadline {
        return Err(ActivityError::SignupClosed.into());
    }
    super::volunteers::require_approved(&state.db, crate::domain::CommunityId(row.community_id), actor.id).await?;
    if !in_audience(state, actor.id, &row).await? {
        return Err(ActivityError::NotInAudience.into());
    }
    let signup = sign_up(state, id, actor.id, now).await?;
    let position = position(&state.db, &signup).await?;
    Ok((signup, position))
}

/// The use case behind `DELETE /activities/{id}/signups/me`: the caller's own sign-up, until the
/// activity starts.
pub async fn leave(
    state: &AppState,
    actor: &crate::authz::Actor,
    id: ActivityId,
) -> Result<Option<activity_signup::Model>, ApiError> {
    let row = super::service::visible(state, actor, id).await?;
    let now = state.clock.now();
    if !super::for_hours::status_of(&row)?.takes_signups() || now >= row.starts_at {
        return Err(ActivityError::SignupClosed.into());
    }
    cancel(state, &row, actor.id, now).await
}

/// The organiser's roster: confirmed and waiting sign-ups in arrival order, each waiting one with
/// its position, and their users.
pub async fn roster(
    state: &AppState,
    actor: &crate::authz::Actor,
    id: ActivityId,
) -> Result<Vec<(activity_signup::Model, Option<u64>, Option<ehome_entities::user::Model>)>, ApiError> {
    use ehome_entities::user;
    super::service::organised(state, actor, id).await?;
    let rows = active(&state.db, id).await?;
    let ids: Vec<i64> = rows.iter().map(|row| row.user_id).collect();
    let users: std::collections::HashMap<i64, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let mut waiting = 0;
    Ok(rows
        .into_iter()
        .map(|row| {
            let position = (row.status == SignupStatus::Waiting.as_str()).then(|| {
                waiting += 1;
                waiting
            });
            let user = users.get(&row.user_id).cloned();
            (row, position, user)
        })
        .collect())
}
