//! Areas of a community as rows: the buildings an area covers, their households and members, and the
//! homes of a user. Notices and deliberations reach residents through these (re-exported by
//! `service.rs`, the only door other scenes use).

use std::collections::BTreeSet;

use ehome_entities::{building, household, household_member};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::authz::Actor;
use crate::domain::{Area, AreaKind, CommunityId, Role, UserId};
use crate::platform::error::ApiError;

/// The buildings of `community` that `area` covers, in id order; an id outside the community (or of
/// nothing) is a validation error on `field`.
pub async fn buildings_in_area(
    db: &impl ConnectionTrait,
    community: CommunityId,
    area: &Area,
    field: &str,
) -> Result<Vec<building::Model>, ApiError> {
    let mut query = building::Entity::find().filter(building::Column::CommunityId.eq(community.0));
    query = match area.kind() {
        AreaKind::Community => query,
        AreaKind::Grids => query.filter(building::Column::GridId.is_in(area.ids().to_vec())),
        AreaKind::Buildings => query.filter(building::Column::Id.is_in(area.ids().to_vec())),
    };
    let found = query.order_by_asc(building::Column::Id).all(db).await?;
    let named: BTreeSet<i64> = match area.kind() {
        AreaKind::Community => BTreeSet::new(),
        AreaKind::Grids => found.iter().map(|b| b.grid_id).collect(),
        AreaKind::Buildings => found.iter().map(|b| b.id).collect(),
    };
    if area.ids().iter().any(|id| !named.contains(id)) {
        return Err(ApiError::validation(
            field,
            "names a grid or building that is not of this community (or has no buildings)",
        ));
    }
    if found.is_empty() {
        return Err(ApiError::validation(field, "the area has no buildings"));
    }
    Ok(found)
}

/// The households of these buildings, in id order.
pub async fn households_in_buildings(
    db: &impl ConnectionTrait,
    buildings: &[i64],
) -> Result<Vec<household::Model>, ApiError> {
    Ok(household::Entity::find()
        .filter(household::Column::BuildingId.is_in(buildings.to_vec()))
        .order_by_asc(household::Column::Id)
        .all(db)
        .await?)
}

/// The user ids of the members of the households of these buildings, each once.
pub async fn residents_of_buildings(db: &impl ConnectionTrait, buildings: &[i64]) -> Result<Vec<i64>, ApiError> {
    let homes: Vec<i64> = households_in_buildings(db, buildings).await?.into_iter().map(|h| h.id).collect();
    let members =
        household_member::Entity::find().filter(household_member::Column::HouseholdId.is_in(homes)).all(db).await?;
    let users: BTreeSet<i64> = members.into_iter().map(|m| m.user_id).collect();
    Ok(users.into_iter().collect())
}

/// The households a user is an approved member of.
pub async fn homes_of(db: &impl ConnectionTrait, user: UserId) -> Result<Vec<household::Model>, ApiError> {
    let memberships =
        household_member::Entity::find().filter(household_member::Column::UserId.eq(user.0)).all(db).await?;
    let ids: Vec<i64> = memberships.into_iter().map(|m| m.household_id).collect();
    Ok(household::Entity::find()
        .filter(household::Column::Id.is_in(ids))
        .order_by_asc(household::Column::Id)
        .all(db)
        .await?)
}

/// The buildings with these ids (any community), in id order.
pub async fn buildings_by_id(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<building::Model>, ApiError> {
    Ok(building::Entity::find()
        .filter(building::Column::Id.is_in(ids.to_vec()))
        .order_by_asc(building::Column::Id)
        .all(db)
        .await?)
}

/// The buildings of these grids, in id order.
pub async fn buildings_of_grids(db: &impl ConnectionTrait, grids: &[i64]) -> Result<Vec<building::Model>, ApiError> {
    Ok(building::Entity::find()
        .filter(building::Column::GridId.is_in(grids.to_vec()))
        .order_by_asc(building::Column::Id)
        .all(db)
        .await?)
}

/// The buildings of `community` that reach `actor` below the committee: those they lead, those of the
/// grids they serve, and those they live in (ids, in order).
pub async fn buildings_involving(
    db: &impl ConnectionTrait,
    actor: &Actor,
    community: CommunityId,
) -> Result<Vec<i64>, ApiError> {
    let mut buildings: BTreeSet<i64> = actor.scopes(community, Role::BuildingLeader).into_iter().collect();
    let grids = actor.scopes(community, Role::GridWorker);
    buildings.extend(buildings_of_grids(db, &grids).await?.into_iter().map(|b| b.id));
    buildings.extend(homes_of(db, actor.id).await?.into_iter().map(|h| h.building_id));
    Ok(buildings.into_iter().collect())
}
