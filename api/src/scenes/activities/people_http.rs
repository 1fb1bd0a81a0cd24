//! HTTP of volunteers and teams: bodies, and handlers that parse, load the caller, call one use case
//! and show the result.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::lifecycle::VolunteerStatus;
use super::teams::{self, NewTeam};
use super::views;
use super::volunteers::{self, ProfileChange, Registration};
use crate::authz::Actor;
use crate::domain::{CommunityId, Description, Label, Note, TeamId, UserId, VolunteerId};
use crate::identity::auth::AuthUser;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::pagination::{PageQuery, page};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    community_id: i64,
    skills: Vec<String>,
    available_times: Option<String>,
    real_name: Option<String>,
    #[serde(default)]
    leaderboard_consent: bool,
}

pub async fn register(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<RegisterBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let registration = Registration {
        community: CommunityId(body.community_id),
        skills: body.skills,
        available_times: Note::parse_optional("available_times", body.available_times.as_deref())?,
        real_name: Label::parse_optional("real_name", body.real_name.as_deref())?,
        leaderboard_consent: body.leaderboard_consent,
    };
    let actor = Actor::of(&state, caller).await?;
    let row = volunteers::register(&state, &actor, registration).await?;
    Ok(HttpResponse::Created().json(views::volunteer_view(row, None)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolunteerListQuery {
    community_id: i64,
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<u64>,
}

pub async fn list(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<VolunteerListQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let keyset = PageQuery { cursor: query.cursor, limit: query.limit }.keyset()?;
    let status = query
        .status
        .as_deref()
        .map(|s| {
            VolunteerStatus::parse(s)
                .ok_or_else(|| ApiError::validation("status", "pending, approved, declined or withdrawn"))
        })
        .transpose()?;
    let actor = Actor::of(&state, caller).await?;
    let rows = volunteers::list(&state, &actor, CommunityId(query.community_id), status, &keyset).await?;
    let shown = page(rows, keyset.limit, |(row, _)| row.id, |(row, user)| views::volunteer_view(row, user.as_ref()));
    Ok(HttpResponse::Ok().json(shown))
}

pub async fn mine(state: web::Data<AppState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let rows = volunteers::mine(&state, &actor).await?;
    let items: Vec<_> = rows.into_iter().map(|row| views::volunteer_view(row, None)).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    skills: Option<Vec<String>>,
    available_times: Option<String>,
    real_name: Option<String>,
    leaderboard_consent: Option<bool>,
}

pub async fn update_own(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<ProfileBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let change = ProfileChange {
        skills: body.skills,
        available_times: Note::parse_optional("available_times", body.available_times.as_deref())?,
        real_name: Label::parse_optional("real_name", body.real_name.as_deref())?,
        leaderboard_consent: body.leaderboard_consent,
    };
    let actor = Actor::of(&state, caller).await?;
    let row = volunteers::update_own(&state, &actor, VolunteerId(path.into_inner()), change).await?;
    Ok(HttpResponse::Ok().json(views::volunteer_view(row, None)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approve,
    Decline,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    decision: Verdict,
    note: Option<String>,
}

pub async fn decide(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<DecisionBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let note = Note::parse_optional("note", body.note.as_deref())?;
    let approve = matches!(body.decision, Verdict::Approve);
    let actor = Actor::of(&state, caller).await?;
    let row = volunteers::decide(&state, &actor, VolunteerId(path.into_inner()), approve, note).await?;
    Ok(HttpResponse::Ok().json(views::volunteer_view(row, None)))
}

pub async fn community_settings(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let settings = volunteers::settings_for(&state, &actor, CommunityId(path.into_inner())).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "skills": settings.skills,
        "points_per_hour": crate::points::points_text(settings.points_per_hour_minor),
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamBody {
    community_id: i64,
    name: String,
    description: Option<String>,
    leader_id: i64,
}

pub async fn create_team(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<TeamBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let new = NewTeam {
        community: CommunityId(body.community_id),
        name: Label::parse("name", &body.name)?,
        description: Description::parse_optional("description", body.description.as_deref())?,
        leader: UserId(body.leader_id),
    };
    let actor = Actor::of(&state, caller).await?;
    let team = teams::create(&state, &actor, new).await?;
    Ok(HttpResponse::Created().json(views::team_view(team, 1)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamListQuery {
    community_id: i64,
}

pub async fn list_teams(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<TeamListQuery>,
) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let rows = teams::list(&state, &actor, CommunityId(query.community_id)).await?;
    let items: Vec<_> = rows.into_iter().map(|(team, count)| views::team_view(team, count)).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items})))
}

fn team_detail(detail: teams::TeamDetail) -> serde_json::Value {
    let count = detail.members.len() as u64;
    let members: Vec<_> =
        detail.members.into_iter().map(|(member, user)| views::member_view(member, user.as_ref())).collect();
    serde_json::json!({"team": views::team_view(detail.team, count), "members": members})
}

pub async fn team(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let detail = teams::detail(&state, &actor, TeamId(path.into_inner())).await?;
    Ok(HttpResponse::Ok().json(team_detail(detail)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberBody {
    user_id: i64,
}

pub async fn add_member(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<MemberBody>,
) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let detail = teams::add_member(&state, &actor, TeamId(path.into_inner()), UserId(body.user_id)).await?;
    Ok(HttpResponse::Ok().json(team_detail(detail)))
}

pub async fn remove_member(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (team, member) = path.into_inner();
    let actor = Actor::of(&state, caller).await?;
    let detail = teams::remove_member(&state, &actor, TeamId(team), UserId(member)).await?;
    Ok(HttpResponse::Ok().json(team_detail(detail)))
}
