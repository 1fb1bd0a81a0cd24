//! Who may see and do what in the 关爱 care round. That a person is a care recipient is sensitive: only
//! the care team sees it — the committee and social workers of the community (who register recipients,
//! assign visitors and devices), the recipient's assigned visitors, and the grid worker of their grid.
//! Everyone else is told the recipient does not exist.

use super::{Actor, Case, allow, not_a_party};
use crate::domain::{CommunityId, Role, UserId};
use crate::platform::error::ApiError;

/// What the policy needs to know of a recipient.
#[derive(Debug, Clone)]
pub struct CareScope<'a> {
    pub community: CommunityId,
    pub grid_id: i64,
    pub visitors: &'a [i64],
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CareAccess {
    /// Sees the recipient, their contacts, visits and tasks.
    pub visible: bool,
    /// Assigns visitors, registers devices.
    pub manage: bool,
    /// Logs visits.
    pub visit: bool,
}

impl Actor {
    /// The committee, a social worker of the community, or an admin.
    pub fn runs_care(&self, community: CommunityId) -> bool {
        self.committee_or_admin(community) || self.has(community, Role::SocialWorker)
    }
}

pub fn care_access(actor: &Actor, scope: &CareScope<'_>) -> CareAccess {
    let manage = actor.runs_care(scope.community);
    let visitor = scope.visitors.contains(&actor.id.0);
    let grid = actor.has_scoped(scope.community, Role::GridWorker, scope.grid_id);
    CareAccess { visible: manage || visitor || grid, manage, visit: manage || visitor }
}

/// Registering a recipient, assigning visitors or devices: the care team's managers, never for
/// themself (a recipient with an account is a party to their own care).
pub fn manage_care(actor: &Actor, community: CommunityId, recipient: Option<UserId>) -> Result<(), ApiError> {
    allow(actor.runs_care(community))?;
    match recipient {
        Some(recipient) => not_a_party(actor.id, &Case::CareRecipient { recipient }),
        None => Ok(()),
    }
}

/// The committee's care dashboard: the committee of the community or an admin. Social workers run
/// the round recipient by recipient; the community-wide figures are the committee's to read.
pub fn read_care_dashboard(actor: &Actor, community: CommunityId) -> Result<(), ApiError> {
    allow(actor.committee_or_admin(community))
}
