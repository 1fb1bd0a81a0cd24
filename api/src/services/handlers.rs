//! HTTP handlers of 邻办事 requests: parse, authorise, call the service, map the result.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use ehome_entities::{household_member, service_request, user};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use super::lifecycle::{Action, ActorKind, Level, Status};
use super::queue::{Cursor, QueueFilter};
use super::requests::{self, NewRequest, Placement, Transition};
use super::views::{self, RequestView};
use super::{categories, push_all, record_status_change, routing};
use crate::auth::AuthUser;
use crate::authz::{self, Actor, RequestAccess, RequestScope};
use crate::community::service as community;
use crate::domain::{BuildingId, CommunityId, Role};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{LIMIT_DEFAULT, LIMIT_MAX};
use crate::state::AppState;
use crate::wechat::{TextScene, TextVerdict};

const TITLE_CHARS_MAX: usize = 60;
const DESCRIPTION_CHARS_MAX: usize = 1000;
const PHOTOS_MAX: usize = 9;

fn scope_of(request: &service_request::Model) -> RequestScope {
    RequestScope {
        community: CommunityId(request.community_id),
        grid_id: request.grid_id,
        building_id: request.building_id,
        reporter_id: request.reporter_id,
        assignee_id: request.assignee_id,
        published: request.moderation == requests::PUBLISHED,
    }
}

fn text(field: &str, raw: &str, max_chars: usize) -> Result<String, ApiError> {
    let trimmed = raw.trim();
    let count = trimmed.chars().count();
    if count == 0 || count > max_chars {
        return Err(ApiError::validation(field, format!("1 to {max_chars} characters")));
    }
    Ok(trimmed.to_owned())
}

fn optional_text(field: &str, raw: Option<&str>, max_chars: usize) -> Result<Option<String>, ApiError> {
    raw.map(str::trim).filter(|t| !t.is_empty()).map(|t| text(field, t, max_chars)).transpose()
}

/// Loads requests' reporters in one query.
async fn reporters(
    db: &impl ConnectionTrait,
    ids: impl Iterator<Item = i64>,
) -> Result<HashMap<i64, user::Model>, ApiError> {
    let users = user::Entity::find().filter(user::Column::Id.is_in(ids.collect::<Vec<_>>())).all(db).await?;
    Ok(users.into_iter().map(|u| (u.id, u)).collect())
}

/// Loads a request the caller can see; one they cannot see does not exist for them.
async fn visible_request(
    state: &AppState,
    caller: AuthUser,
    id: i64,
) -> ApiResult<(service_request::Model, Actor, RequestAccess)> {
    let request = requests::get(&state.db, id).await?;
    let actor = Actor::load(&state.db, caller).await?;
    let access = authz::request_access(&actor, &scope_of(&request));
    if !access.visible {
        return Err(ApiError::NotFound("request"));
    }
    Ok((request, actor, access))
}

