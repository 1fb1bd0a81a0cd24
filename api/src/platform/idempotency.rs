//! `Idempotency-Key`: a client may name any POST that creates or changes something with a key of its
//! choosing, and a repeat of the same request with the same key (a retry after a timeout, a reset
//! connection, a killed instance, a double tap) gets the first answer again — status and body —
//! instead of running twice. The same key with another body is `409 IDEMPOTENCY_KEY_REUSED`; a repeat
//! while the first is still running is `409 IDEMPOTENCY_KEY_IN_PROGRESS`; a repeat of a first request
//! that never answered (its instance died, or its answer could not be kept) is `409
//! IDEMPOTENCY_KEY_IN_DOUBT`: it may have committed, so it is never run again under that key. A first
//! request is taken for one that will never answer once its instance stops renewing its heartbeat in
//! the cache (a SIGKILL: within [`ALIVE_FOR`]) or [`IN_PROGRESS_FOR`] after it began, whichever comes
//! first. Keys are per user and kept in the shared cache for a day, so every instance sees them.
//!
//! Successful answers are kept. An error that changed nothing (refused, or its transaction rolled
//! back) lets go of the key, so a retry with it runs again; one that may hide a commit (`500`, `503
//! DATABASE_UNAVAILABLE`: the connection broke, perhaps while committing) leaves the key in doubt.
//!
//! Which routes: every POST under `/api/v1` except the few in [`NOT_COVERED`], so a scene's new POST
//! is covered the day it lands (a test holds the route table, this rule and `openapi.yaml` together).
//! PUT, PATCH and DELETE set or remove a state and are safe to repeat as they are.
//!
//! When the shared cache is down (DESIGN §7): a request that moves points, money or a vote
//! ([`FAIL_CLOSED`]) is refused with `503` — better refused than redeemed twice; any other keyed
//! request runs unguarded (logged and counted as failing open) — a resident's report or comment
//! should not be refused for want of a cache, and the worst a retry can do is a second copy that the
//! committee closes as a duplicate.

use std::sync::OnceLock;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::identity::auth::jwt::bearer_token;
use crate::platform::cache::Cache;
use crate::platform::error::ApiError;
use crate::platform::metrics::Degraded;
use crate::platform::shutdown::Shutdown;
use crate::state::AppState;

/// The header a client names its request with.
pub const HEADER: &str = "idempotency-key";
/// The header on a replayed answer.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// The POSTs under `/api/v1` that do not honour `Idempotency-Key` (`{…}` matches one path segment):
/// sign-in and tokens, whose answers carry tokens that must not be kept in a shared cache nor handed
/// out twice (a refresh token works once), and which have no signed-in caller to key on; the device
/// vendors' webhook, signed rather than signed in, whose alerts carry their own event id; the ledger
/// check, which writes nothing and whose replay would repeat a stale verdict; and the phone binding,
/// which sets rather than creates and whose answer (the full phone number) stays out of the cache.
pub const NOT_COVERED: &[(&str, &str)] = &[
    ("POST", "/api/v1/auth/wechat/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/dev-login"),
    ("POST", "/api/v1/care/alerts"),
    ("POST", "/api/v1/ledger/verify"),
    ("POST", "/api/v1/me/phone"),
];

/// The covered routes that are refused (`503`) rather than run unguarded while the shared cache is
/// down: every POST that moves points or money (a merchant's suspension releases its codes' holds; a
/// settlement statement claims redemptions, retires points and pays CNY) or casts a vote. A scene
/// whose POST moves points adds it here.
pub const FAIL_CLOSED: &[(&str, &str)] = &[
    ("POST", "/api/v1/merchants/{id}/transitions"),
    ("POST", "/api/v1/redemptions/codes"),
    ("POST", "/api/v1/redemptions"),
    ("POST", "/api/v1/redemptions/{id}/cancel"),
    ("POST", "/api/v1/redemptions/{id}/refund"),
    ("POST", "/api/v1/activities/{id}/hours/approve"),
    ("POST", "/api/v1/activities/{id}/hours/{signup_id}/adjust"),
    ("POST", "/api/v1/help-posts"),
    ("POST", "/api/v1/help-posts/{id}/confirm"),
    ("POST", "/api/v1/help-posts/{id}/cancel"),
    ("POST", "/api/v1/help-posts/{id}/decision"),
    ("POST", "/api/v1/merchants/{id}/settlements"),
    ("POST", "/api/v1/settlements/{id}/approve"),
    ("POST", "/api/v1/settlements/{id}/paid"),
    ("POST", "/api/v1/settlements/{id}/cancel"),
    ("POST", "/api/v1/polls/{id}/ballots"),
    ("POST", "/api/v1/polls/{id}/proxy-ballots"),
];

