//! Row operations of the volunteering scene on `&impl ConnectionTrait`, so that a use case composes
//! them in one transaction.

use ehome_entities::{activity, volunteer, volunteer_team, volunteer_team_member};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::domain::{ActivityId, CommunityId, TeamId, UserId};
use crate::platform::error::ApiError;

pub async fn get(db: &impl ConnectionTrait, id: ActivityId) -> Result<activity::Model, ApiError> {
    activity::Entity::find_by_id(id.0).one(db).await?.ok_or(ApiError::NotFound("activity"))
}

pub async fn team(db: &impl ConnectionTrait, id: TeamId) -> Result<Option<volunteer_team::Model>, ApiError> {
    Ok(volunteer_team::Entity::find_by_id(id.0).one(db).await?)
}

pub async fn volunteer_of(
    db: &impl ConnectionTrait,
    community: CommunityId,
    user: UserId,
) -> Result<Option<volunteer::Model>, ApiError> {
    Ok(volunteer::Entity::find()
        .filter(volunteer::Column::CommunityId.eq(community.0))
        .filter(volunteer::Column::UserId.eq(user.0))
        .one(db)
        .await?)
}

pub async fn is_team_member(db: &impl ConnectionTrait, team: TeamId, user: UserId) -> Result<bool, ApiError> {
    Ok(volunteer_team_member::Entity::find_by_id((team.0, user.0)).one(db).await?.is_some())
}

/// Where the user lives in the community: (grid, building) of each household they belong to.
pub async fn homes(
    db: &impl ConnectionTrait,
    community: CommunityId,
    user: UserId,
) -> Result<Vec<(i64, i64)>, ApiError> {
    use ehome_entities::{building, household, household_member};
    let memberships = household_member::Entity::find()
        .filter(household_member::Column::CommunityId.eq(community.0))
        .filter(household_member::Column::UserId.eq(user.0))
        .all(db)
        .await?;
    let household_ids: Vec<i64> = memberships.iter().map(|m| m.household_id).collect();
    let households = household::Entity::find().filter(household::Column::Id.is_in(household_ids)).all(db).await?;
    let building_ids: Vec<i64> = households.iter().map(|h| h.building_id).collect();
    let buildings = building::Entity::find().filter(building::Column::Id.is_in(building_ids)).all(db).await?;
    Ok(buildings.into_iter().map(|b| (b.grid_id, b.id)).collect())
}
