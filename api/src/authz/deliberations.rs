//! Who may do what in a deliberation.
//!
//! - **Propose** a topic: any member of the community.
//! - **Steer** it (anchor, form groups, appoint representatives, invite professionals, schedule
//!   meetings, record resolutions, resolve, close): the committee (or an admin) — never seating
//!   themself on the panel (`Case::Panel`).
//! - **Chair** a meeting (mark attendees, write and sign off the minutes): the meeting's chair.
//! - **Read** it: the committee, its proposer, its panel and group members, residents of the buildings
//!   it affects and whoever covers them. Minutes are read by them once signed off; before that only
//!   by the chair, the committee and the panel.

use super::{Actor, Case, allow, not_a_party};
use crate::domain::{CommunityId, UserId};
use crate::platform::error::ApiError;

pub fn propose_deliberation(actor: &Actor, community: CommunityId) -> Result<(), ApiError> {
    allow(actor.in_community(community))
}

pub fn steer_deliberation(actor: &Actor, community: CommunityId) -> Result<(), ApiError> {
    allow(actor.committee_or_admin(community))
}

/// Seating someone on the panel (a representative, a professional): the committee, not for themself.
pub fn seat_on_panel(actor: &Actor, community: CommunityId, member: UserId) -> Result<(), ApiError> {
    steer_deliberation(actor, community)?;
    not_a_party(actor.id, &Case::Panel { member })
}

pub fn chair_meeting(actor: &Actor, chair: UserId) -> Result<(), ApiError> {
    allow(actor.id == chair)
}
