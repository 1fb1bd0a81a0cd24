//! How JSON bodies, query strings and path segments become errors: malformed JSON is `INVALID_JSON`,
//! a well-formed body of the wrong shape (unknown field, wrong type) is `VALIDATION_FAILED`, a body over
//! the limit is 413.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{HttpRequest, web};
use serde::de::DeserializeOwned;

use crate::platform::error::ApiError;

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
