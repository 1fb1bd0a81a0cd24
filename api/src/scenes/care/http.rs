//! HTTP of the care round: bodies, and handlers that parse, load the caller, call one service function
//! and show the result. `POST /care/alerts` is the vendors' webhook: it reads the raw body, because the
//! signature is over the bytes as sent.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use ehome_entities::{care_device, care_task, care_visit};
use serde::Deserialize;
use serde_json::{Value, json};

use super::dashboard;
use super::lifecycle::{AlertKind, Circumstance, ConsentBy, DeviceKind, RiskLevel, TaskAction, VisitMode, Wellbeing};
use super::service::{self, Contact, NewRecipient, NewVisit, Recipient};
use super::signing::{self, SignedHeaders};
use super::tasks::{self, Alert};
use crate::authz::Actor;
use crate::domain::media_url::MediaUrl;
use crate::domain::{CommunityId, HouseholdId, Label, Note, Phone, UserId};
use crate::identity::auth::AuthUser;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::pagination::{CommunityPageQuery, PageQuery, page};
use crate::state::AppState;

const CONTACTS_MAX: usize = 5;
const KEY_CHARS_MAX: usize = 64;

fn word<T>(field: &str, text: &str, parse: fn(&str) -> Option<T>) -> ApiResult<T> {
    parse(text).ok_or_else(|| ApiError::validation(field, "not one of the documented words"))
}

fn key(field: &str, text: &str) -> ApiResult<String> {
    let ok = !text.is_empty() && text.chars().count() <= KEY_CHARS_MAX && text.chars().all(|c| c.is_ascii_graphic());
    if ok { Ok(text.to_owned()) } else { Err(ApiError::validation(field, "1 to 64 printable ASCII characters")) }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    name: String,
    relation: String,
    phone: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    household_id: i64,
    user_id: Option<i64>,
    name: String,
    circumstance: String,
    risk_level: String,
    consent_by: String,
    guardian_name: Option<String>,
    #[serde(default)]
    emergency_contacts: Vec<ContactBody>,
    visit_interval_days: Option<i32>,
}

fn parse_register(body: RegisterBody) -> ApiResult<NewRecipient> {
    if body.emergency_contacts.len() > CONTACTS_MAX {
        return Err(ApiError::validation("emergency_contacts", format!("at most {CONTACTS_MAX}")));
    }
    let consent_by = word("consent_by", &body.consent_by, ConsentBy::parse)?;
    if consent_by == ConsentBy::Guardian && body.guardian_name.is_none() {
        return Err(ApiError::validation("guardian_name", "required when the guardian consented"));
    }
    if body.visit_interval_days.is_some_and(|days| !(1..=90).contains(&days)) {
        return Err(ApiError::validation("visit_interval_days", "1 to 90"));
    }
    let mut contacts = Vec::new();
    for contact in body.emergency_contacts {
        let phone =
            Phone::parse(&contact.phone).map_err(|reason| ApiError::validation("emergency_contacts.phone", reason))?;
        let name = Label::parse("emergency_contacts.name", &contact.name)?.into_inner();
        let relation = Label::parse("emergency_contacts.relation", &contact.relation)?.into_inner();
        contacts.push((name, relation, phone));
    }
    Ok(NewRecipient {
        household_id: HouseholdId(body.household_id),
        user_id: body.user_id.map(UserId),
        name: Label::parse("name", &body.name)?.into_inner(),
        circumstance: word("circumstance", &body.circumstance, Circumstance::parse)?,
        risk_level: word("risk_level", &body.risk_level, RiskLevel::parse)?,
        consent_by,
        guardian_name: Label::parse_optional("guardian_name", body.guardian_name.as_deref())?.map(Label::into_inner),
        contacts,
        visit_interval_days: body.visit_interval_days,
    })
}

