//! Listing activities for a resident: what is coming in their communities, those at their own
//! building first, then their grid's, then the rest, each group by start time. The ranked list is
//! small (upcoming activities of a community), so it is ranked in memory and the cursor names the
//! last activity seen.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use ehome_entities::{activity, activity_signup};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::for_hours::describe;
use super::lifecycle::{Audience, Status};
use super::signups::SignupStatus;
use super::store;
use crate::authz::{self, Actor};
use crate::domain::{CommunityId, TeamId};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::pagination::Keyset;
use crate::state::AppState;

/// At most this many activities are ranked per listing.
const RANKED_MAX: u64 = 1_000;

#[derive(Debug, Default)]
pub struct Filter {
    pub community_id: Option<CommunityId>,
    /// Absent: upcoming (published or in progress, not yet ended).
    pub statuses: Option<Vec<Status>>,
    pub team_id: Option<TeamId>,
    /// Only activities the caller signed up for (confirmed or waiting).
    pub mine: bool,
}

/// An activity in a list, with the caller's sign-up if any.
pub struct Listed {
    pub activity: activity::Model,
    pub mine: Option<activity_signup::Model>,
}

fn rank(row: &activity::Model, homes: &[(i64, i64)]) -> u8 {
    let audience = Audience::parse(&row.audience);
    let building = row.building_id.or(row.audience_id.filter(|_| audience == Some(Audience::Building)));
    let grid = row.grid_id.or(row.audience_id.filter(|_| audience == Some(Audience::Grid)));
    if building.is_some_and(|b| homes.iter().any(|(_, home)| *home == b)) {
        0
    } else if grid.is_some_and(|g| homes.iter().any(|(home, _)| *home == g)) {
        1
    } else {
        2
    }
}

async fn communities(actor: &Actor, filter: &Filter) -> ApiResult<Vec<CommunityId>> {
    match filter.community_id {
        Some(id) if actor.in_community(id) => Ok(vec![id]),
        Some(_) => Err(ApiError::Forbidden),
        None => Ok(actor.communities()),
    }
}

pub async fn list(
    state: &AppState,
    actor: &Actor,
    filter: Filter,
    keyset: &Keyset,
    now: DateTime<Utc>,
) -> ApiResult<Vec<Listed>> {
    let community_ids = communities(actor, &filter).await?;
    let mut query = activity::Entity::find()
        .filter(activity::Column::CommunityId.is_in(community_ids.iter().map(|c| c.0)))
        .order_by_asc(activity::Column::StartsAt)
        .order_by_asc(activity::Column::Id)
        .limit(RANKED_MAX);
    query = match &filter.statuses {
        Some(statuses) => query.filter(activity::Column::Status.is_in(statuses.iter().map(|s| s.as_str()))),
        None => query
            .filter(activity::Column::Status.is_in([Status::Published.as_str(), Status::InProgress.as_str()]))
            .filter(activity::Column::EndsAt.gt(now)),
    };
    if let Some(team) = filter.team_id {
        query = query.filter(activity::Column::TeamId.eq(team.0));
    }
    let rows = query.all(&state.db).await?;
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let mine: HashMap<i64, activity_signup::Model> = activity_signup::Entity::find()
        .filter(activity_signup::Column::ActivityId.is_in(ids))
        .filter(activity_signup::Column::UserId.eq(actor.id.0))
        .filter(activity_signup::Column::Status.ne(SignupStatus::Cancelled.as_str()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|row| (row.activity_id, row))
        .collect();
    let mut homes = Vec::new();
    for community in &community_ids {
        homes.extend(store::homes(&state.db, *community, actor.id).await?);
    }
    let mut visible = Vec::new();
    for row in rows {
        if filter.mine && !mine.contains_key(&row.id) {
            continue;
        }
        if row.status == Status::Draft.as_str() {
            let described = describe(&state.db, &row).await?;
            if !authz::organises(actor, described.community_id, described.team_leader_id) {
                continue;
            }
        }
        visible.push(row);
    }
    visible.sort_by_key(|row| (rank(row, &homes), row.starts_at, row.id));
    let start = match keyset.after_id {
        Some(after) => visible.iter().position(|row| row.id == after).map_or(0, |at| at + 1),
        None => 0,
    };
    let take = usize::try_from(keyset.limit + 1).unwrap_or(usize::MAX);
    let mut mine = mine;
    Ok(visible
        .into_iter()
        .skip(start)
        .take(take)
        .map(|row| {
            let signup = mine.remove(&row.id);
            Listed { activity: row, mine: signup }
        })
        .collect())
}
