//! HTTP of activities, their sign-ups and check-in: bodies, and handlers that parse, load the caller,
//! call one use case and show the result.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::checkin::{self, Direction, Presence};
use super::lifecycle::{Action, Audience, Status};
use super::listing::{self, Filter};
use super::service::{self, Change, Coordinates, Draft};
use super::signups;
use super::views::{self, ActivityView};
use crate::authz::Actor;
use crate::domain::media_url::{MediaHosts, MediaUrl};
use crate::domain::{ActivityId, BuildingId, CommunityId, Description, GridId, Location, TeamId, Title};
use crate::identity::auth::AuthUser;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::pagination::{Page, PageQuery, page};
use crate::points::Points;
use crate::state::AppState;

/// The fields of `POST /activities` and `PATCH /activities/{id}`; a PATCH leaves absent ones alone.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityBody {
    community_id: Option<i64>,
    team_id: Option<i64>,
    title: Option<String>,
    description: Option<String>,
    place: Option<String>,
    grid_id: Option<i64>,
    building_id: Option<i64>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    radius_m: Option<i32>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    signup_deadline: Option<DateTime<Utc>>,
    capacity: Option<i32>,
    audience: Option<String>,
    audience_id: Option<i64>,
    /// Decimal string, two places ("10.00"); absent: the community's default.
    points_per_hour: Option<String>,
    cover_url: Option<String>,
}

fn required<T>(field: &str, value: Option<T>) -> ApiResult<T> {
    value.ok_or_else(|| ApiError::validation(field, "required"))
}

fn parse_coordinates(body: &ActivityBody) -> ApiResult<Option<Coordinates>> {
    match (body.latitude, body.longitude) {
        (Some(latitude), Some(longitude)) => Ok(Some(Coordinates { latitude, longitude, radius_m: body.radius_m })),
        (None, None) if body.radius_m.is_none() => Ok(None),
        _ => Err(ApiError::validation("latitude", "latitude and longitude come together (radius_m with them)")),
    }
}

fn parse_rate(text: Option<&str>) -> ApiResult<Option<i64>> {
    text.map(|t| {
        Points::parse(t).map(Points::minor).map_err(|_| ApiError::validation("points_per_hour", "e.g. \"10.00\""))
    })
    .transpose()
}

fn parse_audience(text: Option<&str>) -> ApiResult<Option<Audience>> {
    text.map(|t| {
        Audience::parse(t).ok_or_else(|| ApiError::validation("audience", "community, grid, building or team"))
    })
    .transpose()
}

fn parse_change(body: &ActivityBody, hosts: &MediaHosts) -> ApiResult<Change> {
    Ok(Change {
        team_id: body.team_id.map(TeamId),
        title: body.title.as_deref().map(|t| Title::parse("title", t)).transpose()?,
        description: body.description.as_deref().map(|d| Description::parse("description", d)).transpose()?,
        place: Location::parse_optional("place", body.place.as_deref())?,
        grid_id: body.grid_id.map(GridId),
        building_id: body.building_id.map(BuildingId),
        coordinates: parse_coordinates(body)?,
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        signup_deadline: body.signup_deadline,
        capacity: body.capacity,
        audience: parse_audience(body.audience.as_deref())?,
        audience_id: body.audience_id,
        points_per_hour_minor: parse_rate(body.points_per_hour.as_deref())?,
        cover_url: body.cover_url.as_deref().map(|u| MediaUrl::parse("cover_url", u, hosts)).transpose()?,
    })
}

fn parse_draft(body: ActivityBody, hosts: &MediaHosts) -> ApiResult<Draft> {
    let change = parse_change(&body, hosts)?;
    Ok(Draft {
        community_id: CommunityId(required("community_id", body.community_id)?),
        team_id: change.team_id,
        title: required("title", change.title)?,
        description: required("description", change.description)?,
        place: change.place,
        grid_id: change.grid_id,
        building_id: change.building_id,
        coordinates: change.coordinates,
        starts_at: required("starts_at", change.starts_at)?,
        ends_at: required("ends_at", change.ends_at)?,
        signup_deadline: change.signup_deadline,
        capacity: required("capacity", change.capacity)?,
        audience: change.audience.unwrap_or(Audience::Community),
        audience_id: change.audience_id,
        points_per_hour_minor: change.points_per_hour_minor,
        cover_url: change.cover_url,
    })
}

pub async fn create(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<ActivityBody>,
) -> ApiResult<HttpResponse> {
    let draft = parse_draft(body.into_inner(), &state.settings.security.media_hosts)?;
    let actor = Actor::of(&state, caller).await?;
    let row = service::create(&state, &actor, draft).await?;
    Ok(HttpResponse::Created().json(views::activity_view(row, None)))
}

pub async fn update(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<ActivityBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    if body.community_id.is_some() {
        return Err(ApiError::validation("community_id", "an activity stays in its community"));
    }
    let change = parse_change(&body, &state.settings.security.media_hosts)?;
    let actor = Actor::of(&state, caller).await?;
    let row = service::update(&state, &actor, ActivityId(path.into_inner()), change).await?;
    Ok(HttpResponse::Ok().json(views::activity_view(row, None)))
}

