//! HTTP of polls: bodies, and handlers that parse, load the caller, call one `service` function and
//! show the result. A secret poll's views never put a voter beside a choice: a ballot answer gives the
//! voter their receipt (not their choice back), and a receipt answers "counted or not" only.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use ehome_entities::{poll, poll_option};
use serde::{Deserialize, Serialize};

use super::lifecycle::{Eligibility, Phase, ResultsVisibility, ScopeKind, Secrecy};
use super::service::{self, Ask, Detail};
use super::store::CastOutcome;
use super::{eligibility, results};
use crate::authz::Actor;
use crate::domain::{CommunityId, Description, HouseholdId, Label, Note, Title, UserId};
use crate::identity::auth::AuthUser;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::pagination::{self, CommunityPageQuery};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    community_id: i64,
    title: String,
    description: Option<String>,
    options: Vec<String>,
    choices_min: Option<i32>,
    choices_max: Option<i32>,
    scope: ScopeKind,
    #[serde(default)]
    scope_ids: Vec<i64>,
    eligibility: Eligibility,
    secrecy: Secrecy,
    results_visibility: ResultsVisibility,
    #[serde(default)]
    allow_change: bool,
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
}

fn parse_ask(body: CreateBody) -> ApiResult<Ask> {
    let options = body.options.iter().map(|label| Label::parse("options", label)).collect::<ApiResult<Vec<_>>>()?;
    let choices_min = body.choices_min.unwrap_or(1);
    Ok(Ask {
        community: CommunityId(body.community_id),
        title: Title::parse("title", &body.title)?,
        description: Description::parse_optional("description", body.description.as_deref())?,
        options,
        choices_min,
        choices_max: body.choices_max.unwrap_or(choices_min),
        scope_kind: body.scope,
        scope_ids: body.scope_ids,
        eligibility: body.eligibility,
        secrecy: body.secrecy,
        results_visibility: body.results_visibility,
        allow_change: body.allow_change,
        opens_at: body.opens_at,
        closes_at: body.closes_at,
    })
}

#[derive(Debug, Serialize)]
struct OptionView {
    id: i64,
    label: String,
}

#[derive(Debug, Serialize)]
struct PollView {
    id: i64,
    community_id: i64,
    title: String,
    description: Option<String>,
    options: Vec<OptionView>,
    choices_min: i32,
    choices_max: i32,
    scope: String,
    scope_ids: Vec<i64>,
    eligibility: String,
    secrecy: String,
    results_visibility: String,
    allow_change: bool,
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
    phase: Phase,
    created_by: i64,
}

fn poll_view(poll: &poll::Model, options: &[poll_option::Model], now: DateTime<Utc>) -> PollView {
    PollView {
        id: poll.id,
        community_id: poll.community_id,
        title: poll.title.clone(),
        description: poll.description.clone(),
        options: options.iter().map(|o| OptionView { id: o.id, label: o.label.clone() }).collect(),
        choices_min: poll.choices_min,
        choices_max: poll.choices_max,
        scope: poll.scope_kind.clone(),
        scope_ids: eligibility::scope_ids(poll),
        eligibility: poll.eligibility.clone(),
        secrecy: poll.secrecy.clone(),
        results_visibility: poll.results_visibility.clone(),
        allow_change: poll.allow_change,
        opens_at: poll.opens_at,
        closes_at: poll.closes_at,
        phase: service::phase_of(poll, now),
        created_by: poll.created_by,
    }
}

pub async fn create(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<CreateBody>,
) -> ApiResult<HttpResponse> {
    let ask = parse_ask(body.into_inner())?;
    let actor = Actor::of(&state, caller).await?;
    let (poll, options) = service::create(&state, &actor, ask).await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"poll": poll_view(&poll, &options, state.clock.now())})))
}

pub async fn list(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<CommunityPageQuery>,
) -> ApiResult<HttpResponse> {
    let (community, keyset) = query.into_inner().parts()?;
    let actor = Actor::of(&state, caller).await?;
    let rows = service::list(&state, &actor, community, &keyset).await?;
    let now = state.clock.now();
    let page = pagination::page(rows, keyset.limit, |p| p.id, |p| poll_view(&p, &[], now));
    Ok(HttpResponse::Ok().json(page))
}

fn detail_json(detail: Detail, now: DateTime<Utc>) -> serde_json::Value {
    let my_ballot = detail
        .my_ballot
        .map(|mine| serde_json::json!({"voted": mine.voted, "proxy": mine.proxy, "changes": mine.changes}));
    serde_json::json!({
        "poll": poll_view(&detail.poll, &detail.options, now),
        "turnout": {"voted": detail.voted, "eligible": detail.eligible},
        "my_ballot": my_ballot,
    })
}

pub async fn detail(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let detail = service::detail(&state, &actor, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(detail_json(detail, state.clock.now())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BallotBody {
    option_ids: Vec<i64>,
}

/// The voter's own receipt: what they keep to check their ballot later. No choice is echoed back.
fn receipt_json(outcome: CastOutcome) -> serde_json::Value {
    serde_json::json!({
        "receipt": outcome.ballot.receipt,
        "nonce": outcome.nonce,
        "replaced": outcome.replaced,
        "proxy": outcome.ballot.proxy,
    })
}

pub async fn cast(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<BallotBody>,
) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let outcome = service::cast(&state, &actor, path.into_inner(), body.into_inner().option_ids).await?;
    Ok(HttpResponse::Created().json(receipt_json(outcome)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyBody {
    household_id: i64,
    option_ids: Vec<i64>,
    note: String,
}

pub async fn cast_proxy(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<ProxyBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let note = Note::parse("note", &body.note)?;
    let actor = Actor::of(&state, caller).await?;
    let household = HouseholdId(body.household_id);
    let outcome = service::cast_proxy(&state, &actor, path.into_inner(), household, body.option_ids, note).await?;
    Ok(HttpResponse::Created().json(receipt_json(outcome)))
}

pub async fn results(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let found = results::results(&state, &actor, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(found))
}

pub async fn results_csv(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let found = results::results(&state, &actor, path.into_inner()).await?;
    let filename = format!("poll-{}-results.csv", found.poll_id);
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")))
        .body(results::csv(&found)))
}

pub async fn receipt(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, String)>,
) -> ApiResult<HttpResponse> {
    let (id, hash) = path.into_inner();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::validation("hash", "64 hexadecimal characters"));
    }
    let actor = Actor::of(&state, caller).await?;
    let check = service::receipt(&state, &actor, id, &hash.to_ascii_lowercase()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "receipt": hash.to_ascii_lowercase(),
        "seq": check.seq,
        "counted": check.counted,
        "chain_seq": check.chain_seq,
        "chain_head": check.chain_head,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepresentativeBody {
    user_id: i64,
}

pub async fn name_representative(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<RepresentativeBody>,
) -> ApiResult<HttpResponse> {
    let user = UserId(body.into_inner().user_id);
    let actor = Actor::of(&state, caller).await?;
    let home = service::name_representative(&state, &actor, HouseholdId(path.into_inner()), user).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"household_id": home.id, "representative_id": user.0})))
}