async fn single_view(
    state: &AppState,
    request: service_request::Model,
    access: RequestAccess,
) -> ApiResult<RequestView> {
    let reporter = user::Entity::find_by_id(request.reporter_id).one(&state.db).await?;
    Ok(views::request_view(request, reporter.as_ref(), access, state.clock.now()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitBody {
    category_id: i64,
    title: String,
    description: String,
    building_id: Option<i64>,
    location: Option<String>,
    #[serde(default)]
    photos: Vec<String>,
    urgency: Option<String>,
    #[serde(default)]
    anonymous: bool,
}

fn parse_submit(
    body: SubmitBody,
    media_hosts: &crate::domain::media_url::MediaHosts,
) -> Result<(i64, Option<i64>, NewRequest), ApiError> {
    if body.photos.len() > PHOTOS_MAX {
        return Err(ApiError::validation("photos", format!("at most {PHOTOS_MAX}")));
    }
    let photos = body
        .photos
        .iter()
        .map(|photo| {
            crate::domain::media_url::MediaUrl::parse("photos", photo, media_hosts).map(|url| url.into_inner())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let urgency = match body.urgency.as_deref() {
        None | Some("normal") => "normal",
        Some("urgent") => "urgent",
        Some(_) => return Err(ApiError::validation("urgency", "normal or urgent")),
    };
    let new = NewRequest {
        title: text("title", &body.title, TITLE_CHARS_MAX)?,
        description: text("description", &body.description, DESCRIPTION_CHARS_MAX)?,
        location: optional_text("location", body.location.as_deref(), 100)?,
        photos,
        urgency,
        anonymous: body.anonymous,
    };
    Ok((body.category_id, body.building_id, new))
}

/// The building a report is about: the one named, else the reporter's household building.
async fn building_for(
    state: &AppState,
    actor: &Actor,
    named: Option<i64>,
) -> ApiResult<ehome_entities::building::Model> {
    if let Some(id) = named {
        return community::get_building(&state.db, BuildingId(id))
            .await
            .map_err(|_| ApiError::validation("building_id", "no such building"));
    }
    let homes =
        household_member::Entity::find().filter(household_member::Column::UserId.eq(actor.id.0)).all(&state.db).await?;
    let [home] = homes.as_slice() else {
        return Err(ApiError::validation("building_id", "required unless you belong to exactly one household"));
    };
    let household = community::get_household(&state.db, crate::domain::HouseholdId(home.household_id)).await?;
    community::get_building(&state.db, BuildingId(household.building_id)).await
}

/// The text check decides publication: pass publishes, review holds for the committee, risky is
/// refused, and an unanswered check fails closed (held).
async fn moderate(state: &AppState, openid: &str, content: &str) -> ApiResult<(&'static str, Option<String>)> {
    match state.wechat.check_text(openid, TextScene::Forum, content).await {
        Ok(TextVerdict::Pass) => Ok((requests::PUBLISHED, None)),
        Ok(TextVerdict::Review) => Ok((requests::HELD, Some("内容安全检测建议人工审核".to_owned()))),
        Ok(TextVerdict::Risky) => Err(ApiError::ContentRejected),
        Err(err) => {
            tracing::warn!(error = %err, "text check unavailable; holding the request for review");
            Ok((requests::HELD, Some("内容安全检测暂不可用，待人工审核".to_owned())))
        }
    }
}

#[derive(Debug, Serialize)]
struct SimilarView {
    id: i64,
    title: String,
    status: String,
    interest_count: i32,
    created_at: DateTime<Utc>,
    similarity: f64,
}

fn similar_views(found: Vec<(service_request::Model, f64)>) -> Vec<SimilarView> {
    found
        .into_iter()
        .map(|(r, score)| SimilarView {
            id: r.id,
            title: r.title,
            status: r.status,
            interest_count: r.interest_count,
            created_at: r.created_at,
            similarity: (score * 100.0).round() / 100.0,
        })
        .collect()
}

pub async fn submit(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<SubmitBody>,
) -> ApiResult<HttpResponse> {
    let (category_id, building_id, new) = parse_submit(body.into_inner(), &state.settings.security.media_hosts)?;
    let actor = Actor::load(&state.db, caller).await?;
    let building = building_for(&state, &actor, building_id).await?;
    let community_id = CommunityId(building.community_id);
    authz::submit_request(&actor, community_id)?;
    let now = state.clock.now();
    let category = categories::list(&state.db, community_id, now)
        .await?
        .into_iter()
        .find(|c| c.id == category_id && c.active)
        .ok_or_else(|| ApiError::validation("category_id", "not an active category of this community"))?;
    let limit = state.settings.requests.submissions_per_hour;
    crate::rate_limit::check_in(
        &state.cache,
        &format!("rl:requests:user:{}", actor.id),
        limit,
        StdDuration::from_secs(3600),
    )
    .await?;
    let reporter = crate::users::get(&state.db, actor.id).await?;
    let (moderation, moderation_note) =
        moderate(&state, &reporter.openid, &format!("{}\n{}", new.title, new.description)).await?;
    let similar = requests::similar_open(&state.db, building.id, category.id, &new.title).await?;

    let txn = crate::db::begin_write(&state.db).await?;
    let (level, assignee_id) =
        routing::route_from(&txn, building.community_id, building.grid_id, building.id, Level::BuildingLeader).await?;
    let placement = Placement {
        community_id: building.community_id,
        grid_id: building.grid_id,
        building_id: building.id,
        level,
        assignee_id,
    };
    let created =
        requests::submit(&txn, actor.id.0, &category, placement, new, moderation, moderation_note, now).await?;
    txn.commit().await?;

    let access = authz::request_access(&actor, &scope_of(&created));
    let view = views::request_view(created, Some(&reporter), access, now);
    Ok(HttpResponse::Created().json(serde_json::json!({"request": view, "similar": similar_views(similar)})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimilarQuery {
    building_id: i64,
    category_id: i64,
    title: String,
}

pub async fn similar(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<SimilarQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let title = text("title", &query.title, TITLE_CHARS_MAX)?;
    let building = community::get_building(&state.db, BuildingId(query.building_id)).await?;
    let actor = Actor::load(&state.db, caller).await?;
    authz::submit_request(&actor, CommunityId(building.community_id))?;
    let found = requests::similar_open(&state.db, building.id, query.category_id, &title).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": similar_views(found)})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    community_id: Option<i64>,
    /// Comma-separated statuses.
    status: Option<String>,
    overdue: Option<bool>,
    category_id: Option<i64>,
    grid_id: Option<i64>,
    building_id: Option<i64>,
    assignee_id: Option<i64>,
    /// Only the caller's own reports.
    mine: Option<bool>,
    created_from: Option<DateTime<Utc>>,
    created_to: Option<DateTime<Utc>>,
    q: Option<String>,
    cursor: Option<String>,
    limit: Option<u64>,
}

/// The community a list is about: the one named, else the caller's only community.
fn list_community(named: Option<i64>, homes: &[household_member::Model]) -> Result<CommunityId, ApiError> {
    match (named, homes) {
        (Some(id), _) => Ok(CommunityId(id)),
        (None, [home]) => Ok(CommunityId(home.community_id)),
        (None, _) => Err(ApiError::validation("community_id", "required unless you belong to exactly one community")),
    }
}

pub async fn list(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(LIMIT_DEFAULT);
    if !(1..=LIMIT_MAX).contains(&limit) {
        return Err(ApiError::validation("limit", format!("1 to {LIMIT_MAX}")));
    }
    let statuses: Vec<String> = match query.status.as_deref() {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|s| {
                Status::parse(s.trim())
                    .map(|s| s.as_str().to_owned())
                    .ok_or_else(|| ApiError::validation("status", format!("unknown status {s:?}")))
            })
            .collect::<Result<_, _>>()?,
    };
    let cursor = query.cursor.as_deref().filter(|c| !c.is_empty()).map(Cursor::decode).transpose()?;
    let text = optional_text("q", query.q.as_deref(), 60)?;
    let actor = Actor::load(&state.db, caller).await?;
    let homes =
        household_member::Entity::find().filter(household_member::Column::UserId.eq(actor.id.0)).all(&state.db).await?;
    let community_id = list_community(query.community_id, &homes)?;
    community::get_community(&state.db, community_id).await?;
    let scope = authz::request_list_scope(&actor, community_id);
    let filter = QueueFilter {
        community_id: community_id.0,
        statuses,
        overdue: query.overdue,
        category_id: query.category_id,
        grid_id: query.grid_id,
        building_id: query.building_id,
        assignee_id: query.assignee_id,
        reporter_id: query.mine.filter(|m| *m).map(|_| actor.id.0),
        created_from: query.created_from,
        created_to: query.created_to,
        text,
    };
    let now = state.clock.now();
    let (rows, next_cursor) = super::queue::page(&state.db, &filter, &scope, cursor, limit, now).await?;
    let people = reporters(&state.db, rows.iter().map(|(r, _)| r.reporter_id)).await?;
    let items: Vec<RequestView> = rows
        .into_iter()
        .map(|(request, _)| {
            let access = authz::request_access(&actor, &scope_of(&request));
            let reporter = people.get(&request.reporter_id);
            views::request_view(request, reporter, access, now)
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items, "next_cursor": next_cursor})))
}

/// The actions the caller could take now, for the mini-program's buttons.
fn available_actions(request: &service_request::Model, access: &RequestAccess) -> Vec<&'static str> {
    let Some(status) = Status::parse(&request.status) else { return Vec::new() };
    Action::ALL
        .into_iter()
        .filter(|action| kind_allows(action.actor(), access))
        .filter(|action| action.apply(status).is_some())
        .filter(|action| *action != Action::Release || request.moderation == requests::HELD)
        .map(Action::as_str)
        .collect()
}

fn kind_allows(kind: ActorKind, access: &RequestAccess) -> bool {
    match kind {
        ActorKind::Handler => access.handler,
        ActorKind::Reporter => access.reporter,
        ActorKind::Supervisor => access.supervisor,
        ActorKind::Moderator => access.moderator,
    }
}

async fn detail_view(
    state: &AppState,
    request: service_request::Model,
    access: RequestAccess,
) -> ApiResult<serde_json::Value> {
    let full = access.handler || access.reporter;
    let hide = (!full).then_some(request.reporter_id);
    let events = requests::timeline(&state.db, request.id, access.handler).await?;
    let timeline: Vec<views::EventView> = events.into_iter().map(|e| views::event_view(e, hide)).collect();
    let actions = available_actions(&request, &access);
    let view = single_view(state, request, access).await?;
    Ok(serde_json::json!({"request": view, "timeline": timeline, "actions": actions}))
}

pub async fn detail(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let (request, _, access) = visible_request(&state, caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(detail_view(&state, request, access).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionBody {
    action: Action,
    note: Option<String>,
    assignee_id: Option<i64>,
}

/// The role an actor acts in, for the timeline.
fn acting_role(actor: &Actor, request: &service_request::Model, kind: ActorKind) -> &'static str {
    let community = CommunityId(request.community_id);
    if kind == ActorKind::Reporter {
        "reporter"
    } else if actor.is_admin {
        "admin"
    } else if actor.has(community, Role::Committee) {
        "committee"
    } else if actor.has_scoped(community, Role::GridWorker, request.grid_id) {
        "grid_worker"
    } else if actor.has_scoped(community, Role::BuildingLeader, request.building_id) {
        "building_leader"
    } else {
        "assignee"
    }
}

pub async fn transition(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<TransitionBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let note = optional_text("note", body.note.as_deref(), 500)?;
    let (request, actor, access) = visible_request(&state, caller, path.into_inner()).await?;
    let kind = body.action.actor();
    if !kind_allows(kind, &access) {
        return Err(ApiError::Forbidden);
    }
    if body.action.needs_note() && note.is_none() {
        return Err(ApiError::validation("note", "a reason is required for this action"));
    }
    let assignee_id = match (body.action, body.assignee_id) {
        (Action::Reassign, None) => return Err(ApiError::validation("assignee_id", "required to reassign")),
        (Action::Reassign, Some(id)) => {
            let assignee = Actor::load(&state.db, AuthUser { id: crate::domain::UserId(id) })
                .await
                .map_err(|_| ApiError::validation("assignee_id", "no such user"))?;
            if !authz::can_be_assigned(&assignee, CommunityId(request.community_id)) {
                return Err(ApiError::validation("assignee_id", "not a handler in this community"));
            }
            Some(id)
        }
        (_, Some(_)) => return Err(ApiError::validation("assignee_id", "only for reassign")),
        (_, None) => None,
    };
    let now = state.clock.now();
    let category = categories::get(&state.db, request.category_id).await?;
    let change = Transition {
        action: body.action,
        actor_id: actor.id.0,
        actor_role: acting_role(&actor, &request, kind),
        note,
        assignee_id,
    };
    let txn = crate::db::begin_write(&state.db).await?;
    let updated =
        requests::transition(&txn, &request, &category, change, state.settings.requests.confirm_window_days, now)
            .await?;
    let notices = match Status::parse(&updated.status) {
        Some(to) if updated.status != request.status => record_status_change(&txn, &updated, to, now).await?,
        _ => Vec::new(),
    };
    txn.commit().await?;
    push_all(&state, notices, now);
    let access = authz::request_access(&actor, &scope_of(&updated));
    Ok(HttpResponse::Ok().json(detail_view(&state, updated, access).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    body: String,
    #[serde(default)]
    internal: bool,
}

pub async fn comment(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<CommentBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let content = text("body", &body.body, 500)?;
    let (request, actor, access) = visible_request(&state, caller, path.into_inner()).await?;
    if body.internal && !access.handler {
        return Err(ApiError::Forbidden);
    }
    // Internal notes are never published; public comments pass the text check first.
    if !body.internal {
        let author = crate::users::get(&state.db, actor.id).await?;
        match state.wechat.check_text(&author.openid, TextScene::Comment, &content).await? {
            TextVerdict::Pass => {}
            TextVerdict::Review | TextVerdict::Risky => return Err(ApiError::ContentRejected),
        }
    }
    let role = if access.reporter {
        "reporter"
    } else if access.handler {
        acting_role(&actor, &request, ActorKind::Handler)
    } else {
        "neighbour"
    };
    requests::comment(&state.db, &request, actor.id.0, role, content, body.internal, state.clock.now()).await?;
    Ok(HttpResponse::Created().json(detail_view(&state, request, access).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingBody {
    score: i32,
    text: Option<String>,
}

pub async fn rate(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<RatingBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    if !(1..=5).contains(&body.score) {
        return Err(ApiError::validation("score", "1 to 5"));
    }
    let rating_text = optional_text("text", body.text.as_deref(), 200)?;
    let (request, _, access) = visible_request(&state, caller, path.into_inner()).await?;
    if !access.reporter {
        return Err(ApiError::Forbidden);
    }
    let rated = requests::rate(&state.db, &request, body.score, rating_text, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(single_view(&state, rated, access).await?))
}

pub async fn me_too(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let (request, actor, access) = visible_request(&state, caller, path.into_inner()).await?;
    if !request.is_open {
        let status = request.status.clone();
        return Err(ApiError::InvalidTransition { action: "me_too".to_owned(), status });
    }
    let txn = crate::db::begin_write(&state.db).await?;
    let updated = requests::me_too(&txn, &request, actor.id.0, state.clock.now()).await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(single_view(&state, updated, access).await?))
}
