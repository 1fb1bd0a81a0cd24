//! HTTP of 邻办事 requests: bodies, and handlers that parse, load the caller, call `service.rs` and
//! show the result.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use ehome_entities::{request_category, service_request};
use serde::{Deserialize, Serialize};

use super::categories::{self, CategoryChange, NewCategory};
use super::lifecycle::{Action, Urgency};
use super::queue::{Cursor, QueueFilter};
use super::service::{self, Detail, Report};
use super::stats;
use super::views::{self, RequestView};
use crate::authz::{Actor, RequestAccess};
use crate::domain::media_url::{MediaHosts, MediaUrl};
use crate::domain::{
    BuildingId, CommunityId, Description, Label, Location, Note, RatingText, SearchText, Title, UserId,
};
use crate::identity::auth::AuthUser;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::pagination::{LIMIT_DEFAULT, LIMIT_MAX};
use crate::scenes::community::service as community;
use crate::state::AppState;

const PHOTOS_MAX: usize = 9;

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

/// Photos are shown to neighbours: each must be a `MediaUrl` (https on a configured media host).
fn parse_photos(photos: Vec<String>, media_hosts: &MediaHosts) -> ApiResult<Vec<String>> {
    if photos.len() > PHOTOS_MAX {
        return Err(ApiError::validation("photos", format!("at most {PHOTOS_MAX}")));
    }
    photos.iter().map(|photo| MediaUrl::parse("photos", photo, media_hosts).map(MediaUrl::into_inner)).collect()
}

