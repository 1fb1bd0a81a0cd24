//! Operations endpoints: liveness, readiness, Prometheus metrics, the OpenAPI contract.
//!
//! `/metrics` names every route, its traffic and the database pool: it is served only to a scraper
//! presenting `EHOME_METRICS_TOKEN` as a bearer token. Anyone else gets `401 UNAUTHENTICATED`, and
//! while no token is configured everyone does (the route stays in the table, so the answer is the same
//! whether or not a token exists).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::platform::error::{ApiError, ApiResult};
use crate::routes::Routes;
use crate::state::AppState;

/// The contract, compiled into the binary so that what is served is what was built.
pub const OPENAPI_YAML: &str = include_str!("../../../openapi.yaml");

pub fn routes(routes: &mut Routes<'_>) {
    routes.get("/healthz", healthz);
    routes.get("/readyz", readyz);
    routes.get("/metrics", metrics);
    routes.get("/openapi.yaml", openapi);
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Ready when the database answers, the shared cache answers and WeChat has not refused our
/// credentials. Without the database (known down, or no answer within the probe's timeout) it is
/// `503 not_ready` at once. Without the shared cache the instance still serves, degraded (DESIGN §7):
/// `200 degraded` with `cache: failing`, so a load balancer keeps every instance in rotation rather
/// than turning a Redis outage into a full one.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = if state.db_health.is_down() {
        Err("found down; the probe has not reached it since".to_owned())
    } else {
        state.db_health.probe().await
    };
    let cache = state.cache.ping().await.map_err(|err| err.to_string());
    let wechat = state.wechat.configuration_fault().map_or(Ok(()), Err);
    let ready = database.is_ok() && wechat.is_ok();
    let verdict = |outcome: &Result<(), String>| if outcome.is_ok() { "ok" } else { "failing" };
    for (name, outcome) in [("database", &database), ("cache", &cache), ("wechat", &wechat)] {
        if let Err(reason) = outcome {
            tracing::warn!(component = name, %reason, "not ready");
        }
    }
    let status = match (ready, cache.is_ok()) {
        (false, _) => "not_ready",
        (true, false) => "degraded",
        (true, true) => "ready",
    };
    let body = json!({
        "status": status,
        "database": verdict(&database),
        "cache": verdict(&cache),
        "cache_backend": state.cache.backend(),
        "wechat": verdict(&wechat),
    });
    if ready { HttpResponse::Ok().json(body) } else { HttpResponse::ServiceUnavailable().json(body) }
}

/// Compares digests, so the time taken says nothing about how much of the token was right.
fn same_token(presented: &str, expected: &str) -> bool {
    let (presented, expected) = (Sha256::digest(presented.as_bytes()), Sha256::digest(expected.as_bytes()));
    presented.iter().zip(expected.iter()).fold(0u8, |differ, (a, b)| differ | (a ^ b)) == 0
}

async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let presented = crate::identity::auth::jwt::bearer_token(req.headers());
    let allowed = match (&state.settings.security.metrics_token, presented) {
        (Some(expected), Some(presented)) => same_token(presented, expected.expose()),
        _ => false,
    };
    if !allowed {
        return Err(ApiError::Unauthenticated);
    }
    let (in_use, size) = crate::platform::db::pool_usage(&state.db);
    let text = state.metrics.render(in_use, size).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(text))
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/yaml").body(OPENAPI_YAML)
}
