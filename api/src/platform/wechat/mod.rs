//! The WeChat server API client: login (`jscode2session`), the shared access token, phone numbers,
//! subscription messages, text checks and mini-program codes. The base URL comes from
//! `WECHAT_API_BASE`, so tests point it at a local fake (`ehome_tests::fake_wechat`).
//!
//! What each WeChat answer causes (see `WECHAT.md`):
//!
//! | errcode | result |
//! |---|---|
//! | -1 | retried with bounded exponential backoff, then [`WechatError::Busy`] (503) |
//! | 40029, 40163 | [`WechatError::CodeInvalid`] (401), not retried |
//! | 40226 | [`WechatError::UserBlocked`] (403) |
//! | 45011, 45009 | [`WechatError::QuotaExceeded`] (429), not retried |
//! | 40001, 40014, 42001 | the used token is compare-and-deleted, refreshed, and the call retried once |
//! | 40013, 40125, 40164 | [`WechatError::Misconfigured`] (503), logged as an error; `configuration_fault` set until a call succeeds |
//! | 43101 | [`SendOutcome::NotSubscribed`], not an error |
//! | 47003 | [`WechatError::InvalidTemplateData`] naming the field |
//!
//! In dev mode without credentials, `check_text` answers from a local word list instead
//! ([`local_text_check`]); everywhere else WeChat decides.
//!
//! Timeouts, non-2xx answers and unreadable bodies are [`WechatError::Transport`] (503). Nothing
//! here logs or returns a secret, an access token or a session key.

mod client;
mod error;
mod local_check;
mod token;
mod types;

pub use client::WechatClient;
pub use error::WechatError;
pub use local_check::{LOCAL_BANNED_WORDS, local_text_check};
pub use token::{LOCK_KEY as ACCESS_TOKEN_LOCK_KEY, TOKEN_KEY as ACCESS_TOKEN_KEY, token_ttl_seconds};
pub use types::{
    PhoneInfo, QR_SCENE_CHARS_MAX, QR_WIDTH_MAX, QR_WIDTH_MIN, SendOutcome, SubscribeMessage, TEXT_CHECK_CHARS_MAX,
    TextScene, TextVerdict, WechatSession, template_field_from_errmsg, validate_qr_scene, validate_subscribe_message,
    validate_template_value,
};
