//! `ehome admin …`: bootstrap tasks that no one can do over HTTP before a committee exists, and the
//! operator's way to take a role away. Both go through `change_roles`, as `PUT …/roles` does, so a
//! removed or narrowed role hands its open work one level up in the same transaction.

use clap::Subcommand;
use ehome_entities::user;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, TransactionTrait};

use crate::domain::{CommunityId, Role, RoleGrant, UserId};
use crate::platform::cache::Cache;
use crate::platform::clock::{Clock, SystemClock};
use crate::scenes::community::service;

#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// Grant a role in a community (added to the user's roles), or `--role admin` for platform admin.
    Grant {
        /// User id, or the user's WeChat openid.
        #[arg(long)]
        user: String,
        #[arg(long)]
        community: Option<i64>,
        /// resident, volunteer, building_leader, grid_worker, social_worker, committee, merchant_staff or admin.
        #[arg(long)]
        role: String,
        /// Building, grid or merchant ids for scoped roles.
        #[arg(long = "scope", value_delimiter = ',')]
        scope_ids: Vec<i64>,
    },
    /// Take a role in a community away: all of it, or only the given scopes of a scoped role. The
    /// user's open requests that their remaining roles do not cover go one level up.
    Revoke {
        /// User id, or the user's WeChat openid.
        #[arg(long)]
        user: String,
        #[arg(long)]
        community: i64,
        #[arg(long)]
        role: String,
        /// Only these building, grid or merchant ids (the role stays for its other scopes).
        #[arg(long = "scope", value_delimiter = ',')]
        scope_ids: Vec<i64>,
    },
}

async fn find_user(db: &DatabaseConnection, key: &str) -> anyhow::Result<user::Model> {
    let by_id = match key.parse::<i64>() {
        Ok(id) => user::Entity::find_by_id(id).one(db).await?,
        Err(_) => None,
    };
    let found = match by_id {
        Some(found) => Some(found),
        None => user::Entity::find().filter(user::Column::Openid.eq(key)).one(db).await?,
    };
    found.ok_or_else(|| anyhow::anyhow!("no user with id or openid {key:?}; the user must sign in once first"))
}

fn parse_role(role: &str) -> anyhow::Result<Role> {
    Role::parse(role).ok_or_else(|| anyhow::anyhow!("unknown role {role:?}"))
}

/// The user's roles with `role` added (its scopes merged, each once).
fn with_role(mut grants: Vec<RoleGrant>, role: Role, scope_ids: Vec<i64>) -> Vec<RoleGrant> {
    match grants.iter_mut().find(|g| g.role == role) {
        Some(existing) => {
            existing.scope_ids.extend(scope_ids);
            existing.scope_ids.sort_unstable();
            existing.scope_ids.dedup();
        }
        None => grants.push(RoleGrant { role, scope_ids }),
    }
    grants
}

/// The user's roles without `role`, or without only the given scopes of it.
fn without_role(grants: Vec<RoleGrant>, role: Role, scope_ids: &[i64]) -> Vec<RoleGrant> {
    grants
        .into_iter()
        .filter_map(|mut grant| {
            if grant.role != role {
                return Some(grant);
            }
            if scope_ids.is_empty() {
                return None;
            }
            grant.scope_ids.retain(|id| !scope_ids.contains(id));
            (!grant.scope_ids.is_empty()).then_some(grant)
        })
        .collect()
}

/// Reads the user's roles in the community, changes them with `change`, and stores the result.
async fn update_roles(
    db: &DatabaseConnection,
    user: &user::Model,
    community: CommunityId,
    change: impl FnOnce(Vec<RoleGrant>) -> Vec<RoleGrant>,
) -> anyhow::Result<()> {
    let api = |e: crate::platform::error::ApiError| anyhow::anyhow!("{e}");
    let txn = db.begin().await?;
    service::get_community(&txn, community).await.map_err(api)?;
    let grants = change(service::get_roles(&txn, community, UserId(user.id)).await.map_err(api)?);
    let roles =
        service::change_roles(&txn, community, UserId(user.id), &grants, None, SystemClock.now()).await.map_err(api)?;
    txn.commit().await?;
    println!("user {} in community {}: {}", user.id, community, serde_json::to_string(&roles)?);
    Ok(())
}

/// Changes a user's roles (or admin flag), then tells every serving instance sharing `cache` to load
/// that user's roles afresh (see `authz::Actor::of`).
pub async fn run(action: AdminAction, db: &DatabaseConnection, cache: &Cache) -> anyhow::Result<()> {
    let (user, community) = apply(action, db).await?;
    crate::identity::caller::changed_in(cache, UserId(user)).await;
    if let Some(community) = community {
        // Open work the new roles no longer cover was handed up: the community's kept pages go.
        crate::scenes::requests::kept::changed_in(cache, community).await;
    }
    Ok(())
}

/// Carries out the action; returns the user whose roles changed, and in which community.
async fn apply(action: AdminAction, db: &DatabaseConnection) -> anyhow::Result<(i64, Option<CommunityId>)> {
    match action {
        AdminAction::Grant { user, community, role, scope_ids } => {
            let user = find_user(db, &user).await?;
            if role == "admin" {
                let mut active: user::ActiveModel = user.clone().into();
                active.is_admin = Set(true);
                active.update(db).await?;
                println!("user {} ({}) is now a platform admin", user.id, user.nickname);
                return Ok((user.id, None));
            }
            let role = parse_role(&role)?;
            let community =
                CommunityId(community.ok_or_else(|| anyhow::anyhow!("--community is required for {}", role.as_str()))?);
            update_roles(db, &user, community, |grants| with_role(grants, role, scope_ids)).await?;
            Ok((user.id, Some(community)))
        }
        AdminAction::Revoke { user, community, role, scope_ids } => {
            let user = find_user(db, &user).await?;
            let role = parse_role(&role)?;
            let community = CommunityId(community);
            update_roles(db, &user, community, |grants| without_role(grants, role, &scope_ids)).await?;
            Ok((user.id, Some(community)))
        }
    }
}
