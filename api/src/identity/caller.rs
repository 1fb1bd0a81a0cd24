//! Who the caller is: their user row, every role they hold (with its scope) and the households they
//! belong to — loaded in **one** statement, and kept per instance between requests.
//!
//! Each user has a *caller token* in the shared cache (`caller:{user}`), replaced with a fresh random
//! value by `changed` after every committed change to the user's row, roles or households and before
//! the change answers. An instance keeps a caller together with the token it read *before* loading it,
//! and uses it again only while the token it reads now is the same and the entry is younger than
//! `ACTOR_CACHE_TTL_MS`. So a removed role stops working on the very next request on every instance
//! (one shared-cache read per request, no database round trip), and a change made behind the API's back
//! (SQL, or the CLI while an embedded server runs) is seen within the TTL. When the shared cache cannot
//! be read, the caller is loaded from the database and not kept.

use std::collections::HashSet;
use std::sync::Arc;

use ehome_entities::{household, household_member, member_role, user};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, JoinType, Order, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};

use crate::domain::{Role, UserId};
use crate::identity::auth::AuthUser;
use crate::platform::cache::Cache;
use crate::platform::error::ApiError;
use crate::platform::kept::{self, Kept};
use crate::state::AppState;

/// The caller as stored: what `authz::Actor` decides with and `/me` shows.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: user::Model,
    /// (community, role, scope id) in the order they were granted.
    pub roles: Vec<(i64, Role, i64)>,
    /// The households the user is an approved member of, in the order they joined.
    pub homes: Vec<Home>,
}

/// A household the caller belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    pub household_id: i64,
    pub community_id: i64,
    pub building_id: i64,
    pub label: String,
}

impl Caller {
    /// The user, their roles and their households in one statement (the user left-joined with both;
    /// a user has a handful of each, so the product stays small). Always reads the database.
    pub async fn load(db: &impl ConnectionTrait, id: UserId) -> Result<Caller, ApiError> {
        let (users, roles, members, houses) = (Alias::new("u"), Alias::new("r"), Alias::new("m"), Alias::new("h"));
        let statement = Query::select()
            .column((users.clone(), Asterisk))
            .expr_as(Expr::col((roles.clone(), member_role::Column::Id)), Alias::new("role_row"))
            .expr_as(Expr::col((roles.clone(), member_role::Column::CommunityId)), Alias::new("role_community"))
            .expr_as(Expr::col((roles.clone(), member_role::Column::Role)), Alias::new("role_name"))
            .expr_as(Expr::col((roles.clone(), member_role::Column::ScopeId)), Alias::new("role_scope"))
            .expr_as(Expr::col((houses.clone(), household::Column::Id)), Alias::new("home_id"))
            .expr_as(Expr::col((houses.clone(), household::Column::CommunityId)), Alias::new("home_community"))
            .expr_as(Expr::col((houses.clone(), household::Column::BuildingId)), Alias::new("home_building"))
            .expr_as(Expr::col((houses.clone(), household::Column::Label)), Alias::new("home_label"))
            .from_as(user::Entity, users.clone())
            .join_as(
                JoinType::LeftJoin,
                member_role::Entity,
                roles.clone(),
                Expr::col((roles.clone(), member_role::Column::UserId)).equals((users.clone(), user::Column::Id)),
            )
            .join_as(
                JoinType::LeftJoin,
                household_member::Entity,
                members.clone(),
                Expr::col((members.clone(), household_member::Column::UserId))
                    .equals((users.clone(), user::Column::Id)),
            )
            .join_as(
                JoinType::LeftJoin,
                household::Entity,
                houses.clone(),
                Expr::col((houses, household::Column::Id))
                    .equals((members.clone(), household_member::Column::HouseholdId)),
            )
            .and_where(Expr::col((users, user::Column::Id)).eq(id.0))
            .order_by((roles, member_role::Column::Id), Order::Asc)
            .order_by((members, household_member::Column::Id), Order::Asc)
            .to_owned();
        let rows = db.query_all(&statement).await?;
        // A token can outlive its user only if the user was deleted; treat that as signed out.
        let first = rows.first().ok_or(ApiError::Unauthenticated)?;
        let mut caller =
            Caller { user: user::Model::from_query_result(first, "")?, roles: Vec::new(), homes: Vec::new() };
        let mut seen_roles = HashSet::new();
        for row in &rows {
            let role_row: Option<i64> = row.try_get("", "role_row")?;
            if let Some(role_row) = role_row.filter(|id| seen_roles.insert(*id)) {
                let name: String = row.try_get("", "role_name")?;
                match Role::parse(&name) {
                    Some(role) => {
                        caller.roles.push((row.try_get("", "role_community")?, role, row.try_get("", "role_scope")?))
                    }
                    None => tracing::warn!(role_row, name, "a stored role this build does not know is ignored"),
                }
            }
            let home: Option<i64> = row.try_get("", "home_id")?;
            if let Some(household_id) = home.filter(|id| !caller.homes.iter().any(|h| h.household_id == *id)) {
                caller.homes.push(Home {
                    household_id,
                    community_id: row.try_get("", "home_community")?,
                    building_id: row.try_get("", "home_building")?,
                    label: row.try_get("", "home_label")?,
                });
            }
        }
        Ok(caller)
    }

    /// The signed-in caller, from this instance's store while their caller token is unchanged.
    pub async fn of(state: &AppState, caller: AuthUser) -> Result<Arc<Caller>, ApiError> {
        let lookup = state.callers.lookup(&state.cache, caller.id.0).await;
        if let Some(found) = &lookup.found {
            return Ok(found.clone());
        }
        let found = Arc::new(Caller::load(&state.db, caller.id).await?);
        state.callers.keep(caller.id.0, lookup, &found);
        Ok(found)
    }
}

/// The per-instance store of callers (part of `AppState`), by user id, under the tokens `caller:{user}`.
pub type CallerCache = Kept<Caller>;

/// The kind of the callers' tokens in the shared cache.
pub const TOKENS: &str = "caller";

/// Call after committing any change to a user's row, roles or households, before answering: every
/// instance loads that caller afresh on its next request.
pub async fn changed(state: &AppState, user: UserId) {
    state.callers.changed(&state.cache, user.0).await;
}

/// `changed` for a process without an `AppState` (the CLI): replaces the shared caller token.
pub async fn changed_in(cache: &Cache, user: UserId) {
    kept::publish(cache, TOKENS, user.0).await;
}
