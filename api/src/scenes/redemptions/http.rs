//! HTTP of redemption at the counter: bodies, views, and handlers that parse, load the caller, call
//! `service.rs` and show the result.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use ehome_entities::redemption;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::service::{self, Books, Issued};
use crate::authz::Actor;
use crate::domain::{MerchantId, Note, OfferId, RedemptionId};
use crate::identity::auth::AuthUser;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::pagination::{PageQuery, page};
use crate::points::points_text;
use crate::state::AppState;

/// The most of one offer a single code may be for.
const QUANTITY_MAX: i64 = 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueBody {
    offer_id: i64,
    quantity: Option<i64>,
}

#[derive(Debug, Serialize)]
struct RedemptionView {
    id: i64,
    merchant_id: i64,
    offer_id: i64,
    quantity: i64,
    points: String,
    status: String,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    captured_at: Option<DateTime<Utc>>,
    refunded_at: Option<DateTime<Utc>>,
    refund_reason: Option<String>,
    end_reason: Option<String>,
    capture_transfer_id: Option<String>,
    refund_transfer_id: Option<String>,
}

fn view(row: redemption::Model) -> RedemptionView {
    RedemptionView {
        id: row.id,
        merchant_id: row.merchant_id,
        offer_id: row.offer_id,
        quantity: row.quantity,
        points: points_text(row.amount_minor),
        status: row.status,
        issued_at: row.issued_at,
        expires_at: row.expires_at,
        captured_at: row.captured_at,
        refunded_at: row.refunded_at,
        refund_reason: row.refund_reason,
        end_reason: row.end_reason,
        capture_transfer_id: row.capture_transfer_id,
        refund_transfer_id: row.refund_transfer_id,
    }
}

fn issued_json(issued: Issued) -> serde_json::Value {
    let row = &issued.redemption;
    let qr = format!("ehome://redeem?merchant={}&code={}", row.merchant_id, row.code);
    json!({
        "id": row.id,
        "code": row.code,
        "qr_payload": qr,
        "expires_at": row.expires_at,
        "merchant": {"id": issued.merchant.id, "name": issued.merchant.name},
        "offer": {"id": issued.offer.id, "title": issued.offer.title},
        "quantity": row.quantity,
        "points": points_text(row.amount_minor),
        "status": row.status,
    })
}

pub async fn issue(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<IssueBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let quantity = body.quantity.unwrap_or(1);
    if !(1..=QUANTITY_MAX).contains(&quantity) {
        return Err(ApiError::validation("quantity", format!("1 to {QUANTITY_MAX}")));
    }
    let actor = Actor::of(&state, caller).await?;
    let issued = service::issue(&state, &actor, OfferId(body.offer_id), quantity).await?;
    Ok(HttpResponse::Created().json(issued_json(issued)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureBody {
    code: String,
    merchant_id: Option<i64>,
}

/// Eight digits, as printed and as a QR payload carries them.
fn parse_code(raw: &str) -> ApiResult<&str> {
    let code = raw.trim();
    if code.len() != 8 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::validation("code", "eight digits"));
    }
    Ok(code)
}

pub async fn capture(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<CaptureBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let code = parse_code(&body.code)?;
    let actor = Actor::of(&state, caller).await?;
    let captured = service::capture(&state, &actor, code, body.merchant_id.map(MerchantId)).await?;
    Ok(HttpResponse::Ok().json(view(captured)))
}

pub async fn cancel(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let cancelled = service::cancel(&state, &actor, RedemptionId(path.into_inner())).await?;
    Ok(HttpResponse::Ok().json(view(cancelled)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    reason: Option<String>,
}

pub async fn refund(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<RefundBody>,
) -> ApiResult<HttpResponse> {
    let reason = Note::parse_optional("reason", body.into_inner().reason.as_deref())?;
    let actor = Actor::of(&state, caller).await?;
    let refunded = service::refund(&state, &actor, RedemptionId(path.into_inner()), reason).await?;
    Ok(HttpResponse::Ok().json(view(refunded)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BooksQuery {
    /// A day in Asia/Shanghai, `YYYY-MM-DD`; today when absent.
    date: Option<NaiveDate>,
}

fn books_json(books: Books) -> serde_json::Value {
    let sum = |rows: &[redemption::Model]| rows.iter().map(|r| r.amount_minor).sum::<i64>();
    let (captured_minor, refunded_minor) = (sum(&books.captured), sum(&books.refunded));
    json!({
        "merchant_id": books.merchant.id,
        "date": books.day.to_string(),
        "totals": {"count": books.captured.len(), "points": points_text(captured_minor)},
        "refunds": {"count": books.refunded.len(), "points": points_text(refunded_minor)},
        "unsettled_points": points_text(books.unsettled_minor),
        "redemptions": books.captured.into_iter().map(view).collect::<Vec<_>>(),
        "refunded": books.refunded.into_iter().map(view).collect::<Vec<_>>(),
    })
}

pub async fn books(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<BooksQuery>,
) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let books = service::books(&state, &actor, MerchantId(path.into_inner()), query.date).await?;
    Ok(HttpResponse::Ok().json(books_json(books)))
}

pub async fn mine(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let keyset = query.keyset()?;
    let actor = Actor::of(&state, caller).await?;
    let rows = service::mine(&state, &actor, keyset.after_id, keyset.limit).await?;
    // The resident's own codes, with the code itself (shown again on their screen until used).
    let shown = |row: redemption::Model| {
        let code = row.code.clone();
        let mut value = serde_json::to_value(view(row)).unwrap_or_default();
        value["code"] = json!(code);
        value
    };
    Ok(HttpResponse::Ok().json(page(rows, keyset.limit, |r| r.id, shown)))
}
