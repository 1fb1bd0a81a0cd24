//! How JSON bodies, query strings and path segments become errors: malformed JSON is `INVALID_JSON`,
//! a well-formed body of the wrong shape (unknown field, wrong type) is `VALIDATION_FAILED`, a body over
//! the limit is 413, and a body that is not a JSON object (`["nick", null]`, which serde would read
//! positionally into a struct) is `INVALID_JSON`.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, web};
use futures::StreamExt;
use serde::de::DeserializeOwned;

use crate::platform::error::ApiError;
use crate::state::AppState;

fn from_serde(err: &serde_json::Error) -> ApiError {
    match err.classify() {
        serde_json::error::Category::Data => ApiError::validation("body", err.to_string()),
        _ => ApiError::InvalidJson(err.to_string()),
    }
}

pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let mapped = match &err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => ApiError::PayloadTooLarge,
        JsonPayloadError::ContentType => ApiError::InvalidJson("expected Content-Type: application/json".to_owned()),
        JsonPayloadError::Deserialize(inner) => from_serde(inner),
        other => ApiError::InvalidJson(other.to_string()),
    };
    mapped.into()
}

pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::InvalidQuery(err.to_string()).into()
}

pub fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::validation("path", err.to_string()).into()
}

/// Extractor configuration for the whole app.
pub fn configure(config: &mut web::ServiceConfig, body_limit_bytes: usize) {
    config
        .app_data(web::JsonConfig::default().limit(body_limit_bytes).error_handler(json_error))
        .app_data(web::PayloadConfig::default().limit(body_limit_bytes))
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .app_data(web::PathConfig::default().error_handler(path_error));
}

/// An optional JSON body: empty means the default value; anything else must be valid JSON.
pub fn optional_body<T: DeserializeOwned + Default>(bytes: &web::Bytes) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|err| from_serde(&err))
}

/// Whether a body is read as JSON: declared so, or undeclared (optional bodies are read as JSON
/// whatever their content type says, so an undeclared one is checked too).
fn read_as_json(req: &ServiceRequest) -> bool {
    let Some(value) = req.headers().get(actix_web::http::header::CONTENT_TYPE) else {
        return true;
    };
    let essence = value.to_str().unwrap_or_default().split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

/// JSON does not tell `24` from `24.0`, and JSON Schema calls both an integer, but serde refuses a float
/// where the body's type has an integer. A complete body with a number that is a whole float within
/// `i64` (`24.0`, `-3e2`) is rewritten with that number as an integer; any other body (no such number,
/// not JSON at all, cut short by an error) is passed on byte for byte for the extractor to judge.
fn integral_numbers_as_integers(
    read: Vec<Result<web::Bytes, actix_web::error::PayloadError>>,
) -> Vec<Result<web::Bytes, actix_web::error::PayloadError>> {
    let mut whole = Vec::new();
    for chunk in read.iter().flatten() {
        whole.extend_from_slice(chunk);
    }
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&whole) else {
        return read;
    };
    if !integralize(&mut value) {
        return read;
    }
    match serde_json::to_vec(&value) {
        Ok(rewritten) => vec![Ok(web::Bytes::from(rewritten))],
        Err(_) => read,
    }
}

/// Turns whole floats within `i64` into integers, in place; true when any changed.
fn integralize(value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Number(number) if !number.is_i64() && !number.is_u64() => {
            let Some(float) = number.as_f64() else { return false };
            // `i64::MAX as f64` rounds up to 2^63, which is out of range: the bound is exclusive.
            if float.fract() == 0.0 && float >= i64::MIN as f64 && float < i64::MAX as f64 {
                *value = Value::from(float as i64);
                return true;
            }
            false
        }
        // Every element is visited (no short circuit): each may need rewriting.
        Value::Array(items) => items.iter_mut().map(integralize).filter(|changed| *changed).count() > 0,
        Value::Object(fields) => fields.values_mut().map(integralize).filter(|changed| *changed).count() > 0,
        _ => false,
    }
}

/// Every request body of the API is a JSON object. serde reads a struct from an array too (by
/// position), so a body's first significant byte is checked here, once for every route, before any
/// extractor runs: a body that starts with anything but `{` is `INVALID_JSON`. An object is read whole
/// (up to the limit) and its integral floats made integers (`integral_numbers_as_integers`). The bytes
/// read are put back in front of the rest of the stream; leading whitespace is read at most up to the
/// body limit, after which the extractors' own limit answers.
pub async fn objects_only(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if !read_as_json(&req) {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let limit = req.app_data::<web::Data<AppState>>().map_or(usize::MAX, |state| state.settings.body_limit_bytes);
    let mut payload = req.take_payload();
    let mut read = Vec::new();
    let mut read_bytes = 0usize;
    let first = loop {
        match payload.next().await {
            Some(Ok(chunk)) => {
                let first = chunk.iter().copied().find(|byte| !byte.is_ascii_whitespace());
                read_bytes = read_bytes.saturating_add(chunk.len());
                read.push(Ok(chunk));
                if first.is_some() || read_bytes > limit {
                    break first;
                }
            }
            Some(Err(err)) => {
                read.push(Err(err));
                break None;
            }
            None => break None,
        }
    };
    if first.is_some_and(|byte| byte != b'{') {
        let refused = ApiError::InvalidJson("the body must be a JSON object ({…})".to_owned());
        return Ok(req.error_response(refused));
    }
    // A signed body (the care devices' webhook signs the bytes as sent) is never rewritten.
    if first.is_some() && !req.headers().contains_key("x-care-signature") {
        // The whole object, within the limit, so its integral floats can become integers.
        while read_bytes <= limit {
            match payload.next().await {
                Some(Ok(chunk)) => {
                    read_bytes = read_bytes.saturating_add(chunk.len());
                    read.push(Ok(chunk));
                }
                Some(Err(err)) => {
                    read.push(Err(err));
                    break;
                }
                None => {
                    read = integral_numbers_as_integers(read);
                    break;
                }
            }
        }
    }
    let replayed = futures::stream::iter(read).chain(payload);
    req.set_payload(Payload::Stream { payload: Box::pin(replayed) });
    next.call(req).await.map(ServiceResponse::map_into_boxed_body)
}
