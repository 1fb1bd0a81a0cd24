//! Domain rules of the community structure, join requests and roles. Row functions take a connection or
//! transaction, so callers decide the transaction boundary; the `add_*` use cases take the app state,
//! authorise the caller and screen the names others will read.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use ehome_entities::{
    building, community, district, grid, household, household_member, join_request, member_role, merchant, street, user,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};

pub use super::area::{
    buildings_by_id, buildings_in_area, buildings_involving, buildings_of_grids, homes_of, households_in_buildings,
    residents_of_buildings,
};
use super::error::CommunityError;
use super::lifecycle::JoinStatus;
use crate::authz::{self, Actor, JoinRequestScope};
use crate::domain::Label;
use crate::domain::Scope;
use crate::domain::{BuildingId, CommunityId, GridId, HouseholdId, JoinRequestId, Role, RoleGrant, UserId};
use crate::identity::auth::AuthUser;
use crate::platform::content::{self, Author, PublicText, WhenUnsure};
use crate::platform::error::ApiError;
use crate::platform::pagination::Keyset;
use crate::platform::wechat::TextScene;
use crate::state::AppState;

async fn district_named(db: &impl ConnectionTrait, name: &str) -> Result<district::Model, ApiError> {
    if let Some(found) = district::Entity::find().filter(district::Column::Name.eq(name)).one(db).await? {
        return Ok(found);
    }
    Ok(district::ActiveModel { name: Set(name.to_owned()), ..Default::default() }.insert(db).await?)
}

async fn street_named(db: &impl ConnectionTrait, district_id: i64, name: &str) -> Result<street::Model, ApiError> {
    let found = street::Entity::find()
        .filter(street::Column::DistrictId.eq(district_id))
        .filter(street::Column::Name.eq(name))
        .one(db)
        .await?;
    if let Some(found) = found {
        return Ok(found);
    }
    Ok(street::ActiveModel { district_id: Set(district_id), name: Set(name.to_owned()), ..Default::default() }
        .insert(db)
        .await?)
}

