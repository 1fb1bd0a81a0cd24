//! Row operations of the care round on `&impl ConnectionTrait`, so a use case composes them in one
//! transaction. Statuses cross the column boundary here as `stored_enum!` words.

use chrono::{DateTime, Utc};
use ehome_entities::{care_device, care_recipient, care_task, care_visit, care_visitor, member_role};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::lifecycle::{MissedStage, TaskLevel, TaskStatus};
use crate::authz::Actor;
use crate::domain::{CommunityId, Role};
use crate::platform::error::ApiError;
use crate::platform::pagination::Keyset;

pub async fn recipient(db: &impl ConnectionTrait, id: i64) -> Result<care_recipient::Model, ApiError> {
    care_recipient::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound("care recipient"))
}

pub async fn visitors_of(db: &impl ConnectionTrait, recipient_id: i64) -> Result<Vec<i64>, ApiError> {
    let rows = care_visitor::Entity::find()
        .filter(care_visitor::Column::RecipientId.eq(recipient_id))
        .order_by_asc(care_visitor::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|row| row.user_id).collect())
}

pub async fn add_visitor(
    db: &impl ConnectionTrait,
    recipient_id: i64,
    user_id: i64,
    assigned_by: i64,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let row = care_visitor::ActiveModel {
        recipient_id: Set(recipient_id),
        user_id: Set(user_id),
        assigned_by: Set(assigned_by),
        created_at: Set(now),
        ..Default::default()
    };
    care_visitor::Entity::insert(row)
        .on_conflict_do_nothing_on([care_visitor::Column::RecipientId, care_visitor::Column::UserId])
        .exec(db)
        .await?;
    Ok(())
}

/// The users holding `role` in a community (scoped to `scope_id` when given).
pub async fn holders(
    db: &impl ConnectionTrait,
    community: CommunityId,
    role: Role,
    scope_id: Option<i64>,
) -> Result<Vec<i64>, ApiError> {
    let mut query = member_role::Entity::find()
        .filter(member_role::Column::CommunityId.eq(community.0))
        .filter(member_role::Column::Role.eq(role.as_str()));
    if let Some(scope_id) = scope_id {
        query = query.filter(member_role::Column::ScopeId.eq(scope_id));
    }
    let mut users: Vec<i64> = query.all(db).await?.into_iter().map(|row| row.user_id).collect();
    users.sort_unstable();
    users.dedup();
    Ok(users)
}

pub async fn devices_of(db: &impl ConnectionTrait, recipient_id: i64) -> Result<Vec<care_device::Model>, ApiError> {
    Ok(care_device::Entity::find()
        .filter(care_device::Column::RecipientId.eq(recipient_id))
        .order_by_asc(care_device::Column::Id)
        .all(db)
        .await?)
}

pub async fn device_by_key(
    db: &impl ConnectionTrait,
    vendor: &str,
    device_key: &str,
) -> Result<Option<care_device::Model>, ApiError> {
    Ok(care_device::Entity::find()
        .filter(care_device::Column::Vendor.eq(vendor))
        .filter(care_device::Column::DeviceKey.eq(device_key))
        .one(db)
        .await?)
}

/// A page of a recipient's visits, the latest logged first (`limit + 1` rows).
pub async fn visits_of(
    db: &impl ConnectionTrait,
    recipient_id: i64,
    keyset: &Keyset,
) -> Result<Vec<care_visit::Model>, ApiError> {
    let mut query = care_visit::Entity::find().filter(care_visit::Column::RecipientId.eq(recipient_id));
    if let Some(after) = keyset.after_id {
        query = query.filter(care_visit::Column::Id.lt(after));
    }
    Ok(query.order_by_desc(care_visit::Column::Id).limit(keyset.limit + 1).all(db).await?)
}

/// The recipients of a community someone off the managing team cares for, as a condition on
/// `care_recipients`: those they visit, and those of the grids they serve.
pub async fn cared_for_by(
    db: &impl ConnectionTrait,
    actor: &Actor,
    community: CommunityId,
) -> Result<Condition, ApiError> {
    let visited: Vec<i64> = care_visitor::Entity::find()
        .select_only()
        .column(care_visitor::Column::RecipientId)
        .filter(care_visitor::Column::UserId.eq(actor.id.0))
        .into_tuple()
        .all(db)
        .await?;
    let grids = actor.scopes(community, Role::GridWorker);
    Ok(Condition::any().add(care_recipient::Column::Id.is_in(visited)).add(care_recipient::Column::GridId.is_in(grids)))
}

