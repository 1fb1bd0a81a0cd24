//! Authorisation: who the caller is in each community, and one policy function per action. Handlers
//! call a policy; they never check roles themselves.

mod care;
mod deliberations;
mod merchants;
mod notices;
mod party;
pub mod polls;
mod requests;
mod settlements;
mod volunteering;

use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::ConnectionTrait;

use crate::domain::{BuildingId, CommunityId, Role, UserId};
use crate::identity::auth::AuthUser;
use crate::identity::caller::Caller;
pub use crate::identity::caller::Home;
use crate::platform::error::ApiError;
use crate::state::AppState;

pub use care::{CareAccess, CareScope, care_access, manage_care, read_care_dashboard};
pub use deliberations::{chair_meeting, propose_deliberation, seat_on_panel, steer_deliberation};
pub use merchants::{
    MerchantScope, RefundBy, SHOP_REFUND_WINDOW_DAYS, decide_merchant, manage_offers, manage_staff, redeem, refund,
    view_merchant_private, view_redemptions,
};
pub use notices::{BuildingPlace, covers_building, notice_reach, publish_notice, tell_in_person};
pub use party::{Case, is_party_to, not_a_party};
pub use requests::{
    RequestAccess, RequestListScope, RequestScope, can_be_assigned, manage_requests, request_access,
    request_list_scope, submit_request,
};
pub use settlements::{
    decide_settlement, draft_settlement, read_alliance_report, set_settlement_rate, view_settlement_rate,
    view_settlements,
};
pub use volunteering::{decide_volunteer, manage_team, manage_volunteers, organise_activity, organises};

/// The caller with every role they hold, as `authz`'s policies read it: built from the `Caller` that
/// `identity::caller` loads in one statement and keeps per instance.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: UserId,
    pub is_admin: bool,
    /// Community → (role, scope id) pairs.
    roles: HashMap<i64, Vec<(Role, i64)>>,
    who: Arc<Caller>,
}

impl Actor {
    /// The signed-in caller, kept per instance (see `identity::caller`).
    pub async fn of(state: &AppState, caller: AuthUser) -> Result<Actor, ApiError> {
        Ok(Actor::from_caller(Caller::of(state, caller).await?))
    }

    /// Any user, read from the database (inside a transaction, or for someone other than the caller).
    pub async fn load(db: &impl ConnectionTrait, caller: AuthUser) -> Result<Actor, ApiError> {
        Ok(Actor::from_caller(Arc::new(Caller::load(db, caller.id).await?)))
    }

    fn from_caller(who: Arc<Caller>) -> Actor {
        let mut roles: HashMap<i64, Vec<(Role, i64)>> = HashMap::new();
        for (community, role, scope) in &who.roles {
            roles.entry(*community).or_default().push((*role, *scope));
        }
        Actor { id: UserId(who.user.id), is_admin: who.user.is_admin, roles, who }
    }

    /// The caller's user row as kept with their roles (read afresh after any change to it through
    /// the API: see `identity::caller`), so a use case needs no statement of its own for it.
    pub fn user(&self) -> &ehome_entities::user::Model {
        &self.who.user
    }

    /// The households the caller belongs to.
    pub fn homes(&self) -> &[Home] {
        &self.who.homes
    }

    /// The communities the caller holds any role in (a resident's, a committee member's …), in order.
    pub fn communities(&self) -> Vec<CommunityId> {
        let mut ids: Vec<CommunityId> =
            self.roles.iter().filter(|(_, held)| !held.is_empty()).map(|(id, _)| CommunityId(*id)).collect();
        ids.sort();
        ids
    }

    pub fn has(&self, community: CommunityId, role: Role) -> bool {
        self.roles.get(&community.0).is_some_and(|held| held.iter().any(|(r, _)| *r == role))
    }

    pub fn has_scoped(&self, community: CommunityId, role: Role, scope_id: i64) -> bool {
        self.roles.get(&community.0).is_some_and(|held| held.iter().any(|(r, scope)| *r == role && *scope == scope_id))
    }

    /// The scope ids of a scoped role in a community (buildings led, grids served, shops worked for).
    pub fn scopes(&self, community: CommunityId, role: Role) -> Vec<i64> {
        self.roles
            .get(&community.0)
            .map(|held| held.iter().filter(|(r, _)| *r == role).map(|(_, scope)| *scope).collect())
            .unwrap_or_default()
    }

    pub(crate) fn committee_or_admin(&self, community: CommunityId) -> bool {
        self.is_admin || self.has(community, Role::Committee)
    }
}

fn allow(allowed: bool) -> Result<(), ApiError> {
    if allowed { Ok(()) } else { Err(ApiError::Forbidden) }
}

/// Creating a community (and its street and district) is for platform admins.
pub fn create_community(actor: &Actor) -> Result<(), ApiError> {
    allow(actor.is_admin)
}

/// Adding grids, buildings and households: the community's committee or an admin.
pub fn manage_structure(actor: &Actor, community: CommunityId) -> Result<(), ApiError> {
    allow(actor.committee_or_admin(community))
}

/// Deciding join requests for a building: its leader, the committee, an admin — never the applicant.
pub fn decide_join_request(
    actor: &Actor,
    community: CommunityId,
    building: BuildingId,
    applicant: UserId,
) -> Result<(), ApiError> {
    allow(actor.committee_or_admin(community) || actor.has_scoped(community, Role::BuildingLeader, building.0))?;
    not_a_party(actor.id, &Case::JoinRequest { applicant })
}

/// Listing join requests of a community: anyone who may decide some of them.
pub fn list_join_requests(actor: &Actor, community: CommunityId) -> Result<JoinRequestScope, ApiError> {
    if actor.committee_or_admin(community) {
        return Ok(JoinRequestScope::All);
    }
    let buildings = actor.scopes(community, Role::BuildingLeader);
    if buildings.is_empty() {
        return Err(ApiError::Forbidden);
    }
    Ok(JoinRequestScope::Buildings(buildings))
}

pub enum JoinRequestScope {
    All,
    Buildings(Vec<i64>),
}

/// Setting a member's roles: the committee or an admin, and never their own.
pub fn assign_roles(actor: &Actor, community: CommunityId, member: UserId) -> Result<(), ApiError> {
    allow(actor.committee_or_admin(community))?;
    not_a_party(actor.id, &Case::Roles { member })
}

/// Reading a member's roles: the member themself, the committee, an admin.
pub fn view_roles(actor: &Actor, community: CommunityId, member: UserId) -> Result<(), ApiError> {
    allow(actor.id == member || actor.committee_or_admin(community))
}

/// The books (verify, export, raw accounts and transfers): platform admins only.
pub fn ledger_admin(actor: &Actor) -> Result<(), ApiError> {
    allow(actor.is_admin)
}

impl Actor {
    /// Holds any role in the community (residents get one when their household claim is approved).
    pub fn in_community(&self, community: CommunityId) -> bool {
        self.is_admin || self.roles.get(&community.0).is_some_and(|held| !held.is_empty())
    }
}