pub async fn create_community(
    db: &impl ConnectionTrait,
    district_name: PublicText,
    street_name: PublicText,
    name: PublicText,
    now: DateTime<Utc>,
) -> Result<community::Model, ApiError> {
    let district = district_named(db, &district_name.into_inner()).await?;
    let street = street_named(db, district.id, &street_name.into_inner()).await?;
    Ok(community::ActiveModel {
        street_id: Set(street.id),
        name: Set(name.into_inner()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

pub async fn get_community(db: &impl ConnectionTrait, id: CommunityId) -> Result<community::Model, ApiError> {
    community::Entity::find_by_id(id.0).one(db).await?.ok_or(ApiError::NotFound("community"))
}

pub async fn get_grid(db: &impl ConnectionTrait, id: GridId) -> Result<grid::Model, ApiError> {
    grid::Entity::find_by_id(id.0).one(db).await?.ok_or(ApiError::NotFound("grid"))
}

pub async fn get_building(db: &impl ConnectionTrait, id: BuildingId) -> Result<building::Model, ApiError> {
    building::Entity::find_by_id(id.0).one(db).await?.ok_or(ApiError::NotFound("building"))
}

pub async fn get_household(db: &impl ConnectionTrait, id: HouseholdId) -> Result<household::Model, ApiError> {
    household::Entity::find_by_id(id.0).one(db).await?.ok_or(ApiError::NotFound("household"))
}

/// Rows after the keyset position, in id order, one more than the limit (see `pagination::page`).
macro_rules! keyset_rows {
    ($db:expr, $entity:ident, $filter:expr, $keyset:expr) => {{
        let mut query =
            $entity::Entity::find().filter($filter).order_by_asc($entity::Column::Id).limit($keyset.limit + 1);
        if let Some(after) = $keyset.after_id {
            query = query.filter($entity::Column::Id.gt(after));
        }
        query.all($db).await
    }};
}

pub async fn list_communities(db: &impl ConnectionTrait, keyset: &Keyset) -> Result<Vec<community::Model>, ApiError> {
    Ok(keyset_rows!(db, community, Expr::value(true), keyset)?)
}

pub async fn grids_of(
    db: &impl ConnectionTrait,
    id: CommunityId,
    keyset: &Keyset,
) -> Result<Vec<grid::Model>, ApiError> {
    let community = get_community(db, id).await?;
    Ok(keyset_rows!(db, grid, grid::Column::CommunityId.eq(community.id), keyset)?)
}

pub async fn buildings_of(
    db: &impl ConnectionTrait,
    id: GridId,
    keyset: &Keyset,
) -> Result<Vec<building::Model>, ApiError> {
    let grid = get_grid(db, id).await?;
    Ok(keyset_rows!(db, building, building::Column::GridId.eq(grid.id), keyset)?)
}

pub async fn households_of(
    db: &impl ConnectionTrait,
    id: BuildingId,
    keyset: &Keyset,
) -> Result<Vec<household::Model>, ApiError> {
    let building = get_building(db, id).await?;
    Ok(keyset_rows!(db, household, household::Column::BuildingId.eq(building.id), keyset)?)
}

pub(super) async fn screen_names<const N: usize>(
    state: &AppState,
    actor: &Actor,
    names: [Label; N],
) -> Result<[PublicText; N], ApiError> {
    let author = actor.user().clone();
    let author = Author { openid: &author.openid, scene: TextScene::Profile };
    let (names, _) = content::screen(&state.wechat, author, names.map(Label::into_inner), WhenUnsure::Refuse).await?;
    Ok(names)
}

/// Adding a grid, a building or a household: the committee (or an admin) names it, and the name is
/// screened like any text residents read.
async fn structure_names<const N: usize>(
    state: &AppState,
    caller: AuthUser,
    community: CommunityId,
    names: [Label; N],
) -> Result<[PublicText; N], ApiError> {
    let actor = Actor::of(state, caller).await?;
    authz::manage_structure(&actor, community)?;
    screen_names(state, &actor, names).await
}

/// The committee adds a grid to its community.
pub async fn add_grid(
    state: &AppState,
    caller: AuthUser,
    id: CommunityId,
    name: Label,
) -> Result<grid::Model, ApiError> {
    let community = get_community(&state.db, id).await?;
    let [name] = structure_names(state, caller, CommunityId(community.id), [name]).await?;
    create_grid(&state.db, CommunityId(community.id), name).await
}

/// The committee adds a building to one of its grids.
pub async fn add_building(
    state: &AppState,
    caller: AuthUser,
    id: GridId,
    name: Label,
) -> Result<building::Model, ApiError> {
    let grid = get_grid(&state.db, id).await?;
    let [name] = structure_names(state, caller, CommunityId(grid.community_id), [name]).await?;
    create_building(&state.db, &grid, name).await
}

/// The committee adds a household (a door) to one of its buildings.
pub async fn add_household(
    state: &AppState,
    caller: AuthUser,
    id: BuildingId,
    label: Label,
) -> Result<household::Model, ApiError> {
    let building = get_building(&state.db, id).await?;
    let [label] = structure_names(state, caller, CommunityId(building.community_id), [label]).await?;
    create_household(&state.db, &building, label).await
}

pub async fn create_grid(
    db: &impl ConnectionTrait,
    community: CommunityId,
    name: PublicText,
) -> Result<grid::Model, ApiError> {
    Ok(grid::ActiveModel { community_id: Set(community.0), name: Set(name.into_inner()), ..Default::default() }
        .insert(db)
        .await?)
}

pub async fn create_building(
    db: &impl ConnectionTrait,
    grid: &grid::Model,
    name: PublicText,
) -> Result<building::Model, ApiError> {
    Ok(building::ActiveModel {
        community_id: Set(grid.community_id),
        grid_id: Set(grid.id),
        name: Set(name.into_inner()),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

pub async fn create_household(
    db: &impl ConnectionTrait,
    building: &building::Model,
    label: PublicText,
) -> Result<household::Model, ApiError> {
    Ok(household::ActiveModel {
        community_id: Set(building.community_id),
        building_id: Set(building.id),
        label: Set(label.into_inner()),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

async fn is_member(db: &impl ConnectionTrait, community: i64, user: UserId) -> Result<bool, ApiError> {
    let count = household_member::Entity::find()
        .filter(household_member::Column::CommunityId.eq(community))
        .filter(household_member::Column::UserId.eq(user.0))
        .count(db)
        .await?;
    Ok(count > 0)
}

/// A resident claims residence in a household; one household per community, one pending claim.
pub async fn create_join_request(
    db: &impl ConnectionTrait,
    user: UserId,
    household: &household::Model,
    note: Option<PublicText>,
    now: DateTime<Utc>,
) -> Result<join_request::Model, ApiError> {
    if is_member(db, household.community_id, user).await? {
        return Err(CommunityError::AlreadyMember.into());
    }
    let pending = join_request::Entity::find()
        .filter(join_request::Column::UserId.eq(user.0))
        .filter(join_request::Column::CommunityId.eq(household.community_id))
        .filter(join_request::Column::Status.eq(JoinStatus::Pending.as_str()))
        .count(db)
        .await?;
    if pending > 0 {
        return Err(CommunityError::JoinRequestExists.into());
    }
    Ok(join_request::ActiveModel {
        household_id: Set(household.id),
        community_id: Set(household.community_id),
        building_id: Set(household.building_id),
        user_id: Set(user.0),
        status: Set(JoinStatus::Pending.as_str().to_owned()),
        note: Set(note.map(PublicText::into_inner)),
        decided_by: Set(None),
        decision_note: Set(None),
        decided_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

pub async fn get_join_request(db: &impl ConnectionTrait, id: JoinRequestId) -> Result<join_request::Model, ApiError> {
    join_request::Entity::find_by_id(id.0).one(db).await?.ok_or(ApiError::NotFound("join request"))
}

/// Decides a pending request. The status change is conditional on `pending`, so two deciders racing
/// cannot both win; approval makes the user a member and a resident of the community.
pub async fn decide_join_request(
    db: &impl ConnectionTrait,
    request: &join_request::Model,
    decider: UserId,
    approve: bool,
    note: Option<PublicText>,
    now: DateTime<Utc>,
) -> Result<join_request::Model, ApiError> {
    let status = JoinStatus::decided(approve).as_str();
    let updated = join_request::Entity::update_many()
        .col_expr(join_request::Column::Status, Expr::value(status))
        .col_expr(join_request::Column::DecidedBy, Expr::value(decider.0))
        .col_expr(join_request::Column::DecisionNote, Expr::value(note.map(PublicText::into_inner)))
        .col_expr(join_request::Column::DecidedAt, Expr::value(now))
        .filter(join_request::Column::Id.eq(request.id))
        .filter(join_request::Column::Status.eq(JoinStatus::Pending.as_str()))
        .exec(db)
        .await?;
    if updated.rows_affected != 1 {
        return Err(CommunityError::JoinRequestNotPending.into());
    }
    if approve {
        if is_member(db, request.community_id, UserId(request.user_id)).await? {
            return Err(CommunityError::AlreadyMember.into());
        }
        household_member::ActiveModel {
            household_id: Set(request.household_id),
            community_id: Set(request.community_id),
            user_id: Set(request.user_id),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        grant(db, CommunityId(request.community_id), UserId(request.user_id), Role::Resident, 0, now).await?;
    }
    get_join_request(db, JoinRequestId(request.id)).await
}

pub async fn list_join_requests(
    db: &impl ConnectionTrait,
    community: CommunityId,
    scope: &JoinRequestScope,
    status: Option<&str>,
    keyset: &Keyset,
) -> Result<Vec<(join_request::Model, Option<user::Model>)>, ApiError> {
    let mut query = join_request::Entity::find()
        .filter(join_request::Column::CommunityId.eq(community.0))
        .order_by_asc(join_request::Column::Id)
        .limit(keyset.limit + 1);
    if let JoinRequestScope::Buildings(buildings) = scope {
        query = query.filter(join_request::Column::BuildingId.is_in(buildings.clone()));
    }
    if let Some(status) = status {
        query = query.filter(join_request::Column::Status.eq(status));
    }
    if let Some(after) = keyset.after_id {
        query = query.filter(join_request::Column::Id.gt(after));
    }
    let requests = query.all(db).await?;
    let users = user::Entity::find().filter(user::Column::Id.is_in(requests.iter().map(|r| r.user_id))).all(db).await?;
    Ok(requests
        .into_iter()
        .map(|request| {
            let applicant = users.iter().find(|u| u.id == request.user_id).cloned();
            (request, applicant)
        })
        .collect())
}

/// Grants an unscoped role (a volunteer's, on approval) in the caller's transaction; a role already
/// held is left as it is.
pub async fn grant_role(
    db: &impl ConnectionTrait,
    community: CommunityId,
    user: UserId,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    grant(db, community, user, role, 0, now).await
}

pub(crate) async fn grant(
    db: &impl ConnectionTrait,
    community: CommunityId,
    user: UserId,
    role: Role,
    scope_id: i64,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    member_role::Entity::insert(member_role::ActiveModel {
        community_id: Set(community.0),
        user_id: Set(user.0),
        role: Set(role.as_str().to_owned()),
        scope_id: Set(scope_id),
        created_at: Set(now),
        ..Default::default()
    })
    // Idempotent: a role already held is left as it is. The conflict target must name the unique
    // index; sea-orm's bare `on_conflict_do_nothing()` targets the primary key instead, and a
    // duplicate grant then fails as a unique violation.
    .on_conflict_do_nothing_on([
        member_role::Column::CommunityId,
        member_role::Column::UserId,
        member_role::Column::Role,
        member_role::Column::ScopeId,
    ])
    .exec(db)
    .await?;
    Ok(())
}

/// Checks that every scope id names a building, grid or shop of this community.
async fn check_scope(db: &impl ConnectionTrait, community: CommunityId, grant: &RoleGrant) -> Result<(), ApiError> {
    let ids: BTreeSet<i64> = grant.scope_ids.iter().copied().collect();
    let role = grant.role.as_str();
    let found = match grant.role.scope() {
        Scope::None if ids.is_empty() => return Ok(()),
        Scope::None => return Err(CommunityError::InvalidRole(format!("{role} takes no scope_ids")).into()),
        _ if ids.is_empty() => return Err(CommunityError::InvalidRole(format!("{role} needs scope_ids")).into()),
        Scope::Building => {
            building::Entity::find()
                .filter(building::Column::CommunityId.eq(community.0))
                .filter(building::Column::Id.is_in(ids.clone()))
                .count(db)
                .await?
        }
        Scope::Grid => {
            grid::Entity::find()
                .filter(grid::Column::CommunityId.eq(community.0))
                .filter(grid::Column::Id.is_in(ids.clone()))
                .count(db)
                .await?
        }
        Scope::Merchant => {
            merchant::Entity::find()
                .filter(merchant::Column::CommunityId.eq(community.0))
                .filter(merchant::Column::Id.is_in(ids.clone()))
                .count(db)
                .await?
        }
    };
    if found != ids.len() as u64 {
        return Err(CommunityError::InvalidRole(format!("{role}: some scope_ids are not in this community")).into());
    }
    Ok(())
}

/// Refuses a role listed twice, or a scope id listed twice under one role: the set is meant to be
/// the member's roles exactly, and a repeat is a client's mistake better named than silently merged.
fn check_no_duplicates(grants: &[RoleGrant]) -> Result<(), ApiError> {
    let mut roles = BTreeSet::new();
    for grant in grants {
        let role = grant.role.as_str();
        if !roles.insert(grant.role) {
            return Err(CommunityError::InvalidRole(format!("{role} is listed twice")).into());
        }
        let mut scopes = BTreeSet::new();
        if let Some(repeated) = grant.scope_ids.iter().find(|id| !scopes.insert(**id)) {
            return Err(CommunityError::InvalidRole(format!("{role}: scope id {repeated} is listed twice")).into());
        }
    }
    Ok(())
}

/// Replaces a member's roles in a community with the given set, and hands the member's open work
/// that the new roles no longer cover one level up — in the caller's transaction, so that a role
/// and the access it gave end together. `changed_by` is recorded on the handed-over work.
pub async fn change_roles(
    db: &impl ConnectionTrait,
    community: CommunityId,
    member: UserId,
    grants: &[RoleGrant],
    changed_by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<Vec<RoleGrant>, ApiError> {
    let roles = set_roles(db, community, member, grants, now).await?;
    crate::scenes::requests::handover::after_role_change(db, community, member, changed_by, now).await?;
    Ok(roles)
}

/// Replaces a member's roles in a community with the given set. Only for a member with no work
/// assigned yet (the demo data); everyone else goes through `change_roles`.
pub async fn set_roles(
    db: &impl ConnectionTrait,
    community: CommunityId,
    member: UserId,
    grants: &[RoleGrant],
    now: DateTime<Utc>,
) -> Result<Vec<RoleGrant>, ApiError> {
    check_no_duplicates(grants)?;
    user::Entity::find_by_id(member.0).one(db).await?.ok_or(ApiError::NotFound("user"))?;
    for grant in grants {
        check_scope(db, community, grant).await?;
    }
    member_role::Entity::delete_many()
        .filter(member_role::Column::CommunityId.eq(community.0))
        .filter(member_role::Column::UserId.eq(member.0))
        .exec(db)
        .await?;
    for entry in grants {
        if entry.scope_ids.is_empty() {
            grant(db, community, member, entry.role, 0, now).await?;
        }
        for scope_id in &entry.scope_ids {
            grant(db, community, member, entry.role, *scope_id, now).await?;
        }
    }
    get_roles(db, community, member).await
}

/// Removes one scoped role (a shop's staff member removed by its owner); true when it was held.
pub async fn revoke_scoped(
    db: &impl ConnectionTrait,
    community: CommunityId,
    member: UserId,
    role: Role,
    scope_id: i64,
) -> Result<bool, ApiError> {
    let deleted = member_role::Entity::delete_many()
        .filter(member_role::Column::CommunityId.eq(community.0))
        .filter(member_role::Column::UserId.eq(member.0))
        .filter(member_role::Column::Role.eq(role.as_str()))
        .filter(member_role::Column::ScopeId.eq(scope_id))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected > 0)
}

pub async fn get_roles(
    db: &impl ConnectionTrait,
    community: CommunityId,
    member: UserId,
) -> Result<Vec<RoleGrant>, ApiError> {
    let rows = member_role::Entity::find()
        .filter(member_role::Column::CommunityId.eq(community.0))
        .filter(member_role::Column::UserId.eq(member.0))
        .order_by_asc(member_role::Column::Role)
        .order_by_asc(member_role::Column::ScopeId)
        .all(db)
        .await?;
    let mut grants: Vec<RoleGrant> = Vec::new();
    for row in rows {
        let Some(role) = Role::parse(&row.role) else { continue };
        let scope = (row.scope_id != 0).then_some(row.scope_id);
        match grants.iter_mut().find(|g| g.role == role) {
            Some(existing) => existing.scope_ids.extend(scope),
            None => grants.push(RoleGrant { role, scope_ids: scope.into_iter().collect() }),
        }
    }
    Ok(grants)
}
