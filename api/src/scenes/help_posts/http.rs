//! HTTP of help posts: bodies, views and handlers that parse, load the caller, call one `service`
//! function and show the result. Contact phones are shown in full only to the two sides of a claimed
//! post; everyone else sees them masked (and lists show none).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use ehome_entities::help_post;
use serde::Deserialize;
use serde_json::{Value, json};

use super::lifecycle::{Category, Kind, Outcome, Role, Status};
use super::service::{self, Confirmation, Draft, REWARD_MAX_MINOR, Scope};
use super::settings::{self as help_settings, Settings};
use crate::authz::Actor;
use crate::domain::{BuildingId, CommunityId, Description, Location, Note, RatingText, Title, phone};
use crate::identity::auth::AuthUser;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::pagination::{Keyset, PageQuery, page};
use crate::points::{Points, points_text};
use crate::state::AppState;

/// The most minutes of service one confirmation may put on the record.
const MINUTES_MAX: i64 = 24 * 60;

fn view(row: &help_post::Model) -> Value {
    json!({
        "id": row.id,
        "community_id": row.community_id,
        "building_id": row.building_id,
        "grid_id": row.grid_id,
        "kind": row.kind,
        "category": row.category,
        "title": row.title,
        "description": row.description,
        "location": row.location,
        "needed_at": row.needed_at,
        "expires_at": row.expires_at,
        "reward": points_text(row.reward_minor),
        "status": row.status,
        "moderation": row.moderation,
        "author_id": row.author_id,
        "helper_id": row.helper_id,
        "claimed_at": row.claimed_at,
        "done_at": row.done_at,
        "finished_at": row.finished_at,
        "outcome": row.outcome,
        "paid": points_text(row.paid_minor),
        "bonus": points_text(row.bonus_minor),
        "rating": row.rating,
        "rating_text": row.rating_text,
        "created_at": row.created_at,
    })
}

/// A phone as `viewer` may see it: in full for its owner and, once the post is claimed, for the
/// other side; masked for everyone else.
fn shown(phone: Option<String>, owner_is_viewer: bool, other_side: bool, claimed: bool) -> Option<String> {
    let phone = phone?;
    if owner_is_viewer || (other_side && claimed) { Some(phone) } else { Some(phone::mask(&phone)) }
}

async fn detail_view(state: &AppState, actor: &Actor, row: &help_post::Model) -> ApiResult<Value> {
    let role = service::role_of(actor, row);
    let claimed = row.helper_id.is_some();
    let author = crate::identity::users::get(&state.db, crate::domain::UserId(row.author_id)).await?;
    let author_phone = shown(author.phone, role == Role::Author, role == Role::Helper, claimed);
    let helper_phone = match row.helper_id {
        Some(id) => {
            let helper = crate::identity::users::get(&state.db, crate::domain::UserId(id)).await?;
            shown(helper.phone, role == Role::Helper, role == Role::Author, claimed)
        }
        None => None,
    };
    let mut value = view(row);
    value["contacts"] = json!({"author_phone": author_phone, "helper_phone": helper_phone});
    Ok(value)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    community_id: i64,
    building_id: Option<i64>,
    kind: String,
    category: String,
    title: String,
    description: String,
    location: Option<String>,
    needed_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    reward: Option<String>,
}

fn parse_reward(raw: Option<&str>) -> ApiResult<Points> {
    let Some(raw) = raw else { return Ok(Points::ZERO) };
    let reward = Points::parse(raw).map_err(|_| ApiError::validation("reward", "points with two places"))?;
    if reward.minor() > REWARD_MAX_MINOR {
        return Err(ApiError::validation("reward", format!("at most {}", points_text(REWARD_MAX_MINOR))));
    }
    Ok(reward)
}

fn parse_draft(body: CreateBody) -> ApiResult<Draft> {
    Ok(Draft {
        community: CommunityId(body.community_id),
        building: body.building_id.map(BuildingId),
        kind: Kind::parse(&body.kind).ok_or_else(|| ApiError::validation("kind", "need or offer"))?,
        category: Category::parse(&body.category)
            .ok_or_else(|| ApiError::validation("category", "groceries, escort, repair, care or other"))?,
        title: Title::parse("title", &body.title)?,
        description: Description::parse("description", &body.description)?,
        location: Location::parse_optional("location", body.location.as_deref())?,
        needed_at: body.needed_at,
        expires_at: body.expires_at,
        reward: parse_reward(body.reward.as_deref())?,
    })
}

