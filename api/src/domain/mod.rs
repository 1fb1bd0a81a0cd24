//! Domain types that are valid once built: typed ids, roles, phone numbers, nicknames.

mod ids;
pub mod media_url;
pub mod phone;
mod role;
mod text;

pub use ids::{BuildingId, CommunityId, GridId, HouseholdId, JoinRequestId, MerchantId, UserId};
pub use phone::Phone;
pub use role::{Role, RoleGrant, Scope};
pub use text::{Label, Nickname};
