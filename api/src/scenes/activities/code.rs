//! The rotating check-in code, pure: six digits from HMAC-SHA256 of the activity's secret and the
//! 30-second time step, truncated as RFC 4226/6238 do. The current and the previous step's codes are
//! accepted, so a code read just before it rotates still works.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const STEP_SECONDS: i64 = 30;
const DIGITS_MODULUS: u32 = 1_000_000;

/// The step `at` falls in.
pub fn step_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(STEP_SECONDS)
}

/// When the step `at` falls in ends (the next code starts).
pub fn step_ends_at(at: DateTime<Utc>) -> DateTime<Utc> {
    let end = (step_of(at) + 1) * STEP_SECONDS;
    DateTime::from_timestamp(end, 0).unwrap_or(at)
}

/// The code of one step.
pub fn code_of(secret: &str, step: i64) -> String {
    // HMAC accepts a key of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary =
        u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    format!("{:06}", binary % DIGITS_MODULUS)
}

/// The code shown at `at`.
pub fn code_at(secret: &str, at: DateTime<Utc>) -> String {
    code_of(secret, step_of(at))
}

/// Whether `code` is the current or the previous step's code at `at`, compared in constant time.
pub fn accepts(secret: &str, code: &str, at: DateTime<Utc>) -> bool {
    let step = step_of(at);
    [step, step - 1].into_iter().fold(false, |found, candidate| found | same(&code_of(secret, candidate), code))
}

fn same(expected: &str, given: &str) -> bool {
    expected.len() == given.len() && expected.bytes().zip(given.bytes()).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
}

/// A new per-activity secret: 32 random bytes, hex.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// Great-circle distance in metres (haversine, mean Earth radius).
pub fn distance_m(from: (f64, f64), to: (f64, f64)) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_008.8;
    let (lat1, lon1) = (from.0.to_radians(), from.1.to_radians());
    let (lat2, lon2) = (to.0.to_radians(), to.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    #[test]
    fn matches_the_rfc_6238_sha256_vector_truncated_to_six_digits() {
        // RFC 6238 appendix B: SHA-256, key "12345678901234567890123456789012", T = 59 s → 46119246.
        let secret = "12345678901234567890123456789012";
        assert_eq!(code_at(secret, at(59)), "119246");
        assert_eq!(code_at(secret, at(1_111_111_109)), "084774");
    }

    #[test]
    fn the_current_and_previous_step_pass_older_and_wrong_fail() {
        let secret = new_secret();
        let now = at(1_800_000_015);
        let current = code_at(&secret, now);
        let previous = code_of(&secret, step_of(now) - 1);
        let older = code_of(&secret, step_of(now) - 2);
        assert!(accepts(&secret, &current, now));
        assert!(accepts(&secret, &previous, now));
        assert!(!accepts(&secret, &older, now) || older == current || older == previous);
        assert!(!accepts(&secret, "12345", now));
        assert!(!accepts(&secret, "abcdef", now));
        assert_eq!(step_ends_at(now), at(1_800_000_030));
    }

    #[test]
    fn distances_on_the_ground() {
        let tianyi = (29.8683, 121.5440);
        assert!(distance_m(tianyi, tianyi) < 0.001);
        let north = (29.8683 + 0.001, 121.5440);
        let d = distance_m(tianyi, north);
        assert!((d - 111.2).abs() < 1.0, "{d}");
    }
}
