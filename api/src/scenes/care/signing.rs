//! Pure: the signature of a device vendor's alert. The vendor signs `"{timestamp}." + raw body` with
//! HMAC-SHA256 under its secret and sends `X-Care-Vendor`, `X-Care-Timestamp` (Unix seconds) and
//! `X-Care-Signature` (lowercase hex). The MAC is compared in constant time (`Mac::verify_slice`),
//! before the timestamp is looked at, so an unsigned caller learns nothing about our clock.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::error::CareError;
use crate::platform::config::Secret;

/// The largest difference allowed between the vendor's timestamp and our clock.
pub const SKEW_SECONDS_MAX: i64 = 300;

pub struct SignedHeaders<'a> {
    pub vendor: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// The vendor whose signature over `body` is valid and fresh.
pub fn verify(
    secrets: &HashMap<String, Secret>,
    headers: SignedHeaders<'_>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<String, CareError> {
    let (Some(vendor), Some(timestamp), Some(signature)) = (headers.vendor, headers.timestamp, headers.signature)
    else {
        return Err(CareError::AlertUnsigned);
    };
    let secret = secrets.get(vendor).ok_or(CareError::AlertVendorUnknown)?;
    let signature =
        hex::decode(signature.trim().trim_start_matches("sha256=")).map_err(|_| CareError::AlertSignatureInvalid)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).map_err(|_| CareError::AlertVendorUnknown)?;
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&signature).map_err(|_| CareError::AlertSignatureInvalid)?;
    let seconds: i64 = timestamp.trim().parse().map_err(|_| CareError::AlertTimestampStale)?;
    if (now.timestamp() - seconds).abs() > SKEW_SECONDS_MAX {
        return Err(CareError::AlertTimestampStale);
    }
    Ok(vendor.to_owned())
}

/// The signature a vendor sends (used by the tests and the benchmark's signer).
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> HashMap<String, Secret> {
        HashMap::from([("acme".to_owned(), Secret::new("0123456789abcdef"))])
    }

    fn headers<'a>(timestamp: &'a str, signature: &'a str) -> SignedHeaders<'a> {
        SignedHeaders { vendor: Some("acme"), timestamp: Some(timestamp), signature: Some(signature) }
    }

    #[test]
    fn valid_wrong_and_stale() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("a valid time");
        let ts = now.timestamp().to_string();
        let good = sign("0123456789abcdef", &ts, b"{}");
        assert_eq!(verify(&secrets(), headers(&ts, &good), b"{}", now).ok().as_deref(), Some("acme"));
        assert!(matches!(verify(&secrets(), headers(&ts, &good), b"{ }", now), Err(CareError::AlertSignatureInvalid)));
        let old = (now.timestamp() - 301).to_string();
        let stale = sign("0123456789abcdef", &old, b"{}");
        assert!(matches!(verify(&secrets(), headers(&old, &stale), b"{}", now), Err(CareError::AlertTimestampStale)));
    }
}
