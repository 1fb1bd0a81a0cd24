//! Compressed responses above a size threshold. actix-web's `Compress` negotiates gzip, brotli or zstd
//! from `Accept-Encoding` and would compress every body; small JSON gains nothing from it and costs CPU
//! on both ends, so `mark_small` (inside `Compress`) marks a body of known size under
//! `COMPRESS_BYTES_MIN` as `Content-Encoding: identity`, which `Compress` leaves alone, and `settle`
//! (outside it) takes that mark off again and appends the coding to a strong `ETag` of a body that was
//! compressed. CSV exports and long lists, above the threshold or streamed, are compressed.
//!
//! A body served many times over while it is kept (an inbox's first page) is compressed once instead,
//! when a client that accepts gzip first asks for it: [`Precompressed`] answers with the gzip copy to a client that accepts it, and
//! `Compress` leaves a body that already names its coding alone.

use std::io::Write;
use std::sync::OnceLock;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, ContentType, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};

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

/// A JSON body written once and served many times: as it is, and gzip-compressed (once, when a client
/// that accepts gzip first asks) when it is at least [`COMPRESS_BYTES_MIN`] long.
pub struct Precompressed {
    plain: Bytes,
    gzip: OnceLock<Option<Bytes>>,
}

impl Precompressed {
    pub fn new(plain: Bytes) -> Precompressed {
        Precompressed { plain, gzip: OnceLock::new() }
    }

    /// `200` with the gzip copy when the request accepts gzip, else with the body as it is (which
    /// `Compress` may still compress, as for any answer).
    pub fn respond(&self, request: &HttpRequest) -> HttpResponse {
        let mut response = HttpResponse::Ok();
        response.content_type(ContentType::json());
        if (self.plain.len() as u64) < COMPRESS_BYTES_MIN {
            return response.body(self.plain.clone());
        }
        response.insert_header((header::VARY, "accept-encoding"));
        match self.gzip(request) {
            Some(gzip) => response.insert_header((header::CONTENT_ENCODING, "gzip")).body(gzip.clone()),
            None => response.body(self.plain.clone()),
        }
    }

    /// The gzip copy, if the request accepts gzip; one that could not be written is not retried.
    fn gzip(&self, request: &HttpRequest) -> Option<&Bytes> {
        if !accepts_gzip(request) {
            return None;
        }
        let compressed = self.gzip.get_or_init(|| {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(&self.plain).and_then(|()| encoder.finish()).map(Bytes::from).ok()
        });
        compressed.as_ref()
    }
}

/// Whether `Accept-Encoding` lists gzip (or `*`) without `q=0`.
fn accepts_gzip(request: &HttpRequest) -> bool {
    let Some(accepted) = request.headers().get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    accepted.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or_default();
        let refused =
            parts.any(|p| p.strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()).is_some_and(|q| q <= 0.0));
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}