const KEY_CHARS_MAX: usize = 128;
const KEPT_FOR: Duration = Duration::from_secs(24 * 3600);
/// How long a first request may run before a repeat takes it for one that will never answer (its
/// instance died): far longer than any request runs, short enough for a client to learn it soon.
pub const IN_PROGRESS_FOR: Duration = Duration::from_secs(60);

/// How often an instance says in the cache that it is alive, and how long that lasts: a marker whose
/// instance has not said so within [`ALIVE_FOR`] belongs to a request that will never answer.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
pub const ALIVE_FOR: Duration = Duration::from_secs(10);

/// This process's name in the markers it leaves (a process is what SIGKILL ends).
fn instance() -> &'static str {
    static INSTANCE: OnceLock<String> = OnceLock::new();
    INSTANCE.get_or_init(|| uuid::Uuid::new_v4().simple().to_string())
}

fn alive_key(instance: &str) -> String {
    format!("idem:instance:{instance}")
}

/// Renews this instance's heartbeat until shutdown (after the requests in flight have drained).
pub fn spawn_heartbeat(cache: Cache, shutdown: &Shutdown) {
    shutdown.every("idempotency heartbeat", HEARTBEAT_EVERY, move || {
        let cache = cache.clone();
        async move {
            if let Err(err) = cache.set(&alive_key(instance()), "1", Some(ALIVE_FOR)).await {
                tracing::debug!(error = %err, "could not renew the idempotency heartbeat");
            }
        }
    });
}

/// Whether `path` matches the template (`{…}` is one segment).
fn matches(template: &str, path: &str) -> bool {
    let (mut t, mut p) = (template.split('/'), path.split('/'));
    loop {
        match (t.next(), p.next()) {
            (None, None) => return true,
            (Some(want), Some(got)) if want.starts_with('{') && !got.is_empty() => {}
            (Some(want), Some(got)) if want == got => {}
            _ => return false,
        }
    }
}

fn listed(routes: &[(&str, &str)], method: &str, path: &str) -> bool {
    routes.iter().any(|(m, template)| *m == method && matches(template, path))
}

/// Whether the route honours `Idempotency-Key`: every POST under `/api/v1` but [`NOT_COVERED`].
pub fn applies_to(method: &str, path: &str) -> bool {
    method == "POST" && path.starts_with("/api/v1/") && !listed(NOT_COVERED, method, path)
}

/// Whether a keyed request on the route is refused while the shared cache is down.
pub fn fails_closed(method: &str, path: &str) -> bool {
    listed(FAIL_CLOSED, method, path)
}

/// What the cache holds under a key.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    /// SHA-256 of method, path and body: the same key must come with the same request.
    request: String,
    /// `None` while the first request runs.
    status: Option<u16>,
    body: Option<String>,
    /// When the first request began (Unix seconds); a marker without an answer older than
    /// [`IN_PROGRESS_FOR`] belongs to a request that will never answer.
    #[serde(default)]
    started_at: i64,
    /// The instance running the first request (empty once answered).
    #[serde(default)]
    owner: String,
}

fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update(b"\n");
    hasher.update(path.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hex::encode(hasher.finalize())
}

fn unavailable(err: impl std::fmt::Display) -> ApiError {
    tracing::warn!(error = %err, "idempotency cache unavailable");
    ApiError::Unavailable("idempotency cache".to_owned())
}

