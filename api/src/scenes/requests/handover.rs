//! When a member's roles change, the open requests assigned to them that their roles no longer cover
//! go one level up (building leader → grid worker → committee), each with a timeline entry, in the
//! transaction of the role change: a removed leader keeps no case, and no case is left with no one.
//!
//! The deadlines stay as they are: a handover is not an escalation, and a role change must not buy a
//! late request time. Nor does it climb past the committee: the committee's and the street's queues
//! are shared, so a request assigned to one committee member goes back to the committee's queue.

use chrono::{DateTime, Utc};
use ehome_entities::service_request;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::lifecycle::{ActingRole, EventKind, Level};
use super::store::{self, Event};
use super::{routing, service};
use crate::authz::{self, Actor};
use crate::domain::{CommunityId, UserId};
use crate::identity::auth::AuthUser;
use crate::platform::error::ApiError;

/// Hands `member`'s open requests in `community` that they may no longer be assigned one level up;
/// returns how many moved. `changed_by` is who changed the roles (none for the operator's command).
pub async fn after_role_change(
    db: &impl ConnectionTrait,
    community: CommunityId,
    member: UserId,
    changed_by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<usize, ApiError> {
    let holder = Actor::load(db, AuthUser { id: member }).await?;
    let assigned = service_request::Entity::find()
        .filter(service_request::Column::CommunityId.eq(community.0))
        .filter(service_request::Column::AssigneeId.eq(member.0))
        .filter(service_request::Column::IsOpen.eq(true))
        .order_by_asc(service_request::Column::Id)
        .all(db)
        .await?;
    let mut moved = 0;
    for request in assigned {
        if !authz::can_be_assigned(&holder, &service::scope_of(&request))
            && hand_up(db, &request, member, changed_by, now).await?
        {
            moved += 1;
        }
    }
    Ok(moved)
}

/// The level a handover routes from: the one above the request's, short of the street.
fn level_above(level: Level) -> Level {
    match level {
        Level::BuildingLeader => Level::GridWorker,
        Level::GridWorker | Level::Committee => Level::Committee,
        Level::Street => Level::Street,
    }
}

async fn hand_up(
    db: &impl ConnectionTrait,
    request: &service_request::Model,
    member: UserId,
    changed_by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let status = store::status_of(request)?;
    let from = level_above(Level::parse(&request.assignee_level).unwrap_or(Level::Committee));
    let (level, assignee) = routing::route_request(db, request, from).await?;
    let applied = service_request::Entity::update_many()
        .col_expr(service_request::Column::AssigneeLevel, Expr::value(level.as_str()))
        .col_expr(service_request::Column::AssigneeId, Expr::value(assignee))
        .col_expr(service_request::Column::UpdatedAt, Expr::value(now))
        .filter(service_request::Column::Id.eq(request.id))
        .filter(service_request::Column::AssigneeId.eq(member.0))
        .exec(db)
        .await?;
    if applied.rows_affected != 1 {
        return Ok(false);
    }
    let event = Event {
        actor_id: changed_by.map(|user| user.0),
        actor_role: ActingRole::System,
        kind: EventKind::Reassigned,
        from: Some(status),
        to: Some(status),
        assignee_id: assignee,
        note: Some(format!("原处理人的角色已变更，转交{}处理", level.label())),
        internal: false,
    };
    store::append_event(db, request.id, event, now).await?;
    Ok(true)
}
