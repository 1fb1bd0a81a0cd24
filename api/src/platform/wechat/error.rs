//! What can go wrong talking to WeChat, and how each failure reaches our own clients.

use crate::platform::cache::CacheError;
use crate::platform::error::ApiError;

/// A failed WeChat call. Messages never contain a secret, a token or a session key: the URL of a
/// failed request (which carries `secret` or `access_token`) is stripped before it gets here.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WechatError {
    /// 40029 / 40163: the login or phone code is invalid, expired or already used.
    #[error("WeChat code is invalid or already used")]
    CodeInvalid,
    /// 40226: WeChat treats this user as high-risk.
    #[error("WeChat blocked this user as high-risk")]
    UserBlocked,
    /// -1 on every attempt, or the token refresh of another instance never finished.
    #[error("WeChat is busy")]
    Busy,
    /// 45011 (per minute) or 45009 (per day).
    #[error("WeChat quota exceeded")]
    QuotaExceeded,
    /// 40013 / 40125 / 40164: bad appid, bad secret or our IP is not whitelisted.
    #[error("WeChat rejected our configuration (errcode {errcode})")]
    Misconfigured { errcode: i64 },
    /// 47003, or a value that would get it: `field` is the template key, such as `thing1`.
    #[error("subscription message data invalid in field {field}")]
    InvalidTemplateData { field: String },
    /// A value our caller passed that WeChat would refuse (scene charset, width, empty code, …).
    #[error("invalid input for WeChat: {0}")]
    InvalidInput(String),
    /// The phone number was issued for another mini-program.
    #[error("phone number watermark names another appid")]
    WatermarkMismatch,
    /// `msg_sec_check` answered a `suggest` we do not know; the text is not published.
    #[error("text check answered an unknown suggest {suggest:?}")]
    UnknownVerdict { suggest: String },
    /// Any other WeChat error code. `errmsg` ends with WeChat's `rid`.
    #[error("WeChat errcode {errcode}: {errmsg}")]
    Api { errcode: i64, errmsg: String },
    /// Connection failure, timeout, non-2xx status or a body we cannot read.
    #[error("WeChat transport: {0}")]
    Transport(String),
    /// The shared cache holding the access token failed.
    #[error("shared cache: {0}")]
    Cache(String),
}

impl From<CacheError> for WechatError {
    fn from(err: CacheError) -> Self {
        WechatError::Cache(err.to_string())
    }
}

impl From<WechatError> for ApiError {
    fn from(err: WechatError) -> Self {
        match err {
            WechatError::CodeInvalid => ApiError::WechatCodeInvalid,
            // A phone code minted for another mini-program is, for our client, a code that does
            // not work here: ask for a fresh one rather than answer 500.
            WechatError::WatermarkMismatch => ApiError::WechatCodeInvalid,
            WechatError::UserBlocked => ApiError::WechatUserBlocked,
            WechatError::QuotaExceeded => ApiError::WechatRateLimited,
            WechatError::Busy | WechatError::Transport(_) | WechatError::UnknownVerdict { .. } => {
                ApiError::WechatUnavailable
            }
            WechatError::Misconfigured { errcode } => {
                ApiError::Unavailable(format!("WeChat configuration rejected (errcode {errcode})"))
            }
            other => ApiError::Internal(anyhow::Error::new(other).context("WeChat call")),
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::ResponseError;
    use actix_web::http::StatusCode;

    use super::*;

    #[test]
    fn each_error_reaches_the_client_with_the_right_status() {
        let status = |err: WechatError| ApiError::from(err).status_code();
        assert_eq!(status(WechatError::CodeInvalid), StatusCode::UNAUTHORIZED);
        assert_eq!(status(WechatError::UserBlocked), StatusCode::FORBIDDEN);
        assert_eq!(status(WechatError::QuotaExceeded), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(status(WechatError::Busy), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(status(WechatError::Transport("timeout".into())), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(status(WechatError::Misconfigured { errcode: 40013 }), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            status(WechatError::Api { errcode: 48001, errmsg: "api unauthorized rid: x".into() }),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
