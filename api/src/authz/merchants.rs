//! Who may do what in the merchant alliance. A merchant's application is decided by the committee of
//! its community when it joins the community's alliance, and by a platform admin when it joins a
//! street's or a district's (until street and district roles exist); nobody decides their own shop.
//! The owner manages staff; the owner and staff manage offers and redeem codes at the counter; a
//! refund is the shop's within its window, or the committee's.

use chrono::{DateTime, Duration, Utc};

use super::{Actor, Case, allow, not_a_party};
use crate::domain::{CommunityId, MerchantId, Role, UserId};
use crate::platform::error::ApiError;

/// What a policy needs to know of a merchant.
#[derive(Debug, Clone, Copy)]
pub struct MerchantScope {
    pub id: MerchantId,
    pub community: CommunityId,
    pub owner: Option<UserId>,
    /// Joins a street's or a district's alliance: decided by a platform admin.
    pub above_community: bool,
}

impl Actor {
    /// The merchant's owner or one of its staff.
    pub fn works_for(&self, merchant: &MerchantScope) -> bool {
        merchant.owner == Some(self.id) || self.has_scoped(merchant.community, Role::MerchantStaff, merchant.id.0)
    }

    fn decides_merchant(&self, merchant: &MerchantScope) -> bool {
        if merchant.above_community { self.is_admin } else { self.committee_or_admin(merchant.community) }
    }
}

/// Approving, rejecting, suspending or reinstating a merchant: its deciders, and never someone who
/// owns or works for it.
pub fn decide_merchant(actor: &Actor, merchant: &MerchantScope) -> Result<(), ApiError> {
    allow(actor.decides_merchant(merchant))?;
    if actor.works_for(merchant) {
        return Err(ApiError::PartyToCase);
    }
    if let Some(owner) = merchant.owner {
        not_a_party(actor.id, &Case::Merchant { owner })?;
    }
    Ok(())
}

/// Personal data of a merchant (the contact phone) and its pending application: its deciders and
/// its owner.
pub fn view_merchant_private(actor: &Actor, merchant: &MerchantScope) -> bool {
    merchant.owner == Some(actor.id) || actor.decides_merchant(merchant)
}

/// Inviting and removing staff: the owner.
pub fn manage_staff(actor: &Actor, merchant: &MerchantScope) -> Result<(), ApiError> {
    allow(merchant.owner == Some(actor.id))
}

/// Offers: the owner and staff.
pub fn manage_offers(actor: &Actor, merchant: &MerchantScope) -> Result<(), ApiError> {
    allow(actor.works_for(merchant))
}

/// Redeeming a code at the counter: the owner and staff, never for their own code.
pub fn redeem(actor: &Actor, merchant: &MerchantScope, redeemer: UserId) -> Result<(), ApiError> {
    allow(actor.works_for(merchant))?;
    not_a_party(actor.id, &Case::Redemption { redeemer })
}

/// The shop's own books of redemptions: the owner, staff, and its deciders.
pub fn view_redemptions(actor: &Actor, merchant: &MerchantScope) -> Result<(), ApiError> {
    allow(actor.works_for(merchant) || actor.decides_merchant(merchant))
}

/// How long after the capture the shop itself may refund; the committee may refund later.
pub const SHOP_REFUND_WINDOW_DAYS: i64 = 7;

/// Refunding a redemption: the shop within its window, the merchant's committee (or an admin) at any
/// time; never the resident who redeemed.
pub fn refund(
    actor: &Actor,
    merchant: &MerchantScope,
    redeemer: UserId,
    captured_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<RefundBy, ApiError> {
    let by = if actor.committee_or_admin(merchant.community) {
        RefundBy::Committee
    } else if actor.works_for(merchant) {
        RefundBy::Shop { window_open: now <= captured_at + Duration::days(SHOP_REFUND_WINDOW_DAYS) }
    } else {
        return Err(ApiError::Forbidden);
    };
    not_a_party(actor.id, &Case::Redemption { redeemer })?;
    Ok(by)
}

/// Who refunds, and for the shop whether its window is still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundBy {
    Shop { window_open: bool },
    Committee,
}

impl Actor {
    /// The communities whose committee the caller sits on.
    pub fn committee_communities(&self) -> Vec<CommunityId> {
        self.roles
            .iter()
            .filter(|(_, held)| held.iter().any(|(role, _)| *role == Role::Committee))
            .map(|(id, _)| CommunityId(*id))
            .collect()
    }

    /// The merchants the caller works for as staff, in any community.
    pub fn staff_of(&self) -> Vec<MerchantId> {
        self.roles
            .values()
            .flat_map(|held| {
                held.iter().filter(|(role, _)| *role == Role::MerchantStaff).map(|(_, id)| MerchantId(*id))
            })
            .collect()
    }
}
