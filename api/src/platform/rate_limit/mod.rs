//! Rate limits on sign-in, on writes and on reads, per client address and per signed-in user. Sign-ins
//! and writes are counted in the shared cache on each request, so every API instance sees the same
//! counts at once; reads are counted in each instance and shared once a second (`reads.rs`), which
//! spares a cache round trip on the requests residents make most. Over the limit: 429 with
//! `Retry-After`. The client address is the one the request context resolved (the TCP peer, or the
//! forwarded client behind a trusted proxy). Without the shared cache the limits fail open, logged
//! and counted; the counters that guard a one-time code fail closed ([`check_in_or_refuse`]).

mod reads;

pub use reads::{ReadCounts, spawn_exchange};

use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};

use crate::identity::auth::jwt::bearer_token;
use crate::platform::cache::{self, Hit, WindowCount};
use crate::platform::error::ApiError;
use crate::platform::metrics::Degraded;
use crate::platform::middleware::ClientAddr;
use crate::state::AppState;

const WINDOW: Duration = Duration::from_secs(60);

/// Counts one hit under each key, in order, in one round trip; an error when a window already holds
/// its limit of hits (a hit refused by one counter is not counted by the next). When the shared cache
/// does not answer, the limits fail open (DESIGN §7): the request passes, with a warning in the log and
/// `cache_degraded_total{feature="rate_limit",outcome="fail_open"}` counted.
async fn check_all(state: &AppState, limits: &[(&str, u32, Duration)]) -> Result<(), ApiError> {
    let hits: Vec<Hit<'_>> =
        limits.iter().map(|(key, limit, window)| Hit { key, window: *window, limit: u64::from(*limit) }).collect();
    match state.cache.hits(&hits).await {
        Ok(counted) => {
            counted.into_iter().zip(limits).try_for_each(|(window, (_, limit, _))| refuse_over(window, *limit))
        }
        Err(err) => {
            let keys: Vec<&str> = limits.iter().map(|(key, _, _)| *key).collect();
            tracing::warn!(error = %err, ?keys, "rate limit not counted: the shared cache does not answer; failing open");
            state.metrics.cache_degraded("rate_limit", Degraded::FailOpen);
            Ok(())
        }
    }
}

/// As [`check_all`] for one counter that guards a secret (a one-time code's attempts): when the shared
/// cache does not answer, the request is refused with `503` (fail closed), since an uncounted guess
/// is what the limit exists to prevent.
pub async fn check_in_or_refuse(state: &AppState, key: &str, limit: u32, window: Duration) -> Result<(), ApiError> {
    match cache::hit(state.cache.as_ref(), key, window).await {
        Ok(window) => refuse_over(window, limit),
        Err(err) => {
            tracing::warn!(error = %err, key, "attempt limit not counted: the shared cache does not answer; refusing");
            state.metrics.cache_degraded("code_attempts", Degraded::FailClosed);
            Err(ApiError::Unavailable("shared cache".to_owned()))
        }
    }
}

fn refuse_over(window: WindowCount, limit: u32) -> Result<(), ApiError> {
    if window.count > u64::from(limit) {
        let retry_after_seconds = window.resets_in.as_secs().max(1);
        return Err(ApiError::RateLimited { retry_after_seconds });
    }
    Ok(())
}

fn is_write(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
}

fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD)
}

fn is_login(path: &str) -> bool {
    path.ends_with("/auth/wechat/login") || path.ends_with("/auth/dev-login")
}

/// A write with a counter of its own per user beside the write limits, counted in the same round
/// trip: (kind, limit, window). Submitting a 邻办事 request: `REQUEST_SUBMISSIONS_PER_HOUR` an hour.
fn own_limit_of(req: &ServiceRequest, state: &AppState) -> Option<(&'static str, u32, Duration)> {
    let submits = *req.method() == Method::POST && req.path().trim_end_matches('/') == "/api/v1/requests";
    submits.then_some(("requests", state.settings.requests.submissions_per_hour, HOUR))
}

const HOUR: Duration = Duration::from_secs(3600);

/// Which limits a request counts against: (kind, limit per address, limit per user). Sign-ins are not
/// counted per user (there is none yet); operations endpoints (probes, metrics) are not limited.
fn limits_for(req: &ServiceRequest, state: &AppState) -> Option<(&'static str, u32, Option<u32>)> {
    let limits = &state.settings.rate_limits;
    if is_write(req.method()) {
        if is_login(req.path()) {
            return Some(("login", limits.login_per_ip_per_minute, None));
        }
        return Some(("write", limits.writes_per_ip_per_minute, Some(limits.writes_per_user_per_minute)));
    }
    if is_read(req.method()) && req.path().starts_with("/api/") {
        return Some(("read", limits.reads_per_ip_per_minute, Some(limits.reads_per_user_per_minute)));
    }
    None
}

pub async fn limit_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let Some((kind, per_address, per_user)) = limits_for(&req, &state) else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let client = req.extensions().get::<ClientAddr>().copied().unwrap_or(ClientAddr(None));
    let now = state.clock.now();
    let user = per_user.and_then(|limit| {
        let token = bearer_token(req.headers())?;
        state.jwt.verify_access(token, now.timestamp()).ok().map(|user_id| (user_id, limit))
    });
    let outcome = if kind == "read" {
        let address_key = format!("read:ip:{client}");
        let user_key = user.map(|(user_id, limit)| (format!("read:user:{user_id}"), limit));
        let mut keys = vec![(address_key.as_str(), per_address)];
        keys.extend(user_key.as_ref().map(|(key, limit)| (key.as_str(), *limit)));
        state
            .read_counts
            .hit(&keys, now)
            .map_err(|over| ApiError::RateLimited { retry_after_seconds: over.retry_after_seconds })
    } else {
        let own = own_limit_of(&req, &state);
        count_in_cache(&state, kind, client, per_address, user, own).await
    };
    match outcome {
        Ok(()) => next.call(req).await.map(ServiceResponse::map_into_boxed_body),
        Err(err) => Ok(req.error_response(err)),
    }
}

/// A sign-in or a write, counted in the shared cache per address, then per user, then by the user's
/// own counter of the route if it has one, in one round trip.
async fn count_in_cache(
    state: &AppState,
    kind: &str,
    client: ClientAddr,
    per_address: u32,
    user: Option<(i64, u32)>,
    own: Option<(&str, u32, Duration)>,
) -> Result<(), ApiError> {
    let address_key = format!("rl:{kind}:ip:{client}");
    let user_key = user.map(|(user_id, per_user)| (format!("rl:{kind}:user:{user_id}"), per_user));
    let own_key =
        user.zip(own).map(|((user_id, _), (own, limit, window))| (format!("rl:{own}:user:{user_id}"), limit, window));
    let mut limits = vec![(address_key.as_str(), per_address, WINDOW)];
    limits.extend(user_key.as_ref().map(|(key, per_user)| (key.as_str(), *per_user, WINDOW)));
    limits.extend(own_key.as_ref().map(|(key, limit, window)| (key.as_str(), *limit, *window)));
    check_all(state, &limits).await
}
