//! HTTP of settlement with shops: bodies and handlers that parse, load the caller, call
//! `service.rs` (or `report.rs`) and show the result (`views.rs`).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use serde::Deserialize;

use super::report;
use super::rounding::Rate;
use super::service::{self, BankReference, Period};
use super::views;
use crate::authz::Actor;
use crate::domain::{CommunityId, MerchantId, SettlementId};
use crate::identity::auth::AuthUser;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::pagination::{PageQuery, page};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateBody {
    /// ¥ per point, decimal text ("0.10").
    rate: String,
}

pub async fn get_rate(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let community = path.into_inner();
    let actor = Actor::of(&state, caller).await?;
    let row = service::rate(&state, &actor, CommunityId(community)).await?;
    Ok(HttpResponse::Ok().json(views::rate_json(community, row)))
}

pub async fn put_rate(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<RateBody>,
) -> ApiResult<HttpResponse> {
    let community = path.into_inner();
    let rate = Rate::parse(&body.rate).map_err(|reason| ApiError::validation("rate", reason))?;
    let actor = Actor::of(&state, caller).await?;
    let row = service::set_rate(&state, &actor, CommunityId(community), rate).await?;
    Ok(HttpResponse::Ok().json(views::rate_json(community, Some(row))))
}

/// A period of whole days in Asia/Shanghai, both included.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodBody {
    from: NaiveDate,
    to: NaiveDate,
}

pub async fn draft(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<PeriodBody>,
) -> ApiResult<HttpResponse> {
    let period = Period::new(body.from, body.to)?;
    let actor = Actor::of(&state, caller).await?;
    let statement = service::draft(&state, &actor, MerchantId(path.into_inner()), period).await?;
    Ok(HttpResponse::Created().json(views::statement_json(&statement)))
}

pub async fn list(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let keyset = query.keyset()?;
    let actor = Actor::of(&state, caller).await?;
    let rows =
        service::of_merchant(&state, &actor, MerchantId(path.into_inner()), keyset.after_id, keyset.limit).await?;
    Ok(HttpResponse::Ok().json(page(rows, keyset.limit, |r| r.id, |r| views::summary_json(&r))))
}

pub async fn get(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let statement = service::statement(&state, &actor, SettlementId(path.into_inner())).await?;
    Ok(HttpResponse::Ok().json(views::statement_json(&statement)))
}

fn csv_response(filename: &str, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")))
        .body(body)
}

pub async fn get_csv(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let statement = service::statement(&state, &actor, SettlementId(path.into_inner())).await?;
    let filename = format!("settlement-{}.csv", statement.row.id);
    Ok(csv_response(&filename, views::statement_csv(&statement)))
}

pub async fn approve(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let statement = service::approve(&state, &actor, SettlementId(path.into_inner())).await?;
    Ok(HttpResponse::Ok().json(views::statement_json(&statement)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaidBody {
    bank_reference: String,
}

pub async fn paid(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<PaidBody>,
) -> ApiResult<HttpResponse> {
    let reference = BankReference::parse(&body.bank_reference)?;
    let actor = Actor::of(&state, caller).await?;
    let statement = service::mark_paid(&state, &actor, SettlementId(path.into_inner()), reference).await?;
    Ok(HttpResponse::Ok().json(views::statement_json(&statement)))
}

pub async fn cancel(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let statement = service::cancel(&state, &actor, SettlementId(path.into_inner())).await?;
    Ok(HttpResponse::Ok().json(views::statement_json(&statement)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    from: NaiveDate,
    to: NaiveDate,
}

async fn alliance_report(
    state: &AppState,
    caller: AuthUser,
    community: i64,
    query: &PeriodQuery,
) -> ApiResult<report::AllianceReport> {
    let period = Period::new(query.from, query.to)?;
    let actor = Actor::of(state, caller).await?;
    report::alliance_report(state, &actor, CommunityId(community), period).await
}

pub async fn report_json(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<PeriodQuery>,
) -> ApiResult<HttpResponse> {
    let report = alliance_report(&state, caller, path.into_inner(), &query).await?;
    Ok(HttpResponse::Ok().json(report))
}

pub async fn report_csv(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<PeriodQuery>,
) -> ApiResult<HttpResponse> {
    let report = alliance_report(&state, caller, path.into_inner(), &query).await?;
    let filename = format!("alliance-{}-{}-{}.csv", report.community_id, report.from, report.to);
    Ok(csv_response(&filename, views::report_csv(&report)))
}
