//! Who may publish a notice, read it, follow up on it door to door and see its reach.
//!
//! - **Publish**: the committee (or an admin) to any area of its community; a grid worker to grids
//!   they serve or buildings in them; a building leader to buildings they lead. Only the committee
//!   addresses the whole community.
//! - **Read**: the notice's author, the committee, residents of a building it reaches, and the grid
//!   workers and building leaders who cover one of those buildings.
//! - **Told in person**: whoever covers the household's building (its leader, its grid's worker, the
//!   committee).
//! - **Reach**: the committee and the author.

use super::{Actor, allow};
use crate::domain::{AreaKind, CommunityId, Role};
use crate::platform::error::ApiError;

/// A building as the notice rules see it.
#[derive(Debug, Clone, Copy)]
pub struct BuildingPlace {
    pub building_id: i64,
    pub grid_id: i64,
}

/// Covers a building as its leader, its grid's worker, or the committee.
pub fn covers_building(actor: &Actor, community: CommunityId, place: BuildingPlace) -> bool {
    actor.committee_or_admin(community)
        || actor.has_scoped(community, Role::BuildingLeader, place.building_id)
        || actor.has_scoped(community, Role::GridWorker, place.grid_id)
}

pub fn publish_notice(
    actor: &Actor,
    community: CommunityId,
    kind: AreaKind,
    places: &[BuildingPlace],
) -> Result<(), ApiError> {
    if actor.committee_or_admin(community) {
        return Ok(());
    }
    let covered = places.iter().all(|place| covers_building(actor, community, *place));
    allow(kind != AreaKind::Community && !places.is_empty() && covered)
}

/// Following up on one household of a building.
pub fn tell_in_person(actor: &Actor, community: CommunityId, place: BuildingPlace) -> Result<(), ApiError> {
    allow(covers_building(actor, community, place))
}

/// The reach of a notice per building.
pub fn notice_reach(actor: &Actor, community: CommunityId, author: i64) -> Result<(), ApiError> {
    allow(actor.committee_or_admin(community) || actor.id.0 == author)
}