fn parse_submit(body: SubmitBody, media_hosts: &MediaHosts) -> ApiResult<Report> {
    Ok(Report {
        category_id: body.category_id,
        building_id: body.building_id.map(BuildingId),
        title: Title::parse("title", &body.title)?,
        description: Description::parse("description", &body.description)?,
        location: Location::parse_optional("location", body.location.as_deref())?,
        photos: parse_photos(body.photos, media_hosts)?,
        urgency: match body.urgency.as_deref() {
            None => Urgency::Normal,
            Some(word) => Urgency::parse(word).ok_or_else(|| ApiError::validation("urgency", "normal or urgent"))?,
        },
        anonymous: body.anonymous,
    })
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

fn similar_views(found: Vec<(super::store::SimilarRow, f64)>) -> Vec<SimilarView> {
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
    let report = parse_submit(body.into_inner(), &state.settings.security.media_hosts)?;
    let actor = Actor::of(&state, caller).await?;
    let done = service::submit(&state, &actor, report).await?;
    let view = views::request_view(done.request, Some(&done.reporter), done.access, state.clock.now());
    Ok(HttpResponse::Created().json(serde_json::json!({"request": view, "similar": similar_views(done.similar)})))
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
    let title = Title::parse("title", &query.title)?;
    let actor = Actor::of(&state, caller).await?;
    let found = service::similar(&state, &actor, BuildingId(query.building_id), query.category_id, &title).await?;
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

pub async fn list(
    state: web::Data<AppState>,
    request: HttpRequest,
    caller: AuthUser,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(LIMIT_DEFAULT);
    if !(1..=LIMIT_MAX).contains(&limit) {
        return Err(ApiError::validation("limit", format!("1 to {LIMIT_MAX}")));
    }
    let cursor = query.cursor.as_deref().filter(|c| !c.is_empty()).map(Cursor::decode).transpose()?;
    let text = SearchText::parse_optional("q", query.q.as_deref())?;
    let actor = Actor::of(&state, caller).await?;
    let filter = QueueFilter {
        community_id: 0,
        statuses: service::parse_statuses(query.status.as_deref())?,
        overdue: query.overdue,
        category_id: query.category_id,
        grid_id: query.grid_id,
        building_id: query.building_id,
        assignee_id: query.assignee_id,
        reporter_id: query.mine.filter(|m| *m).map(|_| actor.id.0),
        created_from: query.created_from,
        created_to: query.created_to,
        text: text.map(SearchText::into_inner),
    };
    let community = query.community_id.map(CommunityId);
    let page = service::list(&state, &actor, community, filter, cursor, limit).await?;
    let now = state.clock.now();
    let reporters_shown = page.access.iter().map(views::sees_reporter).collect();
    // Written once for every reader who sees the same reporters, while the page and its figures stand.
    let body = page.kept.body(reporters_shown, now, || {
        let rows = page.kept.rows.iter().zip(&page.access);
        let items: Vec<RequestView> = rows
            .map(|((request, reporter, _), access)| {
                views::request_view(request.clone(), reporter.as_ref(), *access, now)
            })
            .collect();
        let next_cursor = page.kept.next_cursor.clone();
        let json = serde_json::to_vec(&crate::platform::pagination::Page { items, next_cursor });
        Ok(actix_web::web::Bytes::from(json.map_err(ApiError::internal)?))
    })?;
    Ok(body.respond(&request))
}

/// A request's detail, serialised straight from these views (no intermediate JSON tree).
#[derive(Serialize)]
struct DetailView {
    request: RequestView,
    timeline: Vec<views::EventView>,
    actions: Vec<&'static str>,
}

fn detail_json(detail: Detail, now: DateTime<Utc>) -> DetailView {
    let hide = detail.hide_reporter;
    let timeline: Vec<views::EventView> = detail.timeline.into_iter().map(|e| views::event_view(e, hide)).collect();
    let request = views::request_view(detail.request, detail.reporter.as_ref(), detail.access, now);
    DetailView { request, timeline, actions: detail.actions }
}

pub async fn detail(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let detail = service::read_detail(&state, caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(detail_json(detail, state.clock.now())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionBody {
    action: Action,
    note: Option<String>,
    assignee_id: Option<i64>,
}

pub async fn transition(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<TransitionBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let note = Note::parse_optional("note", body.note.as_deref())?;
    let (request, actor, access) = service::visible(&state, caller, path.into_inner()).await?;
    let assignee = body.assignee_id.map(UserId);
    let updated = service::transition(&state, &actor, request, &access, body.action, note, assignee).await?;
    let access = crate::authz::request_access(&actor, &service::scope_of(&updated));
    let detail = service::detail(&state, updated, access).await?;
    Ok(HttpResponse::Ok().json(detail_json(detail, state.clock.now())))
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
    let content = Note::parse("body", &body.body)?;
    let (request, actor, access) = service::visible(&state, caller, path.into_inner()).await?;
    service::comment(&state, &actor, &request, &access, content, body.internal).await?;
    let detail = service::detail(&state, request, access).await?;
    Ok(HttpResponse::Created().json(detail_json(detail, state.clock.now())))
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
    let text = RatingText::parse_optional("text", body.text.as_deref())?;
    let (request, actor, access) = service::visible(&state, caller, path.into_inner()).await?;
    let rated = service::rate(&state, &actor, &request, &access, body.score, text).await?;
    single_view(&state, rated, access).await
}

pub async fn me_too(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let (request, actor, access) = service::visible(&state, caller, path.into_inner()).await?;
    let updated = service::me_too(&state, &actor, &request).await?;
    single_view(&state, updated, access).await
}

async fn single_view(
    state: &AppState,
    request: service_request::Model,
    access: RequestAccess,
) -> ApiResult<HttpResponse> {
    let reporter = crate::identity::users::get(&state.db, UserId(request.reporter_id)).await?;
    Ok(HttpResponse::Ok().json(views::request_view(request, Some(&reporter), access, state.clock.now())))
}

#[derive(Debug, Serialize)]
struct CategoryView {
    id: i64,
    community_id: i64,
    key: String,
    name: String,
    response_sla_hours: i32,
    resolution_sla_hours: i32,
    active: bool,
}

impl From<request_category::Model> for CategoryView {
    fn from(c: request_category::Model) -> Self {
        CategoryView {
            id: c.id,
            community_id: c.community_id,
            key: c.key,
            name: c.name,
            response_sla_hours: c.response_sla_hours,
            resolution_sla_hours: c.resolution_sla_hours,
            active: c.active,
        }
    }
}

/// With an `ETag`: categories rarely change, so a repeat answers `304` (`platform::etag`).
pub async fn list_categories(
    request: HttpRequest,
    state: web::Data<AppState>,
    _caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let found = community::get_community(&state.db, CommunityId(path.into_inner())).await?;
    let rows = categories::list(&state.db, CommunityId(found.id), state.clock.now()).await?;
    let items: Vec<CategoryView> = rows.into_iter().map(CategoryView::from).collect();
    crate::platform::etag::json(&request, &serde_json::json!({"items": items}))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCategoryBody {
    key: String,
    name: String,
    response_sla_hours: i32,
    resolution_sla_hours: i32,
}

pub async fn create_category(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<NewCategoryBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let new = NewCategory {
        key: categories::check_key(&body.key)?,
        name: Label::parse("name", &body.name)?,
        response_sla_hours: categories::check_sla("response_sla_hours", body.response_sla_hours)?,
        resolution_sla_hours: categories::check_sla("resolution_sla_hours", body.resolution_sla_hours)?,
    };
    let found = community::get_community(&state.db, CommunityId(path.into_inner())).await?;
    let actor = Actor::of(&state, caller).await?;
    let created = service::create_category(&state, &actor, CommunityId(found.id), new).await?;
    Ok(HttpResponse::Created().json(CategoryView::from(created)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryPatch {
    name: Option<String>,
    response_sla_hours: Option<i32>,
    resolution_sla_hours: Option<i32>,
    active: Option<bool>,
}

pub async fn update_category(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<CategoryPatch>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let change = CategoryChange {
        name: body.name.as_deref().map(|n| Label::parse("name", n)).transpose()?,
        response_sla_hours: body
            .response_sla_hours
            .map(|h| categories::check_sla("response_sla_hours", h))
            .transpose()?,
        resolution_sla_hours: body
            .resolution_sla_hours
            .map(|h| categories::check_sla("resolution_sla_hours", h))
            .transpose()?,
        active: body.active,
    };
    let actor = Actor::of(&state, caller).await?;
    let updated = service::update_category(&state, &actor, path.into_inner(), change).await?;
    Ok(HttpResponse::Ok().json(CategoryView::from(updated)))
}

/// The statistics of 邻办事, with the 邻互助 volunteering figures of the same buckets as the
/// `volunteering` section (the service-hours scene computes them).
pub async fn stats(
    state: web::Data<AppState>,
    request: HttpRequest,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<stats::StatsQuery>,
) -> ApiResult<HttpResponse> {
    let (period, range) = query.into_inner().parse(stats::shanghai_date(state.clock.now()))?;
    let community = CommunityId(stats::authorised_community(&state, caller, path.into_inner()).await?);
    let kept = super::kept::stats(&state, community, period, range, async |now| {
        let figures = stats::from_store(&state.db, community.0, period, range, now).await?;
        let volunteering =
            crate::scenes::service_hours::stats::volunteering(&state.db, community, period, range).await?;
        let body = StatsBody { figures, volunteering };
        Ok(actix_web::web::Bytes::from(serde_json::to_vec(&body).map_err(ApiError::internal)?))
    })
    .await?;
    Ok(kept.body.respond(&request))
}

/// The statistics answer: the 邻办事 figures with the volunteering section beside them.
#[derive(Serialize)]
struct StatsBody {
    #[serde(flatten)]
    figures: stats::Stats,
    volunteering: crate::scenes::service_hours::stats::Volunteering,
}
