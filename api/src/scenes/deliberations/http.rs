//! HTTP of deliberations: bodies, and handlers that parse, load the caller and the deliberation, call
//! one use case and show the result.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::election::{self, ElectionDraft};
use super::lifecycle::{Action, Profession, Severity, Urgency};
use super::meetings::{self, MeetingDraft, MinutesDraft};
use super::resolutions::{self, ResolutionDraft};
use super::service::{self, GroupDraft, Loaded, Topic};
use super::{meetings_store, views};
use crate::authz::Actor;
use crate::domain::{Area, CommunityId, Description, Label, Location, Note, Title, UserId};
use crate::identity::auth::AuthUser;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::pagination::{CommunityPageQuery, page};
use crate::state::AppState;

const SOURCE_REQUESTS_MAX: usize = 20;
const LISTED_IDS_MAX: usize = 500;

/// The caller and the deliberation they may see.
async fn load(state: &AppState, caller: AuthUser, id: i64) -> ApiResult<(Actor, Loaded)> {
    let actor = Actor::of(state, caller).await?;
    let loaded = service::visible(state, &actor, id).await?;
    Ok((actor, loaded))
}

fn word<T>(field: &str, raw: Option<&str>, default: T, parse: fn(&str) -> Option<T>, expected: &str) -> ApiResult<T> {
    match raw {
        None => Ok(default),
        Some(raw) => parse(raw).ok_or_else(|| ApiError::validation(field, expected.to_owned())),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeBody {
    kind: String,
    #[serde(default)]
    ids: Vec<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposeBody {
    community_id: i64,
    title: String,
    issue: String,
    evidence: Option<String>,
    severity: Option<String>,
    urgency: Option<String>,
    scope: ScopeBody,
    #[serde(default)]
    request_ids: Vec<i64>,
}

fn parse_topic(body: ProposeBody) -> ApiResult<Topic> {
    let mut request_ids = body.request_ids;
    request_ids.sort_unstable();
    request_ids.dedup();
    if request_ids.len() > SOURCE_REQUESTS_MAX {
        return Err(ApiError::validation("request_ids", format!("at most {SOURCE_REQUESTS_MAX}")));
    }
    Ok(Topic {
        community: CommunityId(body.community_id),
        title: Title::parse("title", &body.title)?,
        issue: Description::parse("issue", &body.issue)?,
        evidence: Description::parse_optional("evidence", body.evidence.as_deref())?,
        severity: word("severity", body.severity.as_deref(), Severity::Medium, Severity::parse, "low, medium or high")?,
        urgency: word("urgency", body.urgency.as_deref(), Urgency::Normal, Urgency::parse, "normal or urgent")?,
        area: Area::parse("scope", &body.scope.kind, &body.scope.ids)?,
        request_ids,
    })
}

pub async fn propose(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<ProposeBody>,
) -> ApiResult<HttpResponse> {
    let topic = parse_topic(body.into_inner())?;
    let actor = Actor::of(&state, caller).await?;
    let row = service::propose(&state, &actor, topic).await?;
    Ok(HttpResponse::Created().json(views::deliberation_view(row)))
}

pub async fn list(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<CommunityPageQuery>,
) -> ApiResult<HttpResponse> {
    let (community, keyset) = query.into_inner().parts()?;
    let actor = Actor::of(&state, caller).await?;
    let rows = service::list(&state, &actor, community, &keyset).await?;
    Ok(HttpResponse::Ok().json(page(rows, keyset.limit, |d| d.id, views::deliberation_view)))
}

pub async fn detail(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let (_, loaded) = load(&state, caller, path.into_inner()).await?;
    let overview = service::overview(&state, loaded).await?;
    Ok(HttpResponse::Ok().json(views::overview_json(overview)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionBody {
    action: Action,
    note: Option<String>,
}

pub async fn transition(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<TransitionBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let note = Note::parse_optional("note", body.note.as_deref())?;
    let (actor, loaded) = load(&state, caller, path.into_inner()).await?;
    let row = service::transition(&state, &actor, loaded, body.action, note).await?;
    Ok(HttpResponse::Ok().json(views::deliberation_view(row)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupBody {
    name: String,
    description: Option<String>,
    #[serde(default)]
    member_ids: Vec<i64>,
    #[serde(default)]
    building_ids: Vec<i64>,
}

pub async fn add_group(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<GroupBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    if body.member_ids.len() > LISTED_IDS_MAX || body.building_ids.len() > LISTED_IDS_MAX {
        return Err(ApiError::validation("member_ids", format!("at most {LISTED_IDS_MAX}")));
    }
    let draft = GroupDraft {
        name: Label::parse("name", &body.name)?,
        description: Note::parse_optional("description", body.description.as_deref())?,
        member_ids: body.member_ids.into_iter().map(UserId).collect(),
        building_ids: body.building_ids,
    };
    let (actor, loaded) = load(&state, caller, path.into_inner()).await?;
    let (group, members) = service::add_group(&state, &actor, &loaded, draft).await?;
    Ok(HttpResponse::Created().json(views::group_view(group, members)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppointBody {
    user_id: i64,
    reason: String,
}

pub async fn appoint(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, i64)>,
    body: web::Json<AppointBody>,
) -> ApiResult<HttpResponse> {
    let (id, group_id) = path.into_inner();
    let body = body.into_inner();
    let reason = Note::parse("reason", &body.reason)?;
    let (actor, loaded) = load(&state, caller, id).await?;
    let seat = service::appoint(&state, &actor, &loaded, group_id, UserId(body.user_id), reason).await?;
    Ok(HttpResponse::Created().json(views::seat_view(seat)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElectionBody {
    candidate_ids: Vec<i64>,
    seats: u32,
    opens_at: Option<DateTime<Utc>>,
    closes_at: DateTime<Utc>,
}

pub async fn open_election(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, i64)>,
    body: web::Json<ElectionBody>,
) -> ApiResult<HttpResponse> {
    let (id, group_id) = path.into_inner();
    let body = body.into_inner();
    let mut candidates = body.candidate_ids.clone();
    candidates.sort_unstable();
    candidates.dedup();
    if candidates.is_empty() || candidates.len() != body.candidate_ids.len() || candidates.len() > 20 {
        return Err(ApiError::validation("candidate_ids", "1 to 20 members of the group, each once"));
    }
    let draft = ElectionDraft {
        candidates: body.candidate_ids.into_iter().map(UserId).collect(),
        seats: body.seats,
        opens_at: body.opens_at,
        closes_at: body.closes_at,
    };
    let (actor, loaded) = load(&state, caller, id).await?;
    let (group, poll_id) = election::open(&state, &actor, &loaded, group_id, draft).await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"group_id": group.id, "poll_id": poll_id})))
}

pub async fn seat_elected(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (id, group_id) = path.into_inner();
    let (actor, loaded) = load(&state, caller, id).await?;
    let seated = election::seat_elected(&state, &actor, &loaded, group_id).await?;
    let items: Vec<views::SeatView> = seated.into_iter().map(views::seat_view).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfessionalBody {
    user_id: i64,
    profession: Profession,
    reason: Option<String>,
}

pub async fn invite_professional(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<ProfessionalBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let reason = Note::parse_optional("reason", body.reason.as_deref())?;
    let (actor, loaded) = load(&state, caller, path.into_inner()).await?;
    let user = UserId(body.user_id);
    let seat = service::invite_professional(&state, &actor, &loaded, user, body.profession, reason).await?;
    Ok(HttpResponse::Created().json(views::seat_view(seat)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingBody {
    starts_at: DateTime<Utc>,
    place: String,
    agenda: String,
    chair_id: Option<i64>,
}

pub async fn schedule(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<MeetingBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let draft = MeetingDraft {
        starts_at: body.starts_at,
        place: Location::parse("place", &body.place)?,
        agenda: Description::parse("agenda", &body.agenda)?,
        chair: body.chair_id.map(UserId),
    };
    let (actor, loaded) = load(&state, caller, path.into_inner()).await?;
    let meeting = meetings::schedule(&state, &actor, &loaded, draft).await?;
    Ok(HttpResponse::Created().json(views::meeting_view(meeting, Vec::new(), None)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttendeesBody {
    user_ids: Vec<i64>,
}

pub async fn mark_attendees(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, i64)>,
    body: web::Json<AttendeesBody>,
) -> ApiResult<HttpResponse> {
    let (id, meeting_id) = path.into_inner();
    let users: Vec<UserId> = body.into_inner().user_ids.into_iter().map(UserId).collect();
    if users.is_empty() || users.len() > LISTED_IDS_MAX {
        return Err(ApiError::validation("user_ids", format!("1 to {LISTED_IDS_MAX}")));
    }
    let (actor, loaded) = load(&state, caller, id).await?;
    let meeting = meetings_store::get_meeting(&state.db, id, meeting_id).await?;
    let marked = meetings::mark_attendees(&state, &actor, &loaded, &meeting, &users).await?;
    let items: Vec<views::AttendeeView> = marked.into_iter().map(views::attendee_view).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items})))
}

pub async fn list_minutes(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (id, meeting_id) = path.into_inner();
    let (_, loaded) = load(&state, caller, id).await?;
    let meeting = meetings_store::get_meeting(&state.db, id, meeting_id).await?;
    let versions = meetings::minutes(&state, &loaded, &meeting).await?;
    let items: Vec<views::MinutesView> = versions.into_iter().map(views::minutes_view).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinutesBody {
    text: String,
    decisions: String,
    correction_note: Option<String>,
}

pub async fn write_minutes(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, i64)>,
    body: web::Json<MinutesBody>,
) -> ApiResult<HttpResponse> {
    let (id, meeting_id) = path.into_inner();
    let body = body.into_inner();
    let draft = MinutesDraft {
        text: Description::parse("text", &body.text)?,
        decisions: Description::parse("decisions", &body.decisions)?,
        correction_note: Note::parse_optional("correction_note", body.correction_note.as_deref())?,
    };
    let (actor, loaded) = load(&state, caller, id).await?;
    let meeting = meetings_store::get_meeting(&state.db, id, meeting_id).await?;
    let written = meetings::write_minutes(&state, &actor, &loaded, &meeting, draft).await?;
    Ok(HttpResponse::Created().json(views::minutes_view(written)))
}

pub async fn sign_off(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, i64, i32)>,
) -> ApiResult<HttpResponse> {
    let (id, meeting_id, version) = path.into_inner();
    let (actor, loaded) = load(&state, caller, id).await?;
    let meeting = meetings_store::get_meeting(&state.db, id, meeting_id).await?;
    let signed = meetings::sign_off(&state, &actor, &loaded, &meeting, version).await?;
    Ok(HttpResponse::Ok().json(views::minutes_view(signed)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolutionBody {
    owner_id: i64,
    due_on: NaiveDate,
    description: String,
    building_id: Option<i64>,
}

pub async fn record_resolution(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<ResolutionBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let draft = ResolutionDraft {
        owner: UserId(body.owner_id),
        due_on: body.due_on,
        description: Description::parse("description", &body.description)?,
        building_id: body.building_id,
    };
    let (actor, loaded) = load(&state, caller, path.into_inner()).await?;
    let (resolution, request) = resolutions::record(&state, &actor, &loaded, draft).await?;
    let progress = resolutions::Progress { resolution, done: false, request: Some(request) };
    Ok(HttpResponse::Created().json(views::resolution_view(progress)))
}
