//! Who may run polls: the committee anywhere in its community, a building leader for polls of their
//! own buildings; proxy (paper) ballots by the leader of the household's building or the committee,
//! never for their own household; household representatives named by the same people.

use super::{Actor, Case, not_a_party};
use crate::domain::{BuildingId, CommunityId, Role, UserId};
use crate::platform::error::ApiError;

fn leads(actor: &Actor, community: CommunityId, building: BuildingId) -> bool {
    actor.has_scoped(community, Role::BuildingLeader, building.0)
}

/// Creating a poll: the committee (or an admin) for any scope; a building leader only for a poll
/// scoped to buildings they all lead.
pub fn create_poll(actor: &Actor, community: CommunityId, buildings_only: Option<&[i64]>) -> Result<(), ApiError> {
    if actor.committee_or_admin(community) {
        return Ok(());
    }
    match buildings_only {
        Some(ids) if !ids.is_empty() && ids.iter().all(|id| leads(actor, community, BuildingId(*id))) => Ok(()),
        _ => Err(ApiError::Forbidden),
    }
}

/// Recording a paper ballot for a household: its building's leader or the committee, and never for a
/// household the recorder belongs to (that would be casting their own ballot twice over).
pub fn record_proxy_ballot(
    actor: &Actor,
    community: CommunityId,
    building: BuildingId,
    members: &[UserId],
) -> Result<(), ApiError> {
    if !(actor.committee_or_admin(community) || leads(actor, community, building)) {
        return Err(ApiError::Forbidden);
    }
    for member in members {
        not_a_party(actor.id, &Case::ProxyBallot { household_member: *member })?;
    }
    Ok(())
}

/// Naming a household's representative: its building's leader or the committee, never for their own
/// household.
pub fn name_representative(
    actor: &Actor,
    community: CommunityId,
    building: BuildingId,
    members: &[UserId],
) -> Result<(), ApiError> {
    if !(actor.committee_or_admin(community) || leads(actor, community, building)) {
        return Err(ApiError::Forbidden);
    }
    for member in members {
        not_a_party(actor.id, &Case::Representative { household_member: *member })?;
    }
    Ok(())
}

/// Reading a poll: anyone of its community, or a person named on it.
pub fn view_poll(actor: &Actor, community: CommunityId, named: bool) -> Result<(), ApiError> {
    if actor.in_community(community) || named { Ok(()) } else { Err(ApiError::NotFound("poll")) }
}
