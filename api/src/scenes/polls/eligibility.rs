//! Who holds a ballot in a poll and how many could have voted: the caller's household in the
//! community, whether its building is in the poll's scope, the household's representative, and the
//! electorate counted per building for the turnout.

use std::collections::BTreeMap;

use ehome_entities::{building, household, household_member, household_representative, poll};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::error::PollError;
use super::lifecycle::{Eligibility, ScopeKind};
use super::store;
use crate::domain::{CommunityId, UserId};
use crate::platform::error::{ApiError, ApiResult};

/// The unit that holds one ballot, and where it lives.
#[derive(Debug, Clone)]
pub struct Voter {
    pub voter_key: String,
    pub household_id: Option<i64>,
    pub building_id: Option<i64>,
}

pub fn scope_ids(poll: &poll::Model) -> Vec<i64> {
    poll.scope_ids.split(',').filter_map(|id| id.parse().ok()).collect()
}

pub fn eligibility_of(poll: &poll::Model) -> ApiResult<Eligibility> {
    Eligibility::parse(&poll.eligibility)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("poll {} eligibility", poll.id)))
}

/// Whether a building lies in the poll's place.
pub fn building_in_scope(poll: &poll::Model, building: &building::Model) -> bool {
    match ScopeKind::parse(&poll.scope_kind) {
        Some(ScopeKind::Community) => building.community_id == poll.community_id,
        Some(ScopeKind::Grids) => scope_ids(poll).contains(&building.grid_id),
        Some(ScopeKind::Buildings) => scope_ids(poll).contains(&building.id),
        Some(ScopeKind::Group) | None => false,
    }
}

/// The caller's household in the poll's community: none anywhere is a newcomer (`NO_HOUSEHOLD`);
/// households elsewhere only is another community's resident (`NOT_IN_COMMUNITY`).
async fn home_in(db: &impl ConnectionTrait, community: CommunityId, user: UserId) -> ApiResult<household::Model> {
    let homes = household_member::Entity::find().filter(household_member::Column::UserId.eq(user.0)).all(db).await?;
    let Some(home) = homes.iter().find(|home| home.community_id == community.0) else {
        return Err(if homes.is_empty() { PollError::NoHousehold } else { PollError::NotInCommunity }.into());
    };
    household::Entity::find_by_id(home.household_id).one(db).await?.ok_or(ApiError::NotFound("household"))
}

pub async fn representative(db: &impl ConnectionTrait, household_id: i64) -> ApiResult<Option<UserId>> {
    let row = household_representative::Entity::find_by_id(household_id).one(db).await?;
    Ok(row.map(|row| UserId(row.user_id)))
}

pub async fn members(db: &impl ConnectionTrait, household_id: i64) -> ApiResult<Vec<UserId>> {
    let rows =
        household_member::Entity::find().filter(household_member::Column::HouseholdId.eq(household_id)).all(db).await?;
    Ok(rows.into_iter().map(|row| UserId(row.user_id)).collect())
}

/// The caller's ballot unit in this poll, or why they have none.
pub async fn voter_for(db: &impl ConnectionTrait, poll: &poll::Model, user: UserId) -> ApiResult<Voter> {
    let eligibility = eligibility_of(poll)?;
    if eligibility == Eligibility::Named {
        if !store::is_elector(db, poll.id, user).await? {
            return Err(PollError::NotAnElector.into());
        }
        let key = format!("u:{}", user.0);
        return Ok(Voter { voter_key: key, household_id: None, building_id: None });
    }
    let home = home_in(db, CommunityId(poll.community_id), user).await?;
    let building =
        building::Entity::find_by_id(home.building_id).one(db).await?.ok_or(ApiError::NotFound("building"))?;
    if !building_in_scope(poll, &building) {
        return Err(PollError::OutOfScope.into());
    }
    if eligibility == Eligibility::Resident {
        let key = format!("u:{}", user.0);
        return Ok(Voter { voter_key: key, household_id: Some(home.id), building_id: Some(building.id) });
    }
    if let Some(named) = representative(db, home.id).await?
        && named != user
    {
        return Err(PollError::NotRepresentative.into());
    }
    Ok(Voter { voter_key: format!("h:{}", home.id), household_id: Some(home.id), building_id: Some(building.id) })
}

/// The ballot unit of a household a building leader records a paper ballot for.
pub async fn household_voter(
    db: &impl ConnectionTrait,
    poll: &poll::Model,
    household: &household::Model,
) -> ApiResult<Voter> {
    if eligibility_of(poll)? != Eligibility::Household {
        return Err(ApiError::validation("household_id", "proxy ballots are for polls of one ballot per household"));
    }
    let building =
        building::Entity::find_by_id(household.building_id).one(db).await?.ok_or(ApiError::NotFound("building"))?;
    if household.community_id != poll.community_id || !building_in_scope(poll, &building) {
        return Err(PollError::OutOfScope.into());
    }
    Ok(Voter {
        voter_key: format!("h:{}", household.id),
        household_id: Some(household.id),
        building_id: Some(building.id),
    })
}

/// The buildings in the poll's place, by id.
pub async fn buildings_in_scope(db: &impl ConnectionTrait, poll: &poll::Model) -> ApiResult<Vec<building::Model>> {
    let all = building::Entity::find().filter(building::Column::CommunityId.eq(poll.community_id)).all(db).await?;
    Ok(all.into_iter().filter(|building| building_in_scope(poll, building)).collect())
}

/// How many ballots could be cast, per building (named polls: one entry, building 0): households of
/// the scope (a household whose members have no phone still votes on paper), or its residents.
pub async fn electorate(db: &impl ConnectionTrait, poll: &poll::Model) -> ApiResult<BTreeMap<i64, u64>> {
    let mut per_building: BTreeMap<i64, u64> = BTreeMap::new();
    let eligibility = eligibility_of(poll)?;
    if eligibility == Eligibility::Named {
        per_building.insert(0, store::electors(db, poll.id).await?.len() as u64);
        return Ok(per_building);
    }
    let buildings: Vec<i64> = buildings_in_scope(db, poll).await?.into_iter().map(|b| b.id).collect();
    let households =
        household::Entity::find().filter(household::Column::BuildingId.is_in(buildings.clone())).all(db).await?;
    if eligibility == Eligibility::Household {
        for home in households {
            *per_building.entry(home.building_id).or_default() += 1;
        }
        return Ok(per_building);
    }
    let building_of: BTreeMap<i64, i64> = households.iter().map(|home| (home.id, home.building_id)).collect();
    let residents = household_member::Entity::find()
        .filter(household_member::Column::HouseholdId.is_in(building_of.keys().copied().collect::<Vec<_>>()))
        .all(db)
        .await?;
    for resident in residents {
        if let Some(building) = building_of.get(&resident.household_id) {
            *per_building.entry(*building).or_default() += 1;
        }
    }
    Ok(per_building)
}