pub async fn create(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<CreateBody>,
) -> ApiResult<HttpResponse> {
    let draft = parse_draft(body.into_inner())?;
    let actor = Actor::of(&state, caller).await?;
    let row = service::create(&state, &actor, draft).await?;
    Ok(HttpResponse::Created().json(detail_view(&state, &actor, &row).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    scope: Option<String>,
    community_id: Option<i64>,
    building_id: Option<i64>,
    grid_id: Option<i64>,
    kind: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<u64>,
}

fn parse_list(query: ListQuery) -> ApiResult<(Scope, Option<Kind>, Option<Status>, Keyset)> {
    let keyset = PageQuery { cursor: query.cursor, limit: query.limit }.keyset()?;
    let scope = match query.scope.as_deref().unwrap_or("near") {
        "near" => Scope::Near {
            community: query.community_id.map(CommunityId),
            building: query.building_id,
            grid: query.grid_id,
        },
        "mine" => Scope::Mine,
        "claimed" => Scope::ClaimedByMe,
        _ => return Err(ApiError::validation("scope", "near, mine or claimed")),
    };
    let kind =
        query.kind.as_deref().map(|k| Kind::parse(k).ok_or_else(|| ApiError::validation("kind", "need or offer")));
    let status =
        query.status.as_deref().map(|s| Status::parse(s).ok_or_else(|| ApiError::validation("status", "a status")));
    Ok((scope, kind.transpose()?, status.transpose()?, keyset))
}

pub async fn list(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let (scope, kind, status, keyset) = parse_list(query.into_inner())?;
    let actor = Actor::of(&state, caller).await?;
    let rows = service::list(&state, &actor, scope, kind, status, keyset.after_id, keyset.limit).await?;
    Ok(HttpResponse::Ok().json(page(rows, keyset.limit, |r| r.id, |r| view(&r))))
}

pub async fn disputes(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let keyset = query.keyset()?;
    let actor = Actor::of(&state, caller).await?;
    let scope = Scope::Disputes(CommunityId(path.into_inner()));
    let rows = service::list(&state, &actor, scope, None, None, keyset.after_id, keyset.limit).await?;
    Ok(HttpResponse::Ok().json(page(rows, keyset.limit, |r| r.id, |r| view(&r))))
}

pub async fn detail(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let row = service::visible(&state, &actor, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(detail_view(&state, &actor, &row).await?))
}

/// Claim, withdraw, complete and cancel take no body.
async fn simple(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: i64,
    step: impl AsyncFnOnce(&AppState, &Actor, i64) -> ApiResult<help_post::Model>,
) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let row = step(&state, &actor, id).await?;
    Ok(HttpResponse::Ok().json(detail_view(&state, &actor, &row).await?))
}

pub async fn claim(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    simple(state, caller, path.into_inner(), service::claim).await
}

pub async fn withdraw(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    simple(state, caller, path.into_inner(), service::withdraw).await
}

pub async fn complete(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    simple(state, caller, path.into_inner(), service::complete).await
}

pub async fn cancel(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    simple(state, caller, path.into_inner(), service::cancel).await
}

pub async fn restore(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    simple(state, caller, path.into_inner(), service::restore).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    minutes: Option<i64>,
    rating: Option<i32>,
    rating_text: Option<String>,
}

pub async fn confirm(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<ConfirmBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    if body.minutes.is_some_and(|m| !(1..=MINUTES_MAX).contains(&m)) {
        return Err(ApiError::validation("minutes", format!("1 to {MINUTES_MAX}")));
    }
    if body.rating.is_some_and(|r| !(1..=5).contains(&r)) {
        return Err(ApiError::validation("rating", "1 to 5"));
    }
    let rating_text = RatingText::parse_optional("rating_text", body.rating_text.as_deref())?;
    let said = Confirmation { minutes: body.minutes, rating: body.rating, rating_text };
    let actor = Actor::of(&state, caller).await?;
    let row = service::confirm(&state, &actor, path.into_inner(), said).await?;
    Ok(HttpResponse::Ok().json(detail_view(&state, &actor, &row).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    outcome: String,
    amount: Option<String>,
}

pub async fn decide(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<DecisionBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let outcome =
        Outcome::parse(&body.outcome).ok_or_else(|| ApiError::validation("outcome", "pay, release or split"))?;
    let amount = match body.amount.as_deref() {
        None => None,
        Some(raw) => Some(Points::parse(raw).map_err(|_| ApiError::validation("amount", "points with two places"))?),
    };
    let actor = Actor::of(&state, caller).await?;
    let row = service::decide(&state, &actor, path.into_inner(), outcome, amount).await?;
    Ok(HttpResponse::Ok().json(detail_view(&state, &actor, &row).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    reason: Option<String>,
}

pub async fn report(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<ReportBody>,
) -> ApiResult<HttpResponse> {
    let reason = Note::parse_optional("reason", body.into_inner().reason.as_deref())?;
    let actor = Actor::of(&state, caller).await?;
    service::report(&state, &actor, path.into_inner(), reason.map(Note::into_inner)).await?;
    Ok(HttpResponse::Accepted().json(json!({"reported": true})))
}

fn settings_view(settings: Settings) -> Value {
    json!({"confirmation_bonus": points_text(settings.confirmation_bonus.minor())})
}

pub async fn settings(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let found = help_settings::read(&state, &actor, CommunityId(path.into_inner())).await?;
    Ok(HttpResponse::Ok().json(settings_view(found)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    confirmation_bonus: String,
}

pub async fn set_settings(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<SettingsBody>,
) -> ApiResult<HttpResponse> {
    let confirmation_bonus = Points::parse(&body.confirmation_bonus)
        .map_err(|_| ApiError::validation("confirmation_bonus", "points with two places"))?;
    let actor = Actor::of(&state, caller).await?;
    let wanted = Settings { confirmation_bonus };
    let saved = help_settings::write(&state, &actor, CommunityId(path.into_inner()), wanted).await?;
    Ok(HttpResponse::Ok().json(settings_view(saved)))
}