fn recipient_view(found: Recipient) -> Value {
    let row = found.row;
    let contacts: Vec<Contact> = serde_json::from_str(&row.emergency_contacts).unwrap_or_default();
    json!({
        "id": row.id,
        "community_id": row.community_id,
        "grid_id": row.grid_id,
        "building_id": row.building_id,
        "household_id": row.household_id,
        "user_id": row.user_id,
        "name": row.name,
        "circumstance": row.circumstance,
        "risk_level": row.risk_level,
        "consent": {"by": row.consent_by, "guardian_name": row.guardian_name, "recorded_at": row.consent_recorded_at},
        "emergency_contacts": contacts,
        "visit_interval_days": row.visit_interval_days,
        "last_visit_at": row.last_visit_at,
        "next_visit_due_at": row.next_visit_due_at,
        "missed_stage": row.missed_stage,
        "visitors": found.visitors,
        "devices": found.devices.into_iter().map(device_view).collect::<Vec<_>>(),
        "can_manage": found.access.manage,
        "can_visit": found.access.visit,
    })
}

fn device_view(device: care_device::Model) -> Value {
    json!({"id": device.id, "vendor": device.vendor, "device_id": device.device_key, "kind": device.kind, "created_at": device.created_at})
}

fn visit_view(visit: care_visit::Model) -> Value {
    json!({
        "id": visit.id, "recipient_id": visit.recipient_id, "visitor_id": visit.visitor_id,
        "visited_at": visit.visited_at, "mode": visit.mode, "wellbeing": visit.wellbeing,
        "note": visit.note, "photo_url": visit.photo_url, "request_id": visit.request_id,
    })
}

pub fn task_view(task: care_task::Model) -> Value {
    json!({
        "id": task.id, "community_id": task.community_id, "recipient_id": task.recipient_id,
        "task_kind": task.task_kind, "alert_kind": task.alert_kind, "status": task.status, "level": task.level,
        "events_count": task.events_count, "first_observed_at": task.first_observed_at,
        "last_observed_at": task.last_observed_at, "opened_at": task.opened_at, "ack_due_at": task.ack_due_at,
        "acknowledged_at": task.acknowledged_at, "escalated_at": task.escalated_at, "resolved_at": task.resolved_at,
    })
}

pub async fn register(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<RegisterBody>,
) -> ApiResult<HttpResponse> {
    let new = parse_register(body.into_inner())?;
    let actor = Actor::of(&state, caller).await?;
    let found = service::register(&state, &actor, new).await?;
    Ok(HttpResponse::Created().json(recipient_view(found)))
}

pub async fn list(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<CommunityPageQuery>,
) -> ApiResult<HttpResponse> {
    let (community, keyset) = query.into_inner().parts()?;
    let actor = Actor::of(&state, caller).await?;
    let rows = service::list(&state, &actor, community, &keyset).await?;
    Ok(HttpResponse::Ok().json(page(
        rows,
        keyset.limit,
        |r| r.id,
        |r| {
            json!({"id": r.id, "name": r.name, "risk_level": r.risk_level, "building_id": r.building_id,
            "next_visit_due_at": r.next_visit_due_at, "missed_stage": r.missed_stage})
        },
    )))
}

