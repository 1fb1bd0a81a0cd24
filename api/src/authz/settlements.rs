//! Who may do what in settlement with shops. A community's committee sets its rate and reads its
//! alliance report; a shop's owner (or the committee) drafts a statement, and either may cancel a
//! draft; the committee approves it and marks it paid — never someone who owns or works for the shop.

use super::{Actor, Case, MerchantScope, allow, not_a_party};
use crate::domain::CommunityId;
use crate::platform::error::ApiError;

/// Setting a community's settlement rate: its committee or an admin.
pub fn set_settlement_rate(actor: &Actor, community: CommunityId) -> Result<(), ApiError> {
    allow(actor.committee_or_admin(community))
}

/// Reading a community's rate: anyone in the community (shops see what they will be paid).
pub fn view_settlement_rate(actor: &Actor, community: CommunityId) -> Result<(), ApiError> {
    allow(actor.in_community(community))
}

/// Drafting a statement, or cancelling a draft: the shop's owner, or the committee of its community.
pub fn draft_settlement(actor: &Actor, merchant: &MerchantScope) -> Result<(), ApiError> {
    allow(merchant.owner == Some(actor.id) || actor.committee_or_admin(merchant.community))
}

/// Reading a shop's statements: its owner and staff, and the committee of its community.
pub fn view_settlements(actor: &Actor, merchant: &MerchantScope) -> Result<(), ApiError> {
    allow(actor.works_for(merchant) || actor.committee_or_admin(merchant.community))
}

/// Approving a statement or marking it paid: the committee of the shop's community (or an admin),
/// never someone who owns or works for the shop.
pub fn decide_settlement(actor: &Actor, merchant: &MerchantScope) -> Result<(), ApiError> {
    allow(actor.committee_or_admin(merchant.community))?;
    if actor.works_for(merchant) {
        return Err(ApiError::PartyToCase);
    }
    if let Some(owner) = merchant.owner {
        not_a_party(actor.id, &Case::Settlement { owner })?;
    }
    Ok(())
}

/// The alliance report of a community: its committee or an admin.
pub fn read_alliance_report(actor: &Actor, community: CommunityId) -> Result<(), ApiError> {
    allow(actor.committee_or_admin(community))
}
