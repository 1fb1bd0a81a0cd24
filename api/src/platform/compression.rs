//! Compressed responses above a size threshold. actix-web's `Compress` negotiates gzip, brotli or zstd
//! from `Accept-Encoding` and would compress every body; small JSON gains nothing from it and costs CPU
//! on both ends, so `mark_small` (inside `Compress`) marks a body of known size under
//! `COMPRESS_BYTES_MIN` as `Content-Encoding: identity`, which `Compress` leaves alone, and `settle`
//! (outside it) takes that mark off again and appends the coding to a strong `ETag` of a body that was
//! compressed. CSV exports and long lists, above the threshold or streamed, are compressed.

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;

/// Bodies smaller than this are sent as they are: below about a packet, compression saves nothing.
pub const COMPRESS_BYTES_MIN: u64 = 1024;

const IDENTITY: &str = "identity";

/// Inside `Compress`: a body of known size under the threshold is marked to stay uncompressed.
pub async fn mark_small(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut response = next.call(request).await?;
    let small = matches!(response.response().body().size(), BodySize::Sized(n) if n < COMPRESS_BYTES_MIN);
    if small && !response.headers().contains_key(header::CONTENT_ENCODING) {
        response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static(IDENTITY));
    }
    Ok(response)
}

/// Outside `Compress`: the `identity` mark comes off; a compressed body's strong `ETag` gets its coding
/// appended, so the compressed and the plain representation never share a strong tag.
pub async fn settle(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut response = next.call(request).await?;
    let coding = response.headers().get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()).map(str::to_owned);
    match coding.as_deref() {
        None => {}
        Some(IDENTITY) => {
            response.headers_mut().remove(header::CONTENT_ENCODING);
        }
        Some(coding) => {
            let tagged = response
                .headers()
                .get(header::ETAG)
                .and_then(|v| v.to_str().ok())
                .filter(|tag| tag.starts_with('"') && tag.ends_with('"') && tag.len() >= 2)
                .map(|tag| format!("{}-{coding}\"", &tag[..tag.len() - 1]));
            if let Some(value) = tagged.and_then(|t| HeaderValue::from_str(&t).ok()) {
                response.headers_mut().insert(header::ETAG, value);
            }
        }
    }
    Ok(response)
}
