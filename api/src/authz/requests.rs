//! Who may see and handle a 邻办事 request.
//!
//! A **handler role** covers a request when it is, now:
//! - the committee of the request's community (or a platform admin),
//! - a grid worker whose grids include the request's grid,
//! - a building leader whose buildings include the request's building,
//! - a social worker of the community, for the requests assigned to them (the committee hands them
//!   cases; they are not a queue of their own).
//!
//! Being the assignee grants nothing by itself: it counts only together with a role that covers the
//! request now, so a removed or narrowed role ends access at once (and `set_roles` hands the work
//! one level up). A handler who is a party to the request (its reporter) handles nothing in it.

use super::{Actor, Case, is_party_to};
use crate::domain::{CommunityId, Role, UserId};
use crate::platform::error::ApiError;

/// What the caller may do with one 邻办事 request.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestAccess {
    /// May see it at all (otherwise it does not exist for them: 404).
    pub visible: bool,
    pub reporter: bool,
    /// May accept, start, resolve, reject, escalate; sees the reporter, held content and internal notes.
    pub handler: bool,
    /// May reassign.
    pub supervisor: bool,
    /// May release held content.
    pub moderator: bool,
    /// Holds a role that would decide this request but is a party to it: decisions answer
    /// `PARTY_TO_CASE` rather than `FORBIDDEN`.
    pub party_to_case: bool,
}

impl RequestAccess {
    /// The error for an action this access does not allow.
    pub fn refusal(&self) -> ApiError {
        if self.party_to_case { ApiError::PartyToCase } else { ApiError::Forbidden }
    }
}

/// The scope fields of a request that decisions depend on.
#[derive(Debug, Clone, Copy)]
pub struct RequestScope {
    pub community: CommunityId,
    pub grid_id: i64,
    pub building_id: i64,
    pub reporter_id: i64,
    pub assignee_id: Option<i64>,
    pub published: bool,
}

impl RequestScope {
    fn case(&self) -> Case {
        Case::Request { reporter: UserId(self.reporter_id) }
    }
}

/// A role that covers the request whoever it is assigned to.
fn covers(actor: &Actor, request: &RequestScope) -> bool {
    let community = request.community;
    actor.committee_or_admin(community)
        || actor.has_scoped(community, Role::GridWorker, request.grid_id)
        || actor.has_scoped(community, Role::BuildingLeader, request.building_id)
}

/// A role that covers the request once it is assigned to the holder.
fn covers_when_assigned(actor: &Actor, request: &RequestScope) -> bool {
    covers(actor, request) || actor.has(request.community, Role::SocialWorker)
}

pub fn request_access(actor: &Actor, request: &RequestScope) -> RequestAccess {
    let community = request.community;
    let committee = actor.committee_or_admin(community);
    let grid_worker = actor.has_scoped(community, Role::GridWorker, request.grid_id);
    let assigned = request.assignee_id == Some(actor.id.0) && covers_when_assigned(actor, request);
    let reporter = request.reporter_id == actor.id.0;
    let party = is_party_to(actor.id, &request.case());
    let handler = covers(actor, request) || assigned;
    let supervisor = committee || grid_worker;
    let public = request.published && actor.in_community(community);
    RequestAccess {
        visible: handler || reporter || public,
        reporter,
        handler: handler && !party,
        supervisor: supervisor && !party,
        moderator: committee && !party,
        party_to_case: party && (handler || supervisor),
    }
}

/// Which requests of a community a caller may list.
#[derive(Debug, Clone)]
pub enum RequestListScope {
    /// The committee and admins: everything in the community.
    All,
    /// Everyone else: their own, those in their scope, those assigned to them while they hold a role
    /// that covers them once assigned (`assigned`), and — for members — the published ones.
    Limited { user_id: i64, grids: Vec<i64>, buildings: Vec<i64>, assigned: bool, published: bool },
}

/// The list rule is `request_access`'s `visible`, written as a filter.
pub fn request_list_scope(actor: &Actor, community: CommunityId) -> RequestListScope {
    if actor.committee_or_admin(community) {
        return RequestListScope::All;
    }
    RequestListScope::Limited {
        user_id: actor.id.0,
        grids: actor.scopes(community, Role::GridWorker),
        buildings: actor.scopes(community, Role::BuildingLeader),
        assigned: actor.has(community, Role::SocialWorker),
        published: actor.in_community(community),
    }
}

/// Category settings and the statistics and CSV of a community: its committee or an admin.
pub fn manage_requests(actor: &Actor, community: CommunityId) -> Result<(), ApiError> {
    super::allow(actor.committee_or_admin(community))
}

/// Submitting a request in a community: its members.
pub fn submit_request(actor: &Actor, community: CommunityId) -> Result<(), ApiError> {
    super::allow(actor.in_community(community))
}

/// Whether a user may be assigned a request: they would handle it once assigned, and are not a party.
pub fn can_be_assigned(actor: &Actor, request: &RequestScope) -> bool {
    covers_when_assigned(actor, request) && !is_party_to(actor.id, &request.case())
}
