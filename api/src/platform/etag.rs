//! Conditional GETs for the lists that rarely change (a community's grids, a grid's buildings, the
//! request categories): the answer carries a strong `ETag`, the SHA-256 of its JSON body, and a request
//! whose `If-None-Match` names it is answered `304 Not Modified` without a body. The body is still built
//! (the tag is the body's hash, so no version has to be kept in step with every write); what is saved is
//! the bytes on the wire and the mini-program's parse and re-render.
//!
//! When the response is compressed, `compression::settle` appends the coding to the tag (`"…-gzip"`), as
//! a strong validator must differ between representations; `If-None-Match` here accepts the tag with or
//! without that suffix, and weak tags (`W/"…"`) compare by their opaque part, as RFC 9110 asks of
//! `If-None-Match`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::platform::error::{ApiError, ApiResult};

/// The content codings `compression::settle` may append to a tag.
pub const CODING_SUFFIXES: [&str; 3] = ["-gzip", "-br", "-zstd"];

/// The strong tag of a body: the first 128 bits of its SHA-256, in hex, quoted.
pub fn tag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// The opaque part of one entity tag of `If-None-Match`, without `W/`, quotes or a coding suffix.
fn opaque(tag: &str) -> &str {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    let tag = tag.trim_matches('"');
    CODING_SUFFIXES.iter().find_map(|suffix| tag.strip_suffix(suffix)).unwrap_or(tag)
}

/// Whether `If-None-Match` (any of its values) names `tag` or is `*`.
pub fn none_match(request: &HttpRequest, tag: &str) -> bool {
    let wanted = opaque(tag);
    request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|candidate| candidate.trim() == "*" || opaque(candidate) == wanted)
}

/// `body` as JSON with its `ETag`, or `304 Not Modified` when the client already holds it. The answer
/// depends on the caller's credentials only through the 401 before it, so it may be kept per user
/// (`private`) and must be revalidated each time (`no-cache`).
pub fn json<T: Serialize>(request: &HttpRequest, body: &T) -> ApiResult<HttpResponse> {
    let bytes = serde_json::to_vec(body).map_err(ApiError::internal)?;
    let tag = tag_of(&bytes);
    let value = HeaderValue::from_str(&tag).map_err(ApiError::internal)?;
    let cache_control = (header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    if none_match(request, &tag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, value))
            .insert_header(cache_control)
            .finish());
    }
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::ETAG, value))
        .insert_header(cache_control)
        .body(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn tags_compare_weakly_and_without_the_coding() {
        let tag = tag_of(b"{\"items\":[]}");
        assert_eq!(tag.len(), 34);
        let inner = tag.trim_matches('"');
        for header in
            [tag.clone(), format!("W/{tag}"), format!("\"{inner}-gzip\""), format!("\"other\", {tag}"), "*".to_owned()]
        {
            let request =
                TestRequest::default().insert_header((header::IF_NONE_MATCH, header.as_str())).to_http_request();
            assert!(none_match(&request, &tag), "{header}");
        }
        for header in ["\"other\"", "", "\"\""] {
            let request = TestRequest::default().insert_header((header::IF_NONE_MATCH, header)).to_http_request();
            assert!(!none_match(&request, &tag), "{header:?}");
        }
        assert!(!none_match(&TestRequest::default().to_http_request(), &tag));
    }
}