async fn shown(state: &AppState, actor: &Actor, row: ehome_entities::activity::Model) -> ApiResult<ActivityView> {
    let id = ActivityId(row.id);
    let cancelled = signups::SignupStatus::Cancelled.as_str();
    let mine = signups::of_user(&state.db, id, actor.id).await?.filter(|s| s.status != cancelled);
    let mine = match mine {
        Some(signup) => {
            let position = signups::position(&state.db, &signup).await?;
            Some(views::signup_view(signup, position, None))
        }
        None => None,
    };
    Ok(views::activity_view(row, mine))
}

pub async fn detail(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let row = service::visible(&state, &actor, ActivityId(path.into_inner())).await?;
    Ok(HttpResponse::Ok().json(shown(&state, &actor, row).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    community_id: Option<i64>,
    /// Comma-separated statuses; absent: upcoming (published or in progress, not ended).
    status: Option<String>,
    team_id: Option<i64>,
    mine: Option<bool>,
    cursor: Option<String>,
    limit: Option<u64>,
}

pub async fn list(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let keyset = PageQuery { cursor: query.cursor, limit: query.limit }.keyset()?;
    let statuses = match query.status.as_deref() {
        None => None,
        Some(list) => Some(
            list.split(',')
                .map(|word| {
                    Status::parse(word.trim())
                        .ok_or_else(|| ApiError::validation("status", format!("unknown status {word}")))
                })
                .collect::<ApiResult<Vec<_>>>()?,
        ),
    };
    let filter = Filter {
        community_id: query.community_id.map(CommunityId),
        statuses,
        team_id: query.team_id.map(TeamId),
        mine: query.mine.unwrap_or(false),
    };
    let actor = Actor::of(&state, caller).await?;
    let rows = listing::list(&state, &actor, filter, &keyset, state.clock.now()).await?;
    let shown: Page<ActivityView> = page(
        rows,
        keyset.limit,
        |listed| listed.activity.id,
        |listed| {
            let mine = listed.mine.map(|signup| views::signup_view(signup, None, None));
            views::activity_view(listed.activity, mine)
        },
    );
    Ok(HttpResponse::Ok().json(shown))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionBody {
    action: Action,
}

pub async fn transition(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<TransitionBody>,
) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let row = service::transition(&state, &actor, ActivityId(path.into_inner()), body.action).await?;
    Ok(HttpResponse::Ok().json(views::activity_view(row, None)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeneficiariesBody {
    count: i32,
}

pub async fn beneficiaries(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<BeneficiariesBody>,
) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let row = service::record_beneficiaries(&state, &actor, ActivityId(path.into_inner()), body.count).await?;
    Ok(HttpResponse::Ok().json(views::activity_view(row, None)))
}

pub async fn sign_up(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let (signup, position) = signups::join(&state, &actor, ActivityId(path.into_inner())).await?;
    Ok(HttpResponse::Created().json(views::signup_view(signup, position, None)))
}

pub async fn cancel_signup(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let promoted = signups::leave(&state, &actor, ActivityId(path.into_inner())).await?;
    let promoted = promoted.map(|row| views::signup_view(row, None, None));
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "cancelled", "promoted": promoted})))
}

pub async fn roster(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let rows = signups::roster(&state, &actor, ActivityId(path.into_inner())).await?;
    let (mut confirmed, mut waiting) = (Vec::new(), Vec::new());
    for (row, position, user) in rows {
        let view = views::signup_view(row, position, user.as_ref());
        if position.is_some() { waiting.push(view) } else { confirmed.push(view) }
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({"confirmed": confirmed, "waiting": waiting})))
}

pub async fn checkin_code(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let row = service::organised(&state, &actor, ActivityId(path.into_inner())).await?;
    let shown = checkin::shown_code(&row, state.clock.now())?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(serde_json::json!({
        "code": shown.code,
        "step_ends_at": shown.step_ends_at,
        "step_seconds": super::code::STEP_SECONDS,
    })))
}

pub async fn wxa_code(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let row = service::organised(&state, &actor, ActivityId(path.into_inner())).await?;
    let image = checkin::wxa_code(&state, &row).await?;
    Ok(HttpResponse::Ok().content_type("image/png").body(image))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttendBody {
    code: String,
    latitude: Option<f64>,
    longitude: Option<f64>,
}

fn parse_presence(body: AttendBody) -> ApiResult<Presence> {
    if body.code.len() > 16 {
        return Err(ApiError::validation("code", "6 digits"));
    }
    let location = match (body.latitude, body.longitude) {
        (Some(lat), Some(lon)) if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) => Some((lat, lon)),
        (None, None) => None,
        _ => return Err(ApiError::validation("latitude", "latitude −90..90 and longitude −180..180, together")),
    };
    Ok(Presence { code: body.code, location })
}

async fn attend(
    state: &AppState,
    caller: AuthUser,
    id: i64,
    body: AttendBody,
    direction: Direction,
) -> ApiResult<HttpResponse> {
    let presence = parse_presence(body)?;
    let actor = Actor::of(state, caller).await?;
    let row = service::visible(state, &actor, ActivityId(id)).await?;
    let signup = checkin::attend(state, &row, actor.id, direction, presence).await?;
    Ok(HttpResponse::Ok().json(views::signup_view(signup, None, None)))
}

pub async fn check_in(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<AttendBody>,
) -> ApiResult<HttpResponse> {
    attend(&state, caller, path.into_inner(), body.into_inner(), Direction::In).await
}

pub async fn check_out(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<AttendBody>,
) -> ApiResult<HttpResponse> {
    attend(&state, caller, path.into_inner(), body.into_inner(), Direction::Out).await
}
