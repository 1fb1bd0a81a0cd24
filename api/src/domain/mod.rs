//! Domain types that are valid once built: typed ids, roles, phone numbers, the kinds of user text
//! with their limits, and the macro for enums stored as text.

pub mod area;
mod ids;
pub mod media_url;
pub mod phone;
mod role;
mod stored_enum;
pub mod text;

pub use area::{Area, AreaKind};
pub use ids::{
    ActivityId, BuildingId, CommunityId, GridId, HouseholdId, JoinRequestId, MerchantId, OfferId, RedemptionId,
    SettlementId, TeamId, UserId, VolunteerId,
};
pub use phone::Phone;
pub use role::{Role, RoleGrant, Scope};
pub use text::{Description, Label, Location, Nickname, Note, RatingText, SearchText, Title};
