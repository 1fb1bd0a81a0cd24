//! Roles within a community. Some are scoped: a building leader leads certain buildings, a grid worker
//! serves certain grids, merchant staff work for certain shops. `admin` is global and lives on the user.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Resident,
    Volunteer,
    BuildingLeader,
    GridWorker,
    SocialWorker,
    Committee,
    MerchantStaff,
}

/// What a scoped role's `scope_id` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    None,
    Building,
    Grid,
    Merchant,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Resident,
        Role::Volunteer,
        Role::BuildingLeader,
        Role::GridWorker,
        Role::SocialWorker,
        Role::Committee,
        Role::MerchantStaff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::Volunteer => "volunteer",
            Role::BuildingLeader => "building_leader",
            Role::GridWorker => "grid_worker",
            Role::SocialWorker => "social_worker",
            Role::Committee => "committee",
            Role::MerchantStaff => "merchant_staff",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }

    pub fn scope(self) -> Scope {
        match self {
            Role::BuildingLeader => Scope::Building,
            Role::GridWorker => Scope::Grid,
            Role::MerchantStaff => Scope::Merchant,
            _ => Scope::None,
        }
    }
}

/// One role held in one community, with its scope ids (empty for unscoped roles).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleGrant {
    pub role: Role,
    #[serde(default)]
    pub scope_ids: Vec<i64>,
}