/// The middleware: for a covered route with a key and a signed-in caller, replays or runs once.
pub async fn replay(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let key = req.headers().get(HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (Some(key), Some(state)) = (key, state) else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    if !applies_to(req.method().as_str(), req.path()) {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let now = state.clock.now().timestamp();
    let Some(user) = bearer_token(req.headers()).and_then(|token| state.jwt.verify_access(token, now).ok()) else {
        // Not signed in: the handler answers 401.
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    if key.is_empty() || key.len() > KEY_CHARS_MAX || !key.bytes().all(|b| b.is_ascii_graphic()) {
        let refused = ApiError::validation("Idempotency-Key", format!("1 to {KEY_CHARS_MAX} visible ASCII characters"));
        return Ok(req.error_response(refused));
    }
    let body = match req.extract::<web::Bytes>().await {
        Ok(body) => body,
        Err(err) => return Ok(req.error_response(err)),
    };
    let request = fingerprint(req.method().as_str(), req.path(), &body);
    let cache_key = format!("idem:user:{user}:{key}");
    let guarded = match start(&state.cache, &cache_key, &request, now).await {
        Ok(Start::Run) => true,
        Ok(Start::Replay { status, body }) => return Ok(req.into_response(replayed(status, body))),
        Err(ApiError::Unavailable(_)) if !fails_closed(req.method().as_str(), req.path()) => {
            tracing::warn!(path = req.path(), "idempotency cache unavailable; running the request unguarded");
            state.metrics.cache_degraded("idempotency", Degraded::FailOpen);
            false
        }
        Err(refused) => {
            if matches!(refused, ApiError::Unavailable(_)) {
                state.metrics.cache_degraded("idempotency", Degraded::FailClosed);
            }
            return Ok(req.error_response(refused));
        }
    };
    req.set_payload(Payload::Stream { payload: Box::pin(futures::stream::once(async move { Ok(body) })) });
    let response = next.call(req).await?.map_into_boxed_body();
    if !guarded {
        return Ok(response);
    }
    keep(&state, &cache_key, request, response).await
}

/// What a request with a key does.
#[derive(Debug, PartialEq, Eq)]
enum Start {
    /// The first with this key: run it (the key is now marked as running).
    Run,
    /// A repeat of a request that succeeded: answer as it did.
    Replay { status: u16, body: String },
}

/// Marks the key as running, or finds why not: a repeat to replay, another request under the same
/// key, one still running, one that will never answer. A cache that does not answer is
/// [`ApiError::Unavailable`]; the caller decides whether that refuses the request.
async fn start(cache: &Cache, cache_key: &str, request: &str, now: i64) -> Result<Start, ApiError> {
    let owner = instance().to_owned();
    let running = Entry { request: request.to_owned(), status: None, body: None, started_at: now, owner };
    let running = serde_json::to_string(&running).map_err(ApiError::internal)?;
    // The marker lives as long as an answer would: if its instance dies after committing, a repeat
    // must find it (in doubt) rather than run again.
    if cache.set_if_absent(cache_key, &running, KEPT_FOR).await.map_err(unavailable)? {
        return Ok(Start::Run);
    }
    // Gone between the two calls (the first failed and let go): a retry runs it again.
    let Some(text) = cache.get(cache_key).await.map_err(unavailable)? else {
        return Err(ApiError::IdempotencyKeyInProgress);
    };
    let entry = serde_json::from_str::<Entry>(&text).map_err(ApiError::internal)?;
    if entry.request != request {
        return Err(ApiError::IdempotencyKeyReused);
    }
    if let (Some(status), Some(body)) = (entry.status, &entry.body) {
        return Ok(Start::Replay { status, body: body.clone() });
    }
    if still_running(cache, &entry, now).await? {
        return Err(ApiError::IdempotencyKeyInProgress);
    }
    Err(ApiError::IdempotencyKeyInDoubt)
}

/// Whether the first request under a marker may still answer: begun less than [`IN_PROGRESS_FOR`] ago
/// on an instance whose heartbeat is current.
async fn still_running(cache: &Cache, entry: &Entry, now: i64) -> Result<bool, ApiError> {
    if now.saturating_sub(entry.started_at) >= IN_PROGRESS_FOR.as_secs() as i64 {
        return Ok(false);
    }
    if entry.owner.is_empty() {
        return Ok(true);
    }
    Ok(cache.get(&alive_key(&entry.owner)).await.map_err(unavailable)?.is_some())
}

fn replayed(status: u16, body: String) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::OK))
        .insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")))
        .insert_header((REPLAYED_HEADER, HeaderValue::from_static("true")))
        .body(body)
}

