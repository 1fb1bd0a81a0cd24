//! HTTP of notices: bodies and views, and handlers that parse, load the caller, call `service.rs` and
//! show the result.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use ehome_entities::{notice, notice_told};
use serde::{Deserialize, Serialize};

use super::lifecycle::Importance;
use super::service::{self, BuildingReach, Draft, Unread};
use super::store;
use crate::authz::Actor;
use crate::domain::media_url::{MediaHosts, MediaUrl};
use crate::domain::{Area, CommunityId, Description, HouseholdId, Note, Title};
use crate::identity::auth::AuthUser;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::pagination::{CommunityPageQuery, page};
use crate::state::AppState;

const ATTACHMENTS_MAX: usize = 9;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeBody {
    kind: String,
    #[serde(default)]
    ids: Vec<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishBody {
    community_id: i64,
    scope: ScopeBody,
    title: String,
    body: String,
    importance: Option<String>,
    #[serde(default)]
    attachments: Vec<String>,
}

/// Attachments are opened by residents' phones: each must be a `MediaUrl`, like a request's photos.
fn parse_attachments(urls: Vec<String>, hosts: &MediaHosts) -> ApiResult<Vec<String>> {
    if urls.len() > ATTACHMENTS_MAX {
        return Err(ApiError::validation("attachments", format!("at most {ATTACHMENTS_MAX}")));
    }
    urls.iter().map(|url| MediaUrl::parse("attachments", url, hosts).map(MediaUrl::into_inner)).collect()
}

fn parse_publish(body: PublishBody, hosts: &MediaHosts) -> ApiResult<Draft> {
    Ok(Draft {
        community: CommunityId(body.community_id),
        area: Area::parse("scope", &body.scope.kind, &body.scope.ids)?,
        title: Title::parse("title", &body.title)?,
        body: Description::parse("body", &body.body)?,
        importance: match body.importance.as_deref() {
            None => Importance::Normal,
            Some(word) => Importance::parse(word)
                .ok_or_else(|| ApiError::validation("importance", "normal, important or urgent"))?,
        },
        attachments: parse_attachments(body.attachments, hosts)?,
    })
}

#[derive(Debug, Serialize)]
struct ScopeView {
    kind: String,
    ids: Vec<i64>,
}

#[derive(Debug, Serialize)]
struct NoticeView {
    id: i64,
    community_id: i64,
    author_id: i64,
    title: String,
    body: String,
    importance: String,
    scope: ScopeView,
    attachments: Vec<String>,
    published_at: DateTime<Utc>,
}

fn notice_view(row: notice::Model) -> NoticeView {
    let attachments = store::attachments_of(&row);
    let ids = serde_json::from_str(&row.scope_ids).unwrap_or_default();
    NoticeView {
        id: row.id,
        community_id: row.community_id,
        author_id: row.author_id,
        title: row.title,
        body: row.body,
        importance: row.importance,
        scope: ScopeView { kind: row.scope_kind, ids },
        attachments,
        published_at: row.published_at,
    }
}

pub async fn publish(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<PublishBody>,
) -> ApiResult<HttpResponse> {
    let draft = parse_publish(body.into_inner(), &state.settings.security.media_hosts)?;
    let actor = Actor::of(&state, caller).await?;
    let (row, buildings) = service::publish(&state, &actor, draft).await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"notice": notice_view(row), "building_ids": buildings})))
}

pub async fn list(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<CommunityPageQuery>,
) -> ApiResult<HttpResponse> {
    let (community, keyset) = query.into_inner().parts()?;
    let actor = Actor::of(&state, caller).await?;
    let rows = service::list(&state, &actor, community, &keyset).await?;
    Ok(HttpResponse::Ok().json(page(rows, keyset.limit, |n| n.id, notice_view)))
}

pub async fn detail(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let loaded = service::visible(&state, &actor, path.into_inner()).await?;
    let read = service::read_by_my_households(&state, &loaded).await?;
    let buildings: Vec<i64> = loaded.buildings.iter().map(|b| b.id).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "notice": notice_view(loaded.notice),
        "building_ids": buildings,
        "read_by_my_household": read,
    })))
}

pub async fn read(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let loaded = service::visible(&state, &actor, path.into_inner()).await?;
    let households = service::mark_read(&state, &actor, &loaded).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"notice_id": loaded.notice.id, "household_ids": households})))
}

#[derive(Debug, Serialize)]
struct ToldView {
    household_id: i64,
    told_by: i64,
    note: String,
    told_at: DateTime<Utc>,
}

fn told_view(row: notice_told::Model) -> ToldView {
    ToldView { household_id: row.household_id, told_by: row.told_by, note: row.note, told_at: row.told_at }
}

#[derive(Debug, Serialize)]
struct UnreadView {
    household_id: i64,
    building_id: i64,
    label: String,
    told_in_person: Option<ToldView>,
}

fn unread_view(unread: Unread) -> UnreadView {
    UnreadView {
        household_id: unread.household.id,
        building_id: unread.household.building_id,
        label: unread.household.label,
        told_in_person: unread.told.map(told_view),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnreadQuery {
    building_id: Option<i64>,
}

pub async fn unread_households(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<UnreadQuery>,
) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let loaded = service::visible(&state, &actor, path.into_inner()).await?;
    let found = service::unread_households(&state, &actor, &loaded, query.building_id).await?;
    let items: Vec<UnreadView> = found.into_iter().map(unread_view).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToldBody {
    household_id: i64,
    note: String,
}

pub async fn tell_in_person(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<ToldBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let note = Note::parse("note", &body.note)?;
    let actor = Actor::of(&state, caller).await?;
    let loaded = service::visible(&state, &actor, path.into_inner()).await?;
    let told = service::tell_in_person(&state, &actor, &loaded, HouseholdId(body.household_id), note).await?;
    Ok(HttpResponse::Created().json(told_view(told)))
}

#[derive(Debug, Serialize)]
struct ReachView {
    building_id: i64,
    building_name: String,
    households: usize,
    read: usize,
    told_in_person: usize,
    not_reached: usize,
}

fn reach_view(reach: BuildingReach) -> ReachView {
    ReachView {
        building_id: reach.building.id,
        building_name: reach.building.name,
        households: reach.households,
        read: reach.read,
        told_in_person: reach.told_in_person,
        not_reached: reach.not_reached,
    }
}

pub async fn reach(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let loaded = service::visible(&state, &actor, path.into_inner()).await?;
    let notice_id = loaded.notice.id;
    let rows: Vec<ReachView> = service::reach(&state, &actor, loaded).await?.into_iter().map(reach_view).collect();
    let total = |f: fn(&ReachView) -> usize| rows.iter().map(f).sum::<usize>();
    let totals = serde_json::json!({
        "households": total(|r| r.households),
        "read": total(|r| r.read),
        "told_in_person": total(|r| r.told_in_person),
        "not_reached": total(|r| r.not_reached),
    });
    Ok(HttpResponse::Ok().json(serde_json::json!({"notice_id": notice_id, "buildings": rows, "totals": totals})))
}
