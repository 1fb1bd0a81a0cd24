//! The rows of help posts: every function takes a connection or transaction, so a use case composes
//! them with the points verbs in one transaction. A status change is a compare-and-set on the status
//! the caller read, so of two racing writers exactly one changes the row.

use chrono::{DateTime, Utc};
use ehome_entities::help_post;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::lifecycle::{Kind, Moderation, Outcome, Status};
use crate::platform::error::ApiError;

/// A post about to be written, its text already screened.
pub struct NewPost {
    pub community_id: i64,
    pub building_id: Option<i64>,
    pub grid_id: Option<i64>,
    pub author_id: i64,
    pub kind: Kind,
    pub category: String,
    pub title: String,
    pub description: String,
    pub location: Option<String>,
    pub needed_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub reward_minor: i64,
    pub moderation: Moderation,
    pub moderation_note: Option<String>,
}

pub async fn insert(db: &impl ConnectionTrait, new: NewPost, now: DateTime<Utc>) -> Result<help_post::Model, ApiError> {
    let row = help_post::ActiveModel {
        community_id: Set(new.community_id),
        building_id: Set(new.building_id),
        grid_id: Set(new.grid_id),
        author_id: Set(new.author_id),
        kind: Set(new.kind.as_str().to_owned()),
        category: Set(new.category),
        title: Set(new.title),
        description: Set(new.description),
        location: Set(new.location),
        needed_at: Set(new.needed_at),
        expires_at: Set(new.expires_at),
        reward_minor: Set(new.reward_minor),
        hold_transfer_id: Set(None),
        status: Set(Status::Open.as_str().to_owned()),
        moderation: Set(new.moderation.as_str().to_owned()),
        moderation_note: Set(new.moderation_note),
        paid_minor: Set(0),
        bonus_minor: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    Ok(row.insert(db).await?)
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<help_post::Model, ApiError> {
    help_post::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound("help post"))
}

pub fn status_of(row: &help_post::Model) -> Result<Status, ApiError> {
    Status::parse(&row.status).ok_or_else(|| ApiError::internal(anyhow::anyhow!("help post {} status", row.id)))
}

pub fn moderation_of(row: &help_post::Model) -> Moderation {
    Moderation::parse(&row.moderation).unwrap_or(Moderation::Held)
}

/// What a status change writes besides the status.
#[derive(Default)]
pub struct Change {
    pub helper_id: Option<Option<i64>>,
    pub claimed_at: Option<Option<DateTime<Utc>>>,
    pub done_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: Option<Outcome>,
    pub decided_by: Option<i64>,
    pub rating: Option<i32>,
    pub rating_text: Option<String>,
}

/// Moves the post from `from` to `to` if it is still `from`; `false` when someone changed it first.
pub async fn compare_and_set(
    db: &impl ConnectionTrait,
    id: i64,
    from: Status,
    to: Status,
    change: Change,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let mut update = help_post::Entity::update_many()
        .col_expr(help_post::Column::Status, Expr::value(to.as_str()))
        .col_expr(help_post::Column::UpdatedAt, Expr::value(now));
    if let Some(helper) = change.helper_id {
        update = update.col_expr(help_post::Column::HelperId, Expr::value(helper));
    }
    if let Some(at) = change.claimed_at {
        update = update.col_expr(help_post::Column::ClaimedAt, Expr::value(at));
    }
    if let Some(at) = change.done_at {
        update = update.col_expr(help_post::Column::DoneAt, Expr::value(Some(at)));
    }
    if let Some(at) = change.finished_at {
        update = update.col_expr(help_post::Column::FinishedAt, Expr::value(Some(at)));
    }
    if let Some(outcome) = change.outcome {
        update = update.col_expr(help_post::Column::Outcome, Expr::value(Some(outcome.as_str())));
    }
    if let Some(by) = change.decided_by {
        update = update.col_expr(help_post::Column::DecidedBy, Expr::value(Some(by)));
    }
    if let Some(rating) = change.rating {
        update = update.col_expr(help_post::Column::Rating, Expr::value(Some(rating)));
    }
    if let Some(text) = change.rating_text {
        update = update.col_expr(help_post::Column::RatingText, Expr::value(Some(text)));
    }
    let result = update
        .filter(help_post::Column::Id.eq(id))
        .filter(help_post::Column::Status.eq(from.as_str()))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn set_hold(db: &impl ConnectionTrait, id: i64, hold: &str) -> Result<(), ApiError> {
    help_post::Entity::update_many()
        .col_expr(help_post::Column::HoldTransferId, Expr::value(Some(hold.to_owned())))
        .filter(help_post::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn set_payment(db: &impl ConnectionTrait, id: i64, transfer: &str, paid_minor: i64) -> Result<(), ApiError> {
    help_post::Entity::update_many()
        .col_expr(help_post::Column::PaymentTransferId, Expr::value(Some(transfer.to_owned())))
        .col_expr(help_post::Column::PaidMinor, Expr::value(paid_minor))
        .filter(help_post::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn set_bonus(db: &impl ConnectionTrait, id: i64, bonus_minor: i64) -> Result<(), ApiError> {
    help_post::Entity::update_many()
        .col_expr(help_post::Column::BonusMinor, Expr::value(bonus_minor))
        .filter(help_post::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Moves the moderation from `from` to `to` if it is still `from`.
pub async fn set_moderation(
    db: &impl ConnectionTrait,
    id: i64,
    from: Moderation,
    to: Moderation,
    note: Option<String>,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let result = help_post::Entity::update_many()
        .col_expr(help_post::Column::Moderation, Expr::value(to.as_str()))
        .col_expr(help_post::Column::ModerationNote, Expr::value(note))
        .col_expr(help_post::Column::UpdatedAt, Expr::value(now))
        .filter(help_post::Column::Id.eq(id))
        .filter(help_post::Column::Moderation.eq(from.as_str()))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// A page of posts matching `condition`, newest first (`limit + 1` rows).
pub async fn page(
    db: &impl ConnectionTrait,
    condition: Condition,
    after_id: Option<i64>,
    limit: u64,
) -> Result<Vec<help_post::Model>, ApiError> {
    let mut query = help_post::Entity::find().filter(condition);
    if let Some(after) = after_id {
        query = query.filter(help_post::Column::Id.lt(after));
    }
    Ok(query.order_by_desc(help_post::Column::Id).limit(limit + 1).all(db).await?)
}

/// Posts in `status` whose `column` is before `cutoff`, oldest first: what a job pass takes on.
pub async fn due(
    db: &impl ConnectionTrait,
    status: Status,
    column: help_post::Column,
    cutoff: DateTime<Utc>,
    batch: u64,
) -> Result<Vec<help_post::Model>, ApiError> {
    Ok(help_post::Entity::find()
        .filter(help_post::Column::Status.eq(status.as_str()))
        .filter(column.lt(cutoff))
        .order_by_asc(column)
        .limit(batch)
        .all(db)
        .await?)
}