pub async fn detail(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let found = service::visible(&state, &actor, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(recipient_view(found)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisitorBody {
    user_id: i64,
}

pub async fn assign_visitor(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<VisitorBody>,
) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let found = service::assign_visitor(&state, &actor, path.into_inner(), UserId(body.user_id)).await?;
    Ok(HttpResponse::Ok().json(recipient_view(found)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceBody {
    vendor: String,
    device_id: String,
    kind: String,
}

pub async fn register_device(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<DeviceBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let (vendor, device_key) = (key("vendor", &body.vendor)?, key("device_id", &body.device_id)?);
    let kind = word("kind", &body.kind, DeviceKind::parse)?;
    let actor = Actor::of(&state, caller).await?;
    let device = service::register_device(&state, &actor, path.into_inner(), vendor, device_key, kind).await?;
    Ok(HttpResponse::Created().json(device_view(device)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisitBody {
    visited_at: Option<DateTime<Utc>>,
    mode: String,
    wellbeing: String,
    note: Option<String>,
    photo_url: Option<String>,
}

pub async fn log_visit(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<VisitBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let photo_url = match body.photo_url.as_deref() {
        Some(url) => Some(MediaUrl::parse("photo_url", url, &state.settings.security.media_hosts)?.into_inner()),
        None => None,
    };
    let visit = NewVisit {
        visited_at: body.visited_at,
        mode: word("mode", &body.mode, VisitMode::parse)?,
        wellbeing: word("wellbeing", &body.wellbeing, Wellbeing::parse)?,
        note: Note::parse_optional("note", body.note.as_deref())?,
        photo_url,
    };
    let actor = Actor::of(&state, caller).await?;
    let row = service::log_visit(&state, &actor, path.into_inner(), visit).await?;
    Ok(HttpResponse::Created().json(visit_view(row)))
}

pub async fn visits(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let keyset = query.keyset()?;
    let actor = Actor::of(&state, caller).await?;
    let rows = service::visits(&state, &actor, path.into_inner(), &keyset).await?;
    Ok(HttpResponse::Ok().json(page(rows, keyset.limit, |r| r.id, visit_view)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertBody {
    device_id: String,
    event_id: String,
    kind: String,
    observed_at: DateTime<Utc>,
}

fn header<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|value| value.to_str().ok())
}

/// The vendors' webhook: signature first (nothing is read from an unsigned body), then the body.
pub async fn receive_alert(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let headers = SignedHeaders {
        vendor: header(&request, "x-care-vendor"),
        timestamp: header(&request, "x-care-timestamp"),
        signature: header(&request, "x-care-signature"),
    };
    let vendor = signing::verify(&state.settings.care.vendor_secrets, headers, &body, state.clock.now())?;
    let parsed: AlertBody =
        serde_json::from_slice(&body).map_err(|err| ApiError::validation("body", err.to_string()))?;
    let alert = Alert {
        vendor,
        device_key: key("device_id", &parsed.device_id)?,
        event_id: key("event_id", &parsed.event_id)?,
        kind: word("kind", &parsed.kind, AlertKind::parse)?,
        observed_at: parsed.observed_at,
    };
    let received = tasks::receive(&state, alert).await?;
    let status = if received.opened { actix_web::http::StatusCode::CREATED } else { actix_web::http::StatusCode::OK };
    Ok(HttpResponse::build(status).json(json!({"task_id": received.task.id, "folded": !received.opened})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TasksQuery {
    community_id: i64,
    open: Option<bool>,
    cursor: Option<String>,
    limit: Option<u64>,
}

pub async fn list_tasks(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<TasksQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let keyset = PageQuery { cursor: query.cursor, limit: query.limit }.keyset()?;
    let actor = Actor::of(&state, caller).await?;
    let community = CommunityId(query.community_id);
    let rows = tasks::list(&state, &actor, community, query.open.unwrap_or(true), &keyset).await?;
    Ok(HttpResponse::Ok().json(page(rows, keyset.limit, |r| r.id, task_view)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardQuery {
    months: Option<u32>,
}

async fn load_dashboard(
    state: &AppState,
    caller: AuthUser,
    community: i64,
    query: DashboardQuery,
) -> ApiResult<dashboard::Dashboard> {
    let months = query.months.unwrap_or(dashboard::MONTHS_DEFAULT);
    if !(1..=dashboard::MONTHS_MAX).contains(&months) {
        return Err(ApiError::validation("months", format!("1 to {}", dashboard::MONTHS_MAX)));
    }
    let actor = Actor::of(state, caller).await?;
    dashboard::dashboard(state, &actor, CommunityId(community), months).await
}

pub async fn dashboard(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<DashboardQuery>,
) -> ApiResult<HttpResponse> {
    let found = load_dashboard(&state, caller, path.into_inner(), query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(found))
}

pub async fn dashboard_csv(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<DashboardQuery>,
) -> ApiResult<HttpResponse> {
    let community = path.into_inner();
    let found = load_dashboard(&state, caller, community, query.into_inner()).await?;
    let filename = format!("care-dashboard-{community}-{}.csv", found.week.from);
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((actix_web::http::header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")))
        .body(dashboard::to_csv(&found)?))
}

async fn act(state: web::Data<AppState>, caller: AuthUser, id: i64, action: TaskAction) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let task = tasks::act(&state, &actor, id, action).await?;
    Ok(HttpResponse::Ok().json(task_view(task)))
}

pub async fn acknowledge(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    act(state, caller, path.into_inner(), TaskAction::Acknowledge).await
}

pub async fn resolve(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    act(state, caller, path.into_inner(), TaskAction::Resolve).await
}
