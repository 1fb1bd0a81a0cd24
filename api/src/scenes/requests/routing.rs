//! Who a request goes to: the building's leader, else the grid's worker, else the committee queue; and
//! one level up on escalation. A holder who is a party to the request (its reporter: a building leader
//! reporting a problem in their own building) is passed over, so the request goes to the next level.

use ehome_entities::{member_role, service_request};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::lifecycle::Level;
use crate::authz::{Case, is_party_to};
use crate::domain::{Role, UserId};
use crate::platform::error::ApiError;

/// A request as a case: its parties are never routed to (see `authz::party`).
pub fn case_of(request: &service_request::Model) -> Case {
    Case::Request { reporter: UserId(request.reporter_id) }
}

/// The role and scope that name a person at a level; none for the committee and the street, which
/// take requests as a shared queue.
fn person_at(level: Level, grid: i64, building: i64) -> Option<(Role, i64)> {
    match level {
        Level::BuildingLeader => Some((Role::BuildingLeader, building)),
        Level::GridWorker => Some((Role::GridWorker, grid)),
        Level::Committee | Level::Street => None,
    }
}

/// The first level at or above `from` that has someone to take the request (the committee always
/// does, as a queue), with that level's longest-standing holder who is not a party to `case`. The
/// holders of every level on the way are read in one statement.
pub async fn route_from(
    db: &impl ConnectionTrait,
    community: i64,
    grid: i64,
    building: i64,
    from: Level,
    case: &Case,
) -> Result<(Level, Option<i64>), ApiError> {
    let levels: Vec<Level> = std::iter::successors(Some(from), |level| level.next()).collect();
    let people: Vec<(Role, i64)> = levels.iter().filter_map(|level| person_at(*level, grid, building)).collect();
    let mut holders = Vec::new();
    if !people.is_empty() {
        let any_of = people.iter().fold(Condition::any(), |any, (role, scope)| {
            any.add(
                Condition::all()
                    .add(member_role::Column::Role.eq(role.as_str()))
                    .add(member_role::Column::ScopeId.eq(*scope)),
            )
        });
        holders = member_role::Entity::find()
            .filter(member_role::Column::CommunityId.eq(community))
            .filter(any_of)
            .order_by_asc(member_role::Column::Id)
            .all(db)
            .await?;
    }
    for level in levels {
        let Some((role, scope)) = person_at(level, grid, building) else {
            return Ok((level, None));
        };
        let chosen = holders
            .iter()
            .filter(|holder| holder.role == role.as_str() && holder.scope_id == scope)
            .map(|holder| holder.user_id)
            .find(|user| !is_party_to(UserId(*user), case));
        if chosen.is_some() {
            return Ok((level, chosen));
        }
    }
    // Not reached: every chain of levels ends at the street, which takes requests as a queue.
    Ok((Level::Street, None))
}

/// `route_from` for a request that exists: its place, and its reporter passed over.
pub async fn route_request(
    db: &impl ConnectionTrait,
    request: &service_request::Model,
    from: Level,
) -> Result<(Level, Option<i64>), ApiError> {
    route_from(db, request.community_id, request.grid_id, request.building_id, from, &case_of(request)).await
}
