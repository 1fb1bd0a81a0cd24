//! The request context every response passes through: a request id (taken from a sane incoming
//! `x-request-id` or made), the client's address (see [`client_address`]), one tracing span per
//! request, metrics by route template, and error bodies rendered in the client's language with the
//! request id.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use tracing::Instrument;

use crate::platform::config::IpCidr;
use crate::platform::error::{ApiError, Lang, error_chain};
use crate::state::AppState;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request id, available to handlers through request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The client's address as rate limits and logs see it (`None`: the peer is unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(address) => address.fmt(f),
            None => f.write_str("unknown"),
        }
    }
}

/// One hop of `X-Forwarded-For` or a `for=` of `Forwarded`: an address, possibly with a port or in
/// brackets; anything else (`unknown`, an obfuscated name) is `None`.
fn parse_hop(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| text.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
        .map(|address: IpAddr| address.to_canonical())
}

/// The hops a request passed through, nearest last: `X-Forwarded-For` when present, else the `for=`
/// parameters of `Forwarded` (RFC 7239). Every instance of the header counts, in order.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let joined = |name: &str| {
        let values: Vec<&str> = headers.get_all(name).filter_map(|value| value.to_str().ok()).collect();
        (!values.is_empty()).then(|| values.join(","))
    };
    if let Some(list) = joined("x-forwarded-for") {
        return list.split(',').map(parse_hop).collect();
    }
    let Some(list) = joined("forwarded") else {
        return Vec::new();
    };
    list.split(',')
        .map(|element| {
            element.split(';').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.trim().eq_ignore_ascii_case("for").then(|| parse_hop(value))
            })?
        })
        .collect()
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy; then the forwarded hops are
/// walked from the nearest, skipping trusted proxies, and the first untrusted one is the client. A hop
/// that cannot be read stops the walk at the last trusted one, since whatever lies beyond it came from
/// the client and can be forged.
pub fn client_address(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpCidr]) -> Option<IpAddr> {
    let is_trusted = |address: IpAddr| trusted.iter().any(|cidr| cidr.contains(address));
    let peer = peer.map(|address| address.to_canonical());
    let Some(mut client) = peer.filter(|address| is_trusted(*address)) else {
        return peer;
    };
    for hop in forwarded_hops(headers).into_iter().rev() {
        let Some(address) = hop else { break };
        client = address;
        if !is_trusted(address) {
            break;
        }
    }
    Some(client)
}

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
    let peer = req.peer_addr().map(|socket| socket.ip());
    let trusted = state.as_ref().map(|state| state.settings.security.trusted_proxies.as_slice()).unwrap_or_default();
    let client = ClientAddr(client_address(peer, req.headers(), trusted));
    req.extensions_mut().insert(RequestId(request_id.clone()));
    req.extensions_mut().insert(client);
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        path = %req.path(),
        client_ip = %client
    );

    // While the database is known to be down, an API request is answered at once rather than waiting
    // out the pool's acquire timeout (`platform::db_health`); the operations endpoints still answer.
    let database_down =
        state.as_ref().is_some_and(|state| state.db_health.is_down()) && req.path().starts_with("/api/");
    let response = if database_down {
        req.error_response(ApiError::DatabaseUnavailable(anyhow::anyhow!("the database was found down")))
    } else {
        // Handlers' errors arrive as responses; the inner middleware answers with responses too, so an
        // `Err` here is actix's own and passes through unchanged. (The request cannot be cloned to
        // build a response here: routing needs it unshared.)
        next.call(req).instrument(span.clone()).await?.map_into_boxed_body()
    };
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
        Some(ApiError::Internal(cause)) if crate::platform::db_health::chain_is_unavailable(cause) => {
            database_unavailable(cause, span).render(lang, request_id)
        }
        Some(ApiError::DatabaseUnavailable(cause)) => database_unavailable(cause, span).render(lang, request_id),
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
            // Keep the original status (e.g. 415 for a wrong content type), and a 405's `Allow`.
            *rendered.status_mut() = status;
            if let Some(allow) = response.response().headers().get(actix_web::http::header::ALLOW) {
                rendered.headers_mut().insert(actix_web::http::header::ALLOW, allow.clone());
            }
            rendered
        }
    };
    response.into_response(rendered)
}

/// A request met a database that cannot be reached (a scene's error may carry the cause inside an
/// internal one): the answer is 503, and the probe (`platform::db_health`) decides whether the next
/// requests are answered without trying.
fn database_unavailable(cause: &anyhow::Error, span: &tracing::Span) -> ApiError {
    let reason = error_chain(cause.as_ref());
    span.in_scope(|| tracing::warn!(cause = %reason, "database unavailable"));
    ApiError::DatabaseUnavailable(anyhow::anyhow!(reason))
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        map
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let trusted = [IpCidr::parse("10.0.0.0/8").unwrap()];
        let forged = headers(&[("x-forwarded-for", "6.6.6.6, 1.2.3.4, 10.0.0.7")]);
        assert_eq!(client_address(ip("9.9.9.9"), &forged, &trusted), ip("9.9.9.9"));
        assert_eq!(client_address(ip("10.0.0.1"), &forged, &trusted), ip("1.2.3.4"));
        let all_trusted = headers(&[("x-forwarded-for", "10.0.0.9, 10.0.0.8")]);
        assert_eq!(client_address(ip("10.0.0.1"), &all_trusted, &trusted), ip("10.0.0.9"));
        let garbage = headers(&[("x-forwarded-for", "1.2.3.4, nonsense, 10.0.0.7")]);
        assert_eq!(client_address(ip("10.0.0.1"), &garbage, &trusted), ip("10.0.0.7"));
        let rfc7239 = headers(&[("forwarded", "for=1.2.3.4;proto=https, for=\"[2001:db8::17]:4711\"")]);
        assert_eq!(client_address(ip("10.0.0.1"), &rfc7239, &trusted), ip("2001:db8::17"));
        assert_eq!(client_address(None, &forged, &trusted), None);
    }
}
