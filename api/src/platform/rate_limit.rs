//! Rate limits on sign-in and on writes, per IP address and per signed-in user, counted in the shared
//! cache so that every API instance sees the same counts. Over the limit: 429 with `Retry-After`.

use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, web};

use crate::identity::auth::jwt::bearer_token;
use crate::platform::cache::Cache;
use crate::platform::error::ApiError;
use crate::state::AppState;

const WINDOW: Duration = Duration::from_secs(60);

/// Counts one hit under `key`; an error when the minute already holds `limit` hits.
pub async fn check(cache: &Cache, key: &str, limit: u32) -> Result<(), ApiError> {
    check_in(cache, key, limit, WINDOW).await
}

/// Counts one hit under `key`; an error when the window already holds `limit` hits.
pub async fn check_in(cache: &Cache, key: &str, limit: u32, window: Duration) -> Result<(), ApiError> {
    let window = cache.hit(key, window).await?;
    if window.count > u64::from(limit) {
        let retry_after_seconds = window.resets_in.as_secs().max(1);
        return Err(ApiError::RateLimited { retry_after_seconds });
    }
    Ok(())
}

fn is_write(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
}

fn is_login(path: &str) -> bool {
    path.ends_with("/auth/wechat/login") || path.ends_with("/auth/dev-login")
}

pub async fn limit_writes(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if !is_write(req.method()) {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    // The peer address, not a forwarded header a client could forge.
    let ip = req.peer_addr().map(|addr| addr.ip().to_string()).unwrap_or_else(|| "unknown".to_owned());
    let limits = &state.settings.rate_limits;
    let mut outcome = if is_login(req.path()) {
        check(&state.cache, &format!("rl:login:ip:{ip}"), limits.login_per_ip_per_minute).await
    } else {
        check(&state.cache, &format!("rl:write:ip:{ip}"), limits.writes_per_ip_per_minute).await
    };
    if outcome.is_ok() {
        let user = bearer_token(req.headers()).and_then(|token| state.jwt.verify_access(token).ok());
        if let Some(user_id) = user {
            outcome = check(&state.cache, &format!("rl:write:user:{user_id}"), limits.writes_per_user_per_minute).await;
        }
    }
    match outcome {
        Ok(()) => next.call(req).await.map(ServiceResponse::map_into_boxed_body),
        Err(err) => Ok(req.error_response(err)),
    }
}
