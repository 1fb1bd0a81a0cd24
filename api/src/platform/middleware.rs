//! The request context every response passes through: a request id (taken from a sane incoming
//! `x-request-id` or made), one tracing span per request, metrics by route template, and error bodies
//! rendered in the client's language with the request id.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use tracing::Instrument;

use crate::platform::error::{ApiError, Lang, error_chain};
use crate::state::AppState;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request id, available to handlers through request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn incoming_request_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(REQUEST_ID_HEADER)?.to_str().ok()?;
    let sane =
        (1..=64).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    sane.then(|| value.to_owned())
}

pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let request_id = incoming_request_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let lang = Lang::from_accept_language(req.headers().get("accept-language").and_then(|v| v.to_str().ok()));
    let method = req.method().to_string();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let span = tracing::info_span!("request", request_id = %request_id, method = %method, path = %req.path());

    // Handlers' errors arrive as responses; the inner middleware answers with responses too, so an
    // `Err` here is actix's own and passes through unchanged. (The request cannot be cloned to build a
    // response here: routing needs it unshared.)
    let response = next.call(req).instrument(span.clone()).await?.map_into_boxed_body();
    let mut response = render_error(response, lang, &request_id, &span);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    let route = response.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status().as_u16();
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(state) = state {
        state.metrics.observe(&method, &route, status, elapsed);
    }
    span.in_scope(|| tracing::info!(status, route = %route, latency_ms = elapsed * 1000.0, "request done"));
    Ok(response)
}

/// Re-renders any error response as the API's error body; errors raised outside the API's own types
/// (routing, method mismatch) get the matching code.
fn render_error(
    response: ServiceResponse<BoxBody>,
    lang: Lang,
    request_id: &str,
    span: &tracing::Span,
) -> ServiceResponse<BoxBody> {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let error = response.response().error();
    let rendered = match error.and_then(|err| err.as_error::<ApiError>()) {
        Some(api_error) => {
            if let ApiError::Internal(cause) = api_error {
                span.in_scope(|| tracing::error!(cause = %error_chain(cause.as_ref()), "internal error"));
            }
            api_error.render(lang, request_id)
        }
        // A deliberate response of a handler (such as /readyz's 503 with its report) stays as it is.
        None if error.is_none() && status != StatusCode::METHOD_NOT_ALLOWED => return response,
        None => {
            let cause = error.map(|e| e.to_string()).unwrap_or_default();
            let mapped = match status {
                StatusCode::NOT_FOUND => ApiError::RouteNotFound,
                StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
                s if s.is_server_error() => {
                    span.in_scope(|| tracing::error!(%cause, "unhandled server error"));
                    ApiError::Internal(anyhow::anyhow!("unhandled: {cause}"))
                }
                _ => ApiError::validation("request", cause),
            };
            let mut rendered = mapped.render(lang, request_id);
            // Keep the original status (e.g. 415 for a wrong content type).
            *rendered.status_mut() = status;
            rendered
        }
    };
    response.into_response(rendered)
}
