//! The rows of meetings, their attendees, their minutes (every version kept) and the resolutions.

use chrono::{DateTime, NaiveDate, Utc};
use ehome_entities::{deliberation_attendee, deliberation_meeting, deliberation_minutes, deliberation_resolution};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::error::DeliberationError;
use super::lifecycle::Capacity;
use crate::platform::content::PublicText;
use crate::platform::error::ApiError;

pub struct NewMeeting {
    pub deliberation_id: i64,
    pub chair_id: i64,
    pub starts_at: DateTime<Utc>,
    pub place: PublicText,
    pub agenda: PublicText,
}

pub async fn insert_meeting(
    db: &impl ConnectionTrait,
    new: NewMeeting,
    now: DateTime<Utc>,
) -> Result<deliberation_meeting::Model, ApiError> {
    Ok(deliberation_meeting::ActiveModel {
        deliberation_id: Set(new.deliberation_id),
        chair_id: Set(new.chair_id),
        starts_at: Set(new.starts_at),
        place: Set(new.place.into_inner()),
        agenda: Set(new.agenda.into_inner()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

pub async fn get_meeting(
    db: &impl ConnectionTrait,
    deliberation_id: i64,
    id: i64,
) -> Result<deliberation_meeting::Model, ApiError> {
    deliberation_meeting::Entity::find_by_id(id)
        .filter(deliberation_meeting::Column::DeliberationId.eq(deliberation_id))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("meeting"))
}

pub async fn meetings_of(db: &impl ConnectionTrait, id: i64) -> Result<Vec<deliberation_meeting::Model>, ApiError> {
    Ok(deliberation_meeting::Entity::find()
        .filter(deliberation_meeting::Column::DeliberationId.eq(id))
        .order_by_asc(deliberation_meeting::Column::Id)
        .all(db)
        .await?)
}

/// Marks someone present (once: marking again keeps the first mark).
pub async fn mark_attendee(
    db: &impl ConnectionTrait,
    meeting_id: i64,
    user_id: i64,
    capacity: Capacity,
    marked_by: i64,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let row = deliberation_attendee::ActiveModel {
        meeting_id: Set(meeting_id),
        user_id: Set(user_id),
        capacity: Set(capacity.as_str().to_owned()),
        marked_by: Set(marked_by),
        marked_at: Set(now),
    };
    deliberation_attendee::Entity::insert(row)
        .on_conflict_do_nothing_on([deliberation_attendee::Column::MeetingId, deliberation_attendee::Column::UserId])
        .exec(db)
        .await?;
    Ok(())
}

pub async fn attendees_of(
    db: &impl ConnectionTrait,
    meetings: &[i64],
) -> Result<Vec<deliberation_attendee::Model>, ApiError> {
    Ok(deliberation_attendee::Entity::find()
        .filter(deliberation_attendee::Column::MeetingId.is_in(meetings.to_vec()))
        .order_by_asc(deliberation_attendee::Column::MarkedAt)
        .all(db)
        .await?)
}

/// Every version of a meeting's minutes, oldest first.
pub async fn minutes_of(
    db: &impl ConnectionTrait,
    meeting_id: i64,
) -> Result<Vec<deliberation_minutes::Model>, ApiError> {
    Ok(deliberation_minutes::Entity::find()
        .filter(deliberation_minutes::Column::MeetingId.eq(meeting_id))
        .order_by_asc(deliberation_minutes::Column::Version)
        .all(db)
        .await?)
}

pub struct Draft {
    pub text: PublicText,
    pub decisions: PublicText,
    pub correction_note: Option<PublicText>,
}

/// Adds the next version; earlier versions are never changed. Two drafts racing for one version
/// number: the unique index lets one in, the other fails and may retry.
pub async fn add_version(
    db: &impl ConnectionTrait,
    meeting_id: i64,
    version: i32,
    draft: Draft,
    written_by: i64,
    now: DateTime<Utc>,
) -> Result<deliberation_minutes::Model, ApiError> {
    Ok(deliberation_minutes::ActiveModel {
        meeting_id: Set(meeting_id),
        version: Set(version),
        text: Set(draft.text.into_inner()),
        decisions: Set(draft.decisions.into_inner()),
        correction_note: Set(draft.correction_note.map(PublicText::into_inner)),
        written_by: Set(written_by),
        signed_off_by: Set(None),
        signed_off_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Signs a version off, once (compare-and-set on the empty signature).
pub async fn sign_off(
    db: &impl ConnectionTrait,
    minutes: &deliberation_minutes::Model,
    chair: i64,
    now: DateTime<Utc>,
) -> Result<deliberation_minutes::Model, ApiError> {
    let done = deliberation_minutes::Entity::update_many()
        .col_expr(deliberation_minutes::Column::SignedOffBy, Expr::value(chair))
        .col_expr(deliberation_minutes::Column::SignedOffAt, Expr::value(now))
        .filter(deliberation_minutes::Column::Id.eq(minutes.id))
        .filter(deliberation_minutes::Column::SignedOffBy.is_null())
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        return Err(DeliberationError::MinutesAlreadySignedOff.into());
    }
    deliberation_minutes::Entity::find_by_id(minutes.id).one(db).await?.ok_or(ApiError::NotFound("minutes"))
}

/// How many versions of the minutes of these meetings are signed off.
pub async fn signed_minutes(db: &impl ConnectionTrait, meetings: &[i64]) -> Result<usize, ApiError> {
    let rows = deliberation_minutes::Entity::find()
        .filter(deliberation_minutes::Column::MeetingId.is_in(meetings.to_vec()))
        .filter(deliberation_minutes::Column::SignedOffBy.is_not_null())
        .all(db)
        .await?;
    Ok(rows.len())
}

pub struct NewResolution {
    pub deliberation_id: i64,
    pub owner_id: i64,
    pub due_on: NaiveDate,
    pub description: PublicText,
    pub request_id: i64,
}

pub async fn insert_resolution(
    db: &impl ConnectionTrait,
    new: NewResolution,
    now: DateTime<Utc>,
) -> Result<deliberation_resolution::Model, ApiError> {
    Ok(deliberation_resolution::ActiveModel {
        deliberation_id: Set(new.deliberation_id),
        owner_id: Set(new.owner_id),
        due_on: Set(new.due_on),
        description: Set(new.description.into_inner()),
        request_id: Set(new.request_id),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

pub async fn resolutions_of(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Vec<deliberation_resolution::Model>, ApiError> {
    Ok(deliberation_resolution::Entity::find()
        .filter(deliberation_resolution::Column::DeliberationId.eq(id))
        .order_by_asc(deliberation_resolution::Column::Id)
        .all(db)
        .await?)
}
