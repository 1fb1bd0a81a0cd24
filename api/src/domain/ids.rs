//! Typed ids, so that a user id is never passed where a community id belongs.

use serde::{Deserialize, Serialize};

macro_rules! typed_id {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

typed_id!(
    UserId,
    CommunityId,
    GridId,
    BuildingId,
    HouseholdId,
    JoinRequestId,
    MerchantId,
    OfferId,
    RedemptionId,
    VolunteerId,
    TeamId,
    ActivityId,
    SettlementId,
);