/// Whether a failed answer may hide a committed write: the connection to the database broke (perhaps
/// while committing, its acknowledgement lost) or something unforeseen failed. Every other error is
/// answered before a commit or instead of one (its transaction rolled back).
fn outcome_unknown(response: &ServiceResponse<BoxBody>) -> bool {
    if response.status() == StatusCode::INTERNAL_SERVER_ERROR {
        return true;
    }
    let error = response.response().error().and_then(|err| err.as_error::<ApiError>());
    error.is_some_and(|err| matches!(err, ApiError::DatabaseUnavailable(_)))
}

/// Keeps a successful answer for replays. After a failure that changed nothing it lets go of the key,
/// so a retry runs again; after one that may have committed it leaves the key in doubt, so a retry is
/// never a second copy.
async fn keep(
    state: &AppState,
    cache_key: &str,
    request: String,
    response: ServiceResponse<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if !response.status().is_success() {
        let kept = if outcome_unknown(&response) {
            // Begun "at the epoch" by nobody: past `IN_PROGRESS_FOR`, so a repeat is told it is in doubt.
            let doubt = Entry { request, status: None, body: None, started_at: 0, owner: String::new() };
            match serde_json::to_string(&doubt) {
                Ok(text) => state.cache.set(cache_key, &text, Some(KEPT_FOR)).await,
                Err(err) => Err(crate::platform::cache::CacheError::Corrupt(err.to_string())),
            }
        } else {
            state.cache.delete(cache_key).await
        };
        if let Err(err) = kept {
            tracing::warn!(error = %err, "could not settle an idempotency key after a failure");
        }
        return Ok(response);
    }
    let status = response.status();
    let (http_request, http_response) = response.into_parts();
    let (head, body) = http_response.into_parts();
    let bytes = actix_web::body::to_bytes(body).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let entry = Entry { request, status: Some(status.as_u16()), body: Some(text), started_at: 0, owner: String::new() };
    match serde_json::to_string(&entry) {
        Ok(stored) => {
            if let Err(err) = state.cache.set(cache_key, &stored, Some(KEPT_FOR)).await {
                tracing::error!(error = %err, "could not keep an idempotent answer; a repeat will be told it is in doubt");
            }
        }
        Err(err) => tracing::error!(error = %err, "could not encode an idempotent answer"),
    }
    let response = head.set_body(BoxBody::new(bytes));
    Ok(ServiceResponse::new(http_request, response))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::platform::cache::{MemoryCache, UnreachableCache};

    #[tokio::test]
    async fn a_cache_that_does_not_answer_is_unavailable() {
        let cache: Cache = Arc::new(UnreachableCache);
        assert!(matches!(start(&cache, "k", "r", 0).await, Err(ApiError::Unavailable(_))));
    }

    /// A cache in which this instance's heartbeat is current.
    async fn alive() -> Cache {
        let cache: Cache = Arc::new(MemoryCache::new("t:"));
        cache.set(&alive_key(instance()), "1", Some(ALIVE_FOR)).await.unwrap();
        cache
    }

    #[tokio::test]
    async fn first_runs_repeat_replays_another_body_is_refused() {
        let cache = alive().await;
        assert_eq!(start(&cache, "k", "r", 0).await.unwrap(), Start::Run);
        assert!(matches!(start(&cache, "k", "r", 1).await, Err(ApiError::IdempotencyKeyInProgress)));
        assert!(matches!(start(&cache, "k", "other", 1).await, Err(ApiError::IdempotencyKeyReused)));
        let done = Entry {
            request: "r".to_owned(),
            status: Some(201),
            body: Some("{}".to_owned()),
            started_at: 0,
            owner: String::new(),
        };
        cache.set("k", &serde_json::to_string(&done).unwrap(), None).await.unwrap();
        let replay = Start::Replay { status: 201, body: "{}".to_owned() };
        assert_eq!(start(&cache, "k", "r", 1).await.unwrap(), replay);
        assert!(matches!(start(&cache, "k", "other", 1).await, Err(ApiError::IdempotencyKeyReused)));
    }

    #[tokio::test]
    async fn a_first_request_that_never_answered_is_in_doubt_never_run_again() {
        let cache = alive().await;
        let began = 1_000;
        assert_eq!(start(&cache, "k", "r", began).await.unwrap(), Start::Run);
        let limit = IN_PROGRESS_FOR.as_secs() as i64;
        assert!(matches!(start(&cache, "k", "r", began + limit - 1).await, Err(ApiError::IdempotencyKeyInProgress)));
        assert!(matches!(start(&cache, "k", "r", began + limit).await, Err(ApiError::IdempotencyKeyInDoubt)));
        assert!(matches!(start(&cache, "k", "r", began + 3600).await, Err(ApiError::IdempotencyKeyInDoubt)));
        assert!(matches!(start(&cache, "k", "other", began + 3600).await, Err(ApiError::IdempotencyKeyReused)));
    }

    #[tokio::test]
    async fn a_first_request_whose_instance_stopped_is_in_doubt_at_once() {
        let cache = alive().await;
        assert_eq!(start(&cache, "k", "r", 1_000).await.unwrap(), Start::Run);
        cache.delete(&alive_key(instance())).await.unwrap();
        assert!(matches!(start(&cache, "k", "r", 1_001).await, Err(ApiError::IdempotencyKeyInDoubt)));
    }

    #[test]
    fn only_a_broken_connection_or_an_unforeseen_failure_leaves_the_outcome_unknown() {
        let answered = |err: ApiError| {
            let request = actix_web::test::TestRequest::default().to_srv_request();
            outcome_unknown(&request.error_response(err))
        };
        assert!(answered(ApiError::internal(anyhow::anyhow!("unforeseen"))));
        assert!(answered(ApiError::DatabaseUnavailable(anyhow::anyhow!("connection reset while committing"))));
        assert!(!answered(ApiError::Unavailable("ledger busy".to_owned())));
        assert!(!answered(ApiError::IdempotencyKeyInProgress));
        assert!(!answered(ApiError::validation("title", "required")));
    }

    #[test]
    fn every_api_post_but_the_listed_few_is_covered() {
        assert!(applies_to("POST", "/api/v1/redemptions"));
        assert!(applies_to("POST", "/api/v1/requests"));
        assert!(applies_to("POST", "/api/v1/requests/42/comments"));
        assert!(applies_to("POST", "/api/v1/redemptions/42/refund"));
        assert!(!applies_to("GET", "/api/v1/redemptions/42/refund"));
        assert!(!applies_to("PUT", "/api/v1/communities/1/settlement-rate"));
        assert!(!applies_to("POST", "/api/v1/auth/refresh"));
        assert!(!applies_to("POST", "/api/v1/me/phone"));
        assert!(!applies_to("POST", "/metrics"));
    }

    #[test]
    fn templates_match_one_segment_per_placeholder() {
        assert!(fails_closed("POST", "/api/v1/redemptions"));
        assert!(fails_closed("POST", "/api/v1/redemptions/codes"));
        assert!(fails_closed("POST", "/api/v1/redemptions/42/refund"));
        assert!(!fails_closed("GET", "/api/v1/redemptions/42/refund"));
        assert!(!fails_closed("POST", "/api/v1/redemptions/42/refund/x"));
        assert!(!fails_closed("POST", "/api/v1/redemptions//refund"));
        assert!(!fails_closed("POST", "/api/v1/requests"));
    }
}
