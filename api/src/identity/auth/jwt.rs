//! Access tokens: HS256 JWTs with a short life. Only HS256 is accepted, so `alg: none` and tokens
//! signed with another algorithm or key are refused.
//!
//! Times are checked here against the injected clock (`state.clock`), not by `jsonwebtoken` against the
//! system time, so that tests can move time: a token is valid while `now < exp` (no leeway), when it
//! was issued no more than [`IAT_FUTURE_LEEWAY_SECONDS`] ahead of `now` (instances' clocks differ a
//! little), and when it claims no longer a life (`exp - iat`) than the configured access TTL.

use actix_web::http::header::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::platform::config::AuthSettings;

/// How far in the future a token's `iat` may lie: the skew between our own instances' clocks.
pub const IAT_FUTURE_LEEWAY_SECONDS: i64 = 30;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id, as a string (JWT's `sub` is a string).
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    /// Always "access", so that no other token of ours can pass as one.
    pub typ: String,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl_seconds: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("access token rejected: {0}")]
pub struct TokenRejected(String);

impl JwtKeys {
    pub fn new(settings: &AuthSettings) -> JwtKeys {
        let secret = settings.jwt_secret.expose().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against the injected clock in `verify_access`.
        validation.validate_exp = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl_seconds: settings.access_ttl_seconds,
        }
    }

    pub fn issue_access(&self, user_id: i64, now: i64) -> Result<String, jsonwebtoken::errors::Error> {
        let ttl = i64::try_from(self.access_ttl_seconds).unwrap_or(i64::MAX);
        let claims =
            AccessClaims { sub: user_id.to_string(), iat: now, exp: now.saturating_add(ttl), typ: "access".to_owned() };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// The user id of an access token valid at `now` (Unix seconds, from the injected clock).
    pub fn verify_access(&self, token: &str, now: i64) -> Result<i64, TokenRejected> {
        let data = decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map_err(|err| TokenRejected(err.to_string()))?;
        let AccessClaims { iat, exp, .. } = data.claims;
        if data.claims.typ != "access" {
            return Err(TokenRejected("not an access token".to_owned()));
        }
        if now >= exp {
            return Err(TokenRejected("expired".to_owned()));
        }
        if iat > now.saturating_add(IAT_FUTURE_LEEWAY_SECONDS) {
            return Err(TokenRejected("issued in the future".to_owned()));
        }
        let ttl = i64::try_from(self.access_ttl_seconds).unwrap_or(i64::MAX);
        if exp.saturating_sub(iat) > ttl {
            return Err(TokenRejected("lives longer than an access token may".to_owned()));
        }
        data.claims.sub.parse().map_err(|_| TokenRejected("subject is not a user id".to_owned()))
    }
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}
