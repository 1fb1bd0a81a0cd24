//! `ehome admin …`: bootstrap tasks that no one can do over HTTP before a committee exists.

use crate::platform::clock::{Clock, SystemClock};
use clap::Subcommand;
use ehome_entities::user;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, TransactionTrait};

use crate::domain::{CommunityId, Role, RoleGrant, UserId};
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

pub async fn run(action: AdminAction, db: &DatabaseConnection) -> anyhow::Result<()> {
    match action {
        AdminAction::Grant { user, community, role, scope_ids } => {
            let user = find_user(db, &user).await?;
            if role == "admin" {
                let mut active: user::ActiveModel = user.clone().into();
                active.is_admin = Set(true);
                active.update(db).await?;
                println!("user {} ({}) is now a platform admin", user.id, user.nickname);
                return Ok(());
            }
            let role = Role::parse(&role).ok_or_else(|| anyhow::anyhow!("unknown role {role:?}"))?;
            let community =
                CommunityId(community.ok_or_else(|| anyhow::anyhow!("--community is required for {}", role.as_str()))?);
            let txn = db.begin().await?;
            service::get_community(&txn, community).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut grants =
                service::get_roles(&txn, community, UserId(user.id)).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            match grants.iter_mut().find(|g| g.role == role) {
                Some(existing) => existing.scope_ids.extend(scope_ids),
                None => grants.push(RoleGrant { role, scope_ids }),
            }
            let roles = service::set_roles(&txn, community, UserId(user.id), &grants, SystemClock.now())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            txn.commit().await?;
            println!("user {} in community {}: {}", user.id, community, serde_json::to_string(&roles)?);
            Ok(())
        }
    }
}