/// The ids of the recipients matching `condition` in a community (whose tasks a caller sees).
pub async fn recipient_ids(
    db: &impl ConnectionTrait,
    community: CommunityId,
    condition: Condition,
) -> Result<Vec<i64>, ApiError> {
    Ok(care_recipient::Entity::find()
        .select_only()
        .column(care_recipient::Column::Id)
        .filter(care_recipient::Column::CommunityId.eq(community.0))
        .filter(condition)
        .into_tuple()
        .all(db)
        .await?)
}

/// A logged visit moves the schedule on and ends any missed-visit escalation.
pub async fn record_visit_on_schedule(
    db: &impl ConnectionTrait,
    recipient: &care_recipient::Model,
    visited_at: DateTime<Utc>,
) -> Result<(), ApiError> {
    let last = recipient.last_visit_at.map_or(visited_at, |last| last.max(visited_at));
    let due = last + chrono::Duration::days(i64::from(recipient.visit_interval_days));
    care_recipient::Entity::update_many()
        .col_expr(care_recipient::Column::LastVisitAt, Expr::value(last))
        .col_expr(care_recipient::Column::NextVisitDueAt, Expr::value(due))
        .col_expr(care_recipient::Column::MissedStage, Expr::value(MissedStage::None.as_str()))
        .col_expr(care_recipient::Column::MissedStageAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(care_recipient::Column::Id.eq(recipient.id))
        .exec(db)
        .await?;
    Ok(())
}

/// Compare-and-set of the missed-visit stage: `true` when this caller moved it.
pub async fn advance_missed_stage(
    db: &impl ConnectionTrait,
    recipient: &care_recipient::Model,
    to: MissedStage,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let done = care_recipient::Entity::update_many()
        .col_expr(care_recipient::Column::MissedStage, Expr::value(to.as_str()))
        .col_expr(care_recipient::Column::MissedStageAt, Expr::value(Some(now)))
        .filter(care_recipient::Column::Id.eq(recipient.id))
        .filter(care_recipient::Column::MissedStage.eq(recipient.missed_stage.as_str()))
        .filter(care_recipient::Column::NextVisitDueAt.eq(recipient.next_visit_due_at))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

pub async fn task(db: &impl ConnectionTrait, id: i64) -> Result<care_task::Model, ApiError> {
    care_task::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound("care task"))
}

pub async fn task_by_fold_key(db: &impl ConnectionTrait, key: &str) -> Result<Option<care_task::Model>, ApiError> {
    Ok(care_task::Entity::find().filter(care_task::Column::FoldKey.eq(key)).one(db).await?)
}

/// Compare-and-set of a task's status (and who moved it).
pub async fn set_task_status(
    db: &impl ConnectionTrait,
    task: &care_task::Model,
    to: TaskStatus,
    by: i64,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let mut update = care_task::Entity::update_many().col_expr(care_task::Column::Status, Expr::value(to.as_str()));
    update = match to {
        TaskStatus::Acknowledged => update
            .col_expr(care_task::Column::AcknowledgedAt, Expr::value(Some(now)))
            .col_expr(care_task::Column::AcknowledgedBy, Expr::value(Some(by))),
        TaskStatus::Resolved => update
            .col_expr(care_task::Column::ResolvedAt, Expr::value(Some(now)))
            .col_expr(care_task::Column::ResolvedBy, Expr::value(Some(by))),
        TaskStatus::Open => update,
    };
    let done = update
        .filter(care_task::Column::Id.eq(task.id))
        .filter(care_task::Column::Status.eq(task.status.as_str()))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Compare-and-set of a task's escalation level.
pub async fn escalate_task(
    db: &impl ConnectionTrait,
    task: &care_task::Model,
    to: TaskLevel,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let done = care_task::Entity::update_many()
        .col_expr(care_task::Column::Level, Expr::value(to.as_str()))
        .col_expr(care_task::Column::EscalatedAt, Expr::value(Some(now)))
        .filter(care_task::Column::Id.eq(task.id))
        .filter(care_task::Column::Level.eq(task.level.as_str()))
        .filter(care_task::Column::Status.eq(TaskStatus::Open.as_str()))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

pub async fn insert_visit(
    db: &impl ConnectionTrait,
    visit: care_visit::ActiveModel,
) -> Result<care_visit::Model, ApiError> {
    Ok(visit.insert(db).await?)
}
