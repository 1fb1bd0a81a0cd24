//! Who a request goes to: the building's leader, else the grid's worker, else the committee queue; and
//! one level up on escalation.

use ehome_entities::member_role;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::lifecycle::Level;
use crate::domain::Role;
use crate::platform::error::ApiError;

async fn first_holder(
    db: &impl ConnectionTrait,
    community: i64,
    role: Role,
    scope: i64,
) -> Result<Option<i64>, ApiError> {
    let row = member_role::Entity::find()
        .filter(member_role::Column::CommunityId.eq(community))
        .filter(member_role::Column::Role.eq(role.as_str()))
        .filter(member_role::Column::ScopeId.eq(scope))
        .order_by_asc(member_role::Column::Id)
        .one(db)
        .await?;
    Ok(row.map(|r| r.user_id))
}

/// The assignee at a level: a person for the building and grid levels when one holds the role, nobody
/// (a shared queue) for the committee and the street.
async fn assignee_at(
    db: &impl ConnectionTrait,
    community: i64,
    grid: i64,
    building: i64,
    level: Level,
) -> Result<Option<i64>, ApiError> {
    match level {
        Level::BuildingLeader => first_holder(db, community, Role::BuildingLeader, building).await,
        Level::GridWorker => first_holder(db, community, Role::GridWorker, grid).await,
        Level::Committee | Level::Street => Ok(None),
    }
}

/// The first level at or above `from` that has someone to take the request (the committee always
/// does, as a queue).
pub async fn route_from(
    db: &impl ConnectionTrait,
    community: i64,
    grid: i64,
    building: i64,
    from: Level,
) -> Result<(Level, Option<i64>), ApiError> {
    let mut level = from;
    loop {
        let assignee = assignee_at(db, community, grid, building, level).await?;
        if assignee.is_some() || matches!(level, Level::Committee | Level::Street) {
            return Ok((level, assignee));
        }
        match level.next() {
            Some(next) => level = next,
            None => return Ok((level, None)),
        }
    }
}
