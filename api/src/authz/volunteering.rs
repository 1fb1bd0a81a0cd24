//! Who may do what in 邻互助 volunteering: the committee and social workers run volunteering in their
//! community (approve volunteers, form teams, organise activities); a team's leader manages its
//! members and organises its activities; nobody approves their own registration.

use super::{Actor, Case, allow, not_a_party};
use crate::domain::{CommunityId, Role, UserId};
use crate::platform::error::ApiError;

impl Actor {
    /// The committee, a social worker of the community, or an admin.
    pub fn runs_volunteering(&self, community: CommunityId) -> bool {
        self.committee_or_admin(community) || self.has(community, Role::SocialWorker)
    }
}

/// Listing and reading a community's volunteers, forming teams: those who run volunteering there.
pub fn manage_volunteers(actor: &Actor, community: CommunityId) -> Result<(), ApiError> {
    allow(actor.runs_volunteering(community))
}

/// Approving or declining a registration: those who run volunteering, never the applicant.
pub fn decide_volunteer(actor: &Actor, community: CommunityId, applicant: UserId) -> Result<(), ApiError> {
    allow(actor.runs_volunteering(community))?;
    not_a_party(actor.id, &Case::Volunteer { applicant })
}

/// Adding or removing a team's members: its leader, or those who run volunteering.
pub fn manage_team(actor: &Actor, community: CommunityId, leader: UserId) -> Result<(), ApiError> {
    allow(actor.id == leader || actor.runs_volunteering(community))
}

/// Organising an activity (creating, editing, moving it, reading its sign-ups and check-in code):
/// those who run volunteering, or the leader of the activity's team.
pub fn organises(actor: &Actor, community: CommunityId, team_leader: Option<UserId>) -> bool {
    actor.runs_volunteering(community) || team_leader == Some(actor.id)
}

pub fn organise_activity(actor: &Actor, community: CommunityId, team_leader: Option<UserId>) -> Result<(), ApiError> {
    allow(organises(actor, community, team_leader))
}
