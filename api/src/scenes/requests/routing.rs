//! Who a request goes to: the building's leader, else the grid's worker, else the committee queue; and
//! one level up on escalation. A holder who is a party to the request (its reporter: a building leader
//! reporting a problem in their own building) is passed over, so the request goes to the next level.

use ehome_entities::{member_role, service_request};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::lifecycle::Level;
use crate::authz::{Case, is_party_to};
use crate::domain::{Role, UserId};
use crate::platform::error::ApiError;

/// A request as a case: its parties are never routed to (see `authz::party`).
pub fn case_of(request: &service_request::Model) -> Case {
    Case::Request { reporter: UserId(request.reporter_id) }
}

/// The longest-standing holder of a scoped role who is not a party to the case.
async fn first_holder(
    db: &impl ConnectionTrait,
    community: i64,
    role: Role,
    scope: i64,
    case: &Case,
) -> Result<Option<i64>, ApiError> {
    let rows = member_role::Entity::find()
        .filter(member_role::Column::CommunityId.eq(community))
        .filter(member_role::Column::Role.eq(role.as_str()))
        .filter(member_role::Column::ScopeId.eq(scope))
        .order_by_asc(member_role::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| r.user_id).find(|user| !is_party_to(UserId(*user), case)))
}

/// The assignee at a level: a person for the building and grid levels when one holds the role, nobody
/// (a shared queue) for the committee and the street.
async fn assignee_at(
    db: &impl ConnectionTrait,
    community: i64,
    grid: i64,
    building: i64,
    level: Level,
    case: &Case,
) -> Result<Option<i64>, ApiError> {
    match level {
        Level::BuildingLeader => first_holder(db, community, Role::BuildingLeader, building, case).await,
        Level::GridWorker => first_holder(db, community, Role::GridWorker, grid, case).await,
        Level::Committee | Level::Street => Ok(None),
    }
}

/// The first level at or above `from` that has someone to take the request (the committee always
/// does, as a queue). `case` names the request's parties, who are never chosen.
pub async fn route_from(
    db: &impl ConnectionTrait,
    community: i64,
    grid: i64,
    building: i64,
    from: Level,
    case: &Case,
) -> Result<(Level, Option<i64>), ApiError> {
    let mut level = from;
    loop {
        let assignee = assignee_at(db, community, grid, building, level, case).await?;
        if assignee.is_some() || matches!(level, Level::Committee | Level::Street) {
            return Ok((level, assignee));
        }
        match level.next() {
            Some(next) => level = next,
            None => return Ok((level, None)),
        }
    }
}

/// `route_from` for a request that exists: its place, and its reporter passed over.
pub async fn route_request(
    db: &impl ConnectionTrait,
    request: &service_request::Model,
    from: Level,
) -> Result<(Level, Option<i64>), ApiError> {
    route_from(db, request.community_id, request.grid_id, request.building_id, from, &case_of(request)).await
}
