//! The WeChat server API client: login (`jscode2session`), the shared access token, phone numbers,
//! subscription messages, text checks and mini-program codes. The base URL comes from
//! `WECHAT_API_BASE`, so tests point it at a local fake.

mod client;
mod error;
mod token;
mod types;

pub use client::WechatClient;
pub use error::WechatError;
pub use token::{
    LOCK_KEY as ACCESS_TOKEN_LOCK_KEY, TOKEN_KEY as ACCESS_TOKEN_KEY, token_ttl_seconds,
};
pub use types::{
    PhoneInfo, QR_SCENE_CHARS_MAX, QR_WIDTH_MAX, QR_WIDTH_MIN, SendOutcome, SubscribeMessage,
    TEXT_CHECK_CHARS_MAX, TextScene, TextVerdict, WechatSession, template_field_from_errmsg,
    validate_qr_scene, validate_subscribe_message, validate_template_value,
};
