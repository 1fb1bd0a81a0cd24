//! HTTP of the wallet: the caller's own points and history.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::{kept, service};
use crate::identity::auth::AuthUser;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::pagination::{LIMIT_DEFAULT, LIMIT_MAX, PageQuery};
use crate::points::HistoryCursor;
use crate::scenes::service_hours::hours::hours_text;
use crate::state::AppState;

pub async fn my_points(state: web::Data<AppState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    let kept = kept::wallet(&state, caller.id).await?;
    let wallet = &kept.wallet;
    Ok(HttpResponse::Ok().json(json!({
        "available": wallet.balance.available,
        "on_hold": wallet.balance.on_hold,
        "lifetime_earned": wallet.balance.lifetime_earned,
        "lifetime_hours": hours_text(wallet.lifetime_minutes),
        "expiring_90_days": wallet.expiring_90_days,
        "expiring": wallet.expiring,
    })))
}

pub async fn my_history(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let limit = query.limit.unwrap_or(LIMIT_DEFAULT);
    if !(1..=LIMIT_MAX).contains(&limit) {
        return Err(ApiError::validation("limit", format!("1 to {LIMIT_MAX}")));
    }
    let cursor = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(text) => Some(
            HistoryCursor::parse(text).ok_or_else(|| ApiError::validation("cursor", "not a cursor from this API"))?,
        ),
    };
    let (items, next_cursor) = service::history(&state, caller.id, cursor, limit).await?;
    Ok(HttpResponse::Ok().json(json!({"items": items, "next_cursor": next_cursor})))
}
