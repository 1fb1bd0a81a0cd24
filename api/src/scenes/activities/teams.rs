//! Volunteer teams (志愿服务队): formed by those who run volunteering in a community, each with a
//! leader who manages its members (approved volunteers only) and organises its activities. A team's
//! name and description are public text.

use std::collections::HashMap;

use chrono::Utc;
use ehome_entities::{user, volunteer_team, volunteer_team_member};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use super::{store, volunteers};
use crate::authz::{self, Actor};
use crate::domain::{CommunityId, Description, Label, TeamId, UserId};
use crate::platform::content::{self, Author, WhenUnsure};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::wechat::TextScene;
use crate::scenes::community::service as community;
use crate::state::AppState;

pub struct NewTeam {
    pub community: CommunityId,
    pub name: Label,
    pub description: Option<Description>,
    pub leader: UserId,
}

/// A team with its members (user rows in joining order).
pub struct TeamDetail {
    pub team: volunteer_team::Model,
    pub members: Vec<(volunteer_team_member::Model, Option<user::Model>)>,
}

async fn add(db: &impl ConnectionTrait, team: TeamId, user: UserId, now: chrono::DateTime<Utc>) -> ApiResult<()> {
    volunteer_team_member::Entity::insert(volunteer_team_member::ActiveModel {
        team_id: Set(team.0),
        user_id: Set(user.0),
        joined_at: Set(now),
    })
    .on_conflict_do_nothing_on([volunteer_team_member::Column::TeamId, volunteer_team_member::Column::UserId])
    .exec(db)
    .await?;
    Ok(())
}

/// Forms a team; its leader must be an approved volunteer of the community, and is its first member.
pub async fn create(state: &AppState, actor: &Actor, new: NewTeam) -> ApiResult<volunteer_team::Model> {
    community::get_community(&state.db, new.community).await?;
    authz::manage_volunteers(actor, new.community)?;
    volunteers::require_approved(&state.db, new.community, new.leader)
        .await
        .map_err(|_| ApiError::validation("leader_id", "not an approved volunteer of this community"))?;
    let author = actor.user().clone();
    let texts = [new.name.into_inner(), new.description.map(Description::into_inner).unwrap_or_default()];
    let author = Author { openid: &author.openid, scene: TextScene::Forum };
    let ([name, description], _) = content::screen(&state.wechat, author, texts, WhenUnsure::Refuse).await?;
    let now = state.clock.now();
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let team = volunteer_team::ActiveModel {
        community_id: Set(new.community.0),
        name: Set(name.into_inner()),
        description: Set(Some(description.into_inner()).filter(|d| !d.is_empty())),
        leader_id: Set(new.leader.0),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    add(&txn, TeamId(team.id), new.leader, now).await?;
    txn.commit().await?;
    // The committee's statistics count the community's teams.
    crate::scenes::requests::service::stats_changed(state, [new.community]).await;
    Ok(team)
}

async fn get(state: &AppState, actor: &Actor, id: TeamId) -> ApiResult<volunteer_team::Model> {
    let team = store::team(&state.db, id).await?.ok_or(ApiError::NotFound("team"))?;
    if !actor.in_community(CommunityId(team.community_id)) {
        return Err(ApiError::NotFound("team"));
    }
    Ok(team)
}

/// A community's teams with their member counts; for its members.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    community_id: CommunityId,
) -> ApiResult<Vec<(volunteer_team::Model, u64)>> {
    if !actor.in_community(community_id) {
        return Err(ApiError::Forbidden);
    }
    let teams = volunteer_team::Entity::find()
        .filter(volunteer_team::Column::CommunityId.eq(community_id.0))
        .order_by_asc(volunteer_team::Column::Id)
        .all(&state.db)
        .await?;
    let mut counted = Vec::with_capacity(teams.len());
    for team in teams {
        let members = volunteer_team_member::Entity::find()
            .filter(volunteer_team_member::Column::TeamId.eq(team.id))
            .count(&state.db)
            .await?;
        counted.push((team, members));
    }
    Ok(counted)
}

pub async fn detail(state: &AppState, actor: &Actor, id: TeamId) -> ApiResult<TeamDetail> {
    let team = get(state, actor, id).await?;
    let rows = volunteer_team_member::Entity::find()
        .filter(volunteer_team_member::Column::TeamId.eq(team.id))
        .order_by_asc(volunteer_team_member::Column::JoinedAt)
        .order_by_asc(volunteer_team_member::Column::UserId)
        .all(&state.db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|m| m.user_id).collect();
    let users: HashMap<i64, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let members = rows
        .into_iter()
        .map(|member| {
            let found = users.get(&member.user_id).cloned();
            (member, found)
        })
        .collect();
    Ok(TeamDetail { team, members })
}

/// Adds an approved volunteer of the team's community; adding a member twice changes nothing.
pub async fn add_member(state: &AppState, actor: &Actor, id: TeamId, member: UserId) -> ApiResult<TeamDetail> {
    let team = get(state, actor, id).await?;
    let community_id = CommunityId(team.community_id);
    authz::manage_team(actor, community_id, UserId(team.leader_id))?;
    volunteers::require_approved(&state.db, community_id, member).await?;
    add(&state.db, id, member, state.clock.now()).await?;
    detail(state, actor, id).await
}

/// Removes a member (a non-member: nothing changes); the leader stays (a new leader is a new team).
pub async fn remove_member(state: &AppState, actor: &Actor, id: TeamId, member: UserId) -> ApiResult<TeamDetail> {
    let team = get(state, actor, id).await?;
    authz::manage_team(actor, CommunityId(team.community_id), UserId(team.leader_id))?;
    if member.0 == team.leader_id {
        return Err(ApiError::validation("user_id", "the leader cannot be removed from their team"));
    }
    // Idempotent, as a DELETE is: removing someone who is not a member leaves the team as it is.
    volunteer_team_member::Entity::delete_by_id((id.0, member.0)).exec(&state.db).await?;
    detail(state, actor, id).await
}
