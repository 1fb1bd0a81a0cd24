//! Demo data for a new dev database: one street, one community with 2 grids, 4 buildings and 20
//! households, and a user for every role, each reachable through dev-login by openid.

use crate::platform::clock::{Clock, SystemClock};
use ehome_entities::{merchant, user};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};

use crate::domain::{CommunityId, Label, Role, RoleGrant, UserId};
use crate::identity::users;
use crate::platform::content::PublicText;
use crate::platform::error::ApiError;
use crate::scenes::community::service;
use crate::scenes::merchants::lifecycle::{AllianceLevel, MerchantKind, MerchantStatus};

/// The dev-login openids of the demo users, with what each can do.
pub const DEMO_USERS: &[(&str, &str)] = &[
    ("demo-admin", "platform admin"),
    ("demo-committee", "committee member of 新芝社区"),
    ("demo-leader", "building leader of 1号楼"),
    ("demo-grid", "grid worker of 第一网格"),
    ("demo-social", "social worker"),
    ("demo-resident-1", "resident and volunteer, 1号楼 101"),
    ("demo-resident-2", "resident, 1号楼 102"),
    ("demo-resident-3", "resident, 2号楼 101"),
    ("demo-newcomer", "signed in, not yet a resident"),
    ("demo-shop", "staff of 邻家理发店 (merchant alliance)"),
];

/// A name of the demo community: validated like any label, and ours, so it needs no content check.
fn label(text: &str) -> Result<PublicText, ApiError> {
    Ok(PublicText::from_project(Label::parse("demo", text)?.into_inner()))
}

/// Whether the demo community is already loaded (its admin exists).
pub async fn present(db: &DatabaseConnection) -> Result<bool, ApiError> {
    use sea_orm::{ColumnTrait, QueryFilter};
    Ok(user::Entity::find().filter(user::Column::Openid.eq(DEMO_USERS[0].0)).one(db).await?.is_some())
}

pub async fn seed(db: &DatabaseConnection) -> Result<(), ApiError> {
    let txn = crate::platform::db::begin_write(db).await?;
    // The demo seed runs outside the app (at start-up and from `ehome seed-demo`): system time.
    let now = SystemClock.now();
    let community =
        service::create_community(&txn, label("海曙区")?, label("南门街道")?, label("新芝社区")?, now).await?;
    let community_id = CommunityId(community.id);
    let mut buildings = Vec::new();
    let mut households = Vec::new();
    for grid_name in ["第一网格", "第二网格"] {
        let grid = service::create_grid(&txn, community_id, label(grid_name)?).await?;
        for _ in 0..2 {
            let number = buildings.len() + 1;
            let building = service::create_building(&txn, &grid, label(&format!("{number}号楼"))?).await?;
            for room in 1..=5u32 {
                let door = format!("{}0{}", room.div_ceil(2), 2 - room % 2);
                households.push(service::create_household(&txn, &building, label(&door)?).await?);
            }
            buildings.push(building);
        }
    }
    let shop = merchant::ActiveModel {
        community_id: Set(community.id),
        name: Set("邻家理发店".to_owned()),
        status: Set(MerchantStatus::Approved.as_str().to_owned()),
        created_at: Set(now),
        kind: Set(MerchantKind::Shop.as_str().to_owned()),
        business_category: Set("理发".to_owned()),
        address: Set("新芝社区1号楼底商".to_owned()),
        contact_phone: Set(Some("13800000000".to_owned())),
        licence_number: Set("DEMO-0001".to_owned()),
        alliance_level: Set(AllianceLevel::Community.as_str().to_owned()),
        alliance_id: Set(community.id),
        owner_id: Set(None),
        decided_by: Set(None),
        decided_at: Set(Some(now)),
        decision_note: Set(None),
        updated_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(&txn)
    .await?;

    let mut ids = std::collections::HashMap::new();
    for (openid, _) in DEMO_USERS {
        let nickname = openid.trim_start_matches("demo-");
        let created = users::find_or_create(&txn, openid, None, nickname, now).await?;
        ids.insert(*openid, UserId(created.id));
    }
    let admin = user::Entity::find_by_id(ids["demo-admin"].0).one(&txn).await?.ok_or(ApiError::NotFound("user"))?;
    let mut admin: user::ActiveModel = admin.into();
    admin.is_admin = Set(true);
    admin.update(&txn).await?;

    let grant = |role: Role, scope_ids: Vec<i64>| vec![RoleGrant { role, scope_ids }];
    service::set_roles(&txn, community_id, ids["demo-committee"], &grant(Role::Committee, vec![]), now).await?;
    service::set_roles(
        &txn,
        community_id,
        ids["demo-leader"],
        &grant(Role::BuildingLeader, vec![buildings[0].id]),
        now,
    )
    .await?;
    service::set_roles(&txn, community_id, ids["demo-grid"], &grant(Role::GridWorker, vec![buildings[0].grid_id]), now)
        .await?;
    service::set_roles(&txn, community_id, ids["demo-social"], &grant(Role::SocialWorker, vec![]), now).await?;
    service::set_roles(&txn, community_id, ids["demo-shop"], &grant(Role::MerchantStaff, vec![shop.id]), now).await?;
    for (openid, household) in
        [("demo-resident-1", &households[0]), ("demo-resident-2", &households[1]), ("demo-resident-3", &households[5])]
    {
        let request = service::create_join_request(&txn, ids[openid], household, None, now).await?;
        service::decide_join_request(&txn, &request, ids["demo-committee"], true, None, now).await?;
    }
    service::set_roles(
        &txn,
        community_id,
        ids["demo-resident-1"],
        &[
            RoleGrant { role: Role::Resident, scope_ids: vec![] },
            RoleGrant { role: Role::Volunteer, scope_ids: vec![] },
        ],
        now,
    )
    .await?;
    // demo-resident-1's volunteer role comes with an approved registration, as an approval leaves it.
    crate::scenes::activities::service::seed_approved_volunteer(
        &txn,
        community_id,
        ids["demo-resident-1"],
        ids["demo-committee"],
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
