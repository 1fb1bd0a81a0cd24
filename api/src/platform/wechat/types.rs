//! The values the WeChat client takes and returns, and the pure checks WeChat would otherwise make
//! remotely (scene charset, template value lengths), so that a bad value fails here, with the field
//! named, instead of costing a call and a quota unit.

use std::fmt;

use serde::{Deserialize, Deserializer};

use crate::platform::config::Secret;

use super::error::WechatError;

/// What `jscode2session` answers. The session key stays on the server: it never goes to the client
/// and never reaches a log line, so `Debug` hides it.
#[derive(Clone)]
pub struct WechatSession {
    pub openid: String,
    pub unionid: Option<String>,
    pub session_key: Secret,
}

impl fmt::Debug for WechatSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WechatSession")
            .field("openid", &self.openid)
            .field("unionid", &self.unionid)
            .field("session_key", &"***")
            .finish()
    }
}

/// A phone number that WeChat vouches for. `phone_number` carries the country code for numbers
/// outside mainland China; `pure_phone_number` never does.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneInfo {
    pub phone_number: String,
    pub pure_phone_number: String,
    pub country_code: String,
}

impl fmt::Debug for PhoneInfo {
    /// A phone number is personal data: logs see its last four digits only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pure = &self.pure_phone_number;
        let tail: String = pure.chars().skip(pure.chars().count().saturating_sub(4)).collect();
        f.debug_struct("PhoneInfo")
            .field("pure_phone_number", &format!("***{tail}"))
            .field("country_code", &self.country_code)
            .finish()
    }
}

/// What `msg_sec_check` v2 decides about a text, from `result.suggest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextVerdict {
    /// Publish.
    Pass,
    /// Hold for a committee member to look at.
    Review,
    /// Reject.
    Risky,
}

/// The `scene` of `msg_sec_check` v2: where the text will appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum TextScene {
    Profile = 1,
    Comment = 2,
    Forum = 3,
    Social = 4,
}

impl TextScene {
    pub fn code(self) -> u8 {
        self as u8
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendOutcome {
    Sent,
    /// The user has not accepted this template, or has used up the one message they accepted. This
    /// is normal operation for subscription messages, not an error.
    NotSubscribed,
}

/// A subscription message. `data` pairs a template key (`thing1`, `phrase2`, `number3`, `time4`, …)
/// with its value; the key's prefix decides the length rule WeChat applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeMessage {
    pub touser: String,
    pub template_id: String,
    pub page: Option<String>,
    pub data: Vec<(String, String)>,
    /// `developer`, `trial` or `formal` (WeChat's default).
    pub miniprogram_state: Option<String>,
    /// `zh_CN` (WeChat's default), `en_US`, `zh_HK` or `zh_TW`.
    pub lang: Option<String>,
}

/// The most characters a `scene` of `getwxacodeunlimit` may have.
pub const QR_SCENE_CHARS_MAX: usize = 32;
/// The QR image width range WeChat accepts, in pixels.
pub const QR_WIDTH_MIN: u32 = 280;
pub const QR_WIDTH_MAX: u32 = 1280;
/// The longest text `msg_sec_check` accepts, in characters.
pub const TEXT_CHECK_CHARS_MAX: usize = 2500;

const QR_SCENE_SYMBOLS: &str = "!#$&'()*+,/:;=?@-._~";

/// A `scene` is at most 32 visible characters from `0-9A-Za-z!#$&'()*+,/:;=?@-._~`.
pub fn validate_qr_scene(scene: &str) -> Result<(), WechatError> {
    if scene.is_empty() {
        return Err(WechatError::InvalidInput("QR scene is empty".to_owned()));
    }
    let count = scene.chars().count();
    if count > QR_SCENE_CHARS_MAX {
        return Err(WechatError::InvalidInput(format!(
            "QR scene has {count} characters; at most {QR_SCENE_CHARS_MAX} are allowed"
        )));
    }
    if let Some(bad) = scene.chars().find(|c| !(c.is_ascii_alphanumeric() || QR_SCENE_SYMBOLS.contains(*c))) {
        return Err(WechatError::InvalidInput(format!("QR scene contains {bad:?}, which WeChat does not allow")));
    }
    Ok(())
}

/// A page is a path inside the mini-program such as `pages/checkin/index`: no leading slash, no query
/// (the query travels in the scene).
pub fn validate_qr_page(page: &str) -> Result<(), WechatError> {
    if page.starts_with('/') || page.contains('?') || page.chars().any(char::is_whitespace) {
        return Err(WechatError::InvalidInput(format!(
            "QR page {page:?} must be a path like pages/x/index, without a leading slash or a query"
        )));
    }
    Ok(())
}

pub fn validate_qr_width(width: u32) -> Result<(), WechatError> {
    if !(QR_WIDTH_MIN..=QR_WIDTH_MAX).contains(&width) {
        return Err(WechatError::InvalidInput(format!("QR width {width} is outside {QR_WIDTH_MIN}..={QR_WIDTH_MAX}")));
    }
    Ok(())
}

/// Splits a template key such as `character_string12` into its kind and number.
fn template_key_kind(key: &str) -> Option<&str> {
    let kind = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let number = &key[kind.len()..];
    let well_formed =
        !kind.is_empty() && !number.is_empty() && kind.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    well_formed.then_some(kind)
}

/// Checks one value against the rule WeChat applies to its key's kind. Kinds this function does not
/// know are left to WeChat, which answers 47003 naming the field.
pub fn validate_template_value(key: &str, value: &str) -> Result<(), WechatError> {
    let invalid = || WechatError::InvalidTemplateData { field: key.to_owned() };
    let Some(kind) = template_key_kind(key) else {
        return Err(invalid());
    };
    if value.is_empty() {
        return Err(invalid());
    }
    let chars = value.chars().count();
    let fits = match kind {
        "thing" => chars <= 20,
        "phrase" => chars <= 5,
        "number" => chars <= 32 && is_decimal_number(value),
        "letter" => chars <= 32 && value.chars().all(|c| c.is_ascii_alphabetic()),
        "symbol" => chars <= 5,
        "character_string" => chars <= 32 && value.is_ascii(),
        "phone_number" => chars <= 17,
        "car_number" => chars <= 8,
        // Ten characters, or twenty when the name is written in letters only.
        "name" => chars <= 10 || (chars <= 20 && value.chars().all(|c| c.is_ascii_alphabetic() || c == ' ')),
        _ => true,
    };
    if fits { Ok(()) } else { Err(invalid()) }
}

/// Digits with at most one decimal point, as the `number` kind requires.
fn is_decimal_number(value: &str) -> bool {
    let mut parts = value.split('.');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next();
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    parts.next().is_none() && digits(whole) && fraction.is_none_or(digits)
}

const MINIPROGRAM_STATES: [&str; 3] = ["developer", "trial", "formal"];
const LANGS: [&str; 4] = ["zh_CN", "en_US", "zh_HK", "zh_TW"];

/// Everything WeChat would reject about a subscription message, checked before the call.
pub fn validate_subscribe_message(message: &SubscribeMessage) -> Result<(), WechatError> {
    if message.touser.trim().is_empty() {
        return Err(WechatError::InvalidInput("subscribe message has no touser".to_owned()));
    }
    if message.template_id.trim().is_empty() {
        return Err(WechatError::InvalidInput("subscribe message has no template_id".to_owned()));
    }
    if message.data.is_empty() {
        return Err(WechatError::InvalidInput("subscribe message has no data".to_owned()));
    }
    // Unlike a QR page, a message's page may carry a query (`pages/x/index?id=1`).
    if let Some(page) = message.page.as_deref().filter(|p| p.starts_with('/') || p.chars().any(char::is_whitespace)) {
        return Err(WechatError::InvalidInput(format!("subscribe page {page:?} must be a path like pages/x/index")));
    }
    if let Some(state) = message.miniprogram_state.as_deref().filter(|s| !MINIPROGRAM_STATES.contains(s)) {
        return Err(WechatError::InvalidInput(format!(
            "miniprogram_state {state:?} is not one of {MINIPROGRAM_STATES:?}"
        )));
    }
    if let Some(lang) = message.lang.as_deref().filter(|l| !LANGS.contains(l)) {
        return Err(WechatError::InvalidInput(format!("lang {lang:?} is not one of {LANGS:?}")));
    }
    for (index, (key, value)) in message.data.iter().enumerate() {
        if message.data[..index].iter().any(|(earlier, _)| earlier == key) {
            return Err(WechatError::InvalidTemplateData { field: key.clone() });
        }
        validate_template_value(key, value)?;
    }
    Ok(())
}

/// Finds the template field that a 47003 `errmsg` names, as in
/// `argument invalid! data.thing1.value invalid rid: 6560…` → `thing1`.
pub fn template_field_from_errmsg(errmsg: &str) -> Option<String> {
    let start = errmsg.find("data.")? + "data.".len();
    let field: String = errmsg[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    (!field.is_empty()).then_some(field)
}

/// WeChat documents `countryCode` as a string but has been seen sending a number; take either.
pub(crate) fn string_or_number<'de, D>(deserializer: D) -> Result<String, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum StringOrNumber {
        Text(String),
        Integer(i64),
        Unsigned(u64),
    }
    Ok(match StringOrNumber::deserialize(deserializer)? {
        StringOrNumber::Text(text) => text.trim().trim_start_matches('+').to_owned(),
        StringOrNumber::Integer(number) => number.to_string(),
        StringOrNumber::Unsigned(number) => number.to_string(),
    })
}

/// The success body of `getuserphonenumber`.
#[derive(Debug, Deserialize)]
pub(crate) struct PhoneReply {
    pub phone_info: PhoneInfoWire,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PhoneInfoWire {
    pub phone_number: String,
    pub pure_phone_number: String,
    #[serde(deserialize_with = "string_or_number")]
    pub country_code: String,
    pub watermark: Watermark,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Watermark {
    pub appid: String,
}

/// The success body of `jscode2session`.
#[derive(Deserialize)]
pub(crate) struct SessionReply {
    pub openid: String,
    pub session_key: String,
    #[serde(default)]
    pub unionid: Option<String>,
}

/// The success body of `stable_token`.
#[derive(Deserialize)]
pub(crate) struct TokenReply {
    pub access_token: String,
    pub expires_in: u64,
}

/// The success body of `msg_sec_check` v2.
#[derive(Debug, Deserialize)]
pub(crate) struct TextCheckReply {
    pub result: TextCheckResult,
}

#[derive(Debug, Deserialize)]
pub(crate) struct TextCheckResult {
    pub suggest: String,
    #[serde(default)]
    pub label: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(data: &[(&str, &str)]) -> SubscribeMessage {
        SubscribeMessage {
            touser: "openid-1".to_owned(),
            template_id: "tmpl".to_owned(),
            page: Some("pages/requests/detail?id=1".to_owned()),
            data: data.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            miniprogram_state: None,
            lang: None,
        }
    }

    fn field_of(result: Result<(), WechatError>) -> Option<String> {
        match result {
            Err(WechatError::InvalidTemplateData { field }) => Some(field),
            _ => None,
        }
    }

    #[test]
    fn scenes_follow_wechat_rules() {
        assert!(validate_qr_scene("a=1&b=XYZ_-.~!#$'()*+,/:;?@").is_ok());
        assert!(validate_qr_scene(&"a".repeat(32)).is_ok());
        assert!(validate_qr_scene(&"a".repeat(33)).is_err());
        assert!(validate_qr_scene("").is_err());
        assert!(validate_qr_scene("a b").is_err());
        assert!(validate_qr_scene("活动1").is_err());
        assert!(validate_qr_scene("a%20").is_err());
        assert!(validate_qr_scene("a\"b").is_err());
    }

    #[test]
    fn pages_and_widths() {
        assert!(validate_qr_page("pages/checkin/index").is_ok());
        assert!(validate_qr_page("/pages/checkin/index").is_err());
        assert!(validate_qr_page("pages/checkin/index?a=1").is_err());
        assert!(validate_qr_width(280).is_ok());
        assert!(validate_qr_width(1280).is_ok());
        assert!(validate_qr_width(279).is_err());
        assert!(validate_qr_width(1281).is_err());
    }

    #[test]
    fn template_lengths_are_checked_by_kind() {
        assert!(validate_template_value("thing1", &"楼".repeat(20)).is_ok());
        assert_eq!(field_of(validate_template_value("thing1", &"楼".repeat(21))), Some("thing1".to_owned()));
        assert!(validate_template_value("phrase2", "已受理").is_ok());
        assert!(validate_template_value("phrase2", "已经受理了").is_ok());
        assert_eq!(field_of(validate_template_value("phrase2", "已经被受理了")), Some("phrase2".to_owned()));
        assert!(validate_template_value("number3", &"9".repeat(32)).is_ok());
        assert!(validate_template_value("number3", "12.50").is_ok());
        assert!(validate_template_value("number3", &"9".repeat(33)).is_err());
        assert!(validate_template_value("number3", "12a").is_err());
        assert!(validate_template_value("number3", "1.2.3").is_err());
        assert!(validate_template_value("time4", "2026年11月22日 15:01").is_ok());
        assert!(validate_template_value("character_string5", "ABC-123").is_ok());
        assert!(validate_template_value("character_string5", "编号").is_err());
        assert!(validate_template_value("name6", "张三").is_ok());
        assert!(validate_template_value("name6", "Alexander Hamilton").is_ok());
        assert!(validate_template_value("thing7", "").is_err());
        assert!(validate_template_value("thing", "x").is_err());
        assert!(validate_template_value("Thing1", "x").is_err());
        assert!(validate_template_value("1", "x").is_err());
    }

    #[test]
    fn whole_messages_are_checked() {
        assert!(validate_subscribe_message(&message(&[("thing1", "楼道灯坏了"), ("phrase2", "已受理")])).is_ok());
        let too_long = message(&[("thing1", "ok"), ("phrase2", "这段话太长了")]);
        assert_eq!(field_of(validate_subscribe_message(&too_long)), Some("phrase2".to_owned()));
        let duplicate = message(&[("thing1", "a"), ("thing1", "b")]);
        assert_eq!(field_of(validate_subscribe_message(&duplicate)), Some("thing1".to_owned()));
        let mut no_user = message(&[("thing1", "a")]);
        no_user.touser.clear();
        assert!(matches!(validate_subscribe_message(&no_user), Err(WechatError::InvalidInput(_))));
        let mut bad_state = message(&[("thing1", "a")]);
        bad_state.miniprogram_state = Some("prod".to_owned());
        assert!(matches!(validate_subscribe_message(&bad_state), Err(WechatError::InvalidInput(_))));
        let mut good_state = message(&[("thing1", "a")]);
        good_state.miniprogram_state = Some("trial".to_owned());
        good_state.lang = Some("en_US".to_owned());
        assert!(validate_subscribe_message(&good_state).is_ok());
    }

    #[test]
    fn template_field_is_parsed_from_errmsg() {
        assert_eq!(
            template_field_from_errmsg("argument invalid! data.thing1.value invalid rid: 6560a1b2-1c2d3e4f-5a6b7c8d"),
            Some("thing1".to_owned())
        );
        assert_eq!(
            template_field_from_errmsg("argument invalid! data.character_string12.value is empty rid: x"),
            Some("character_string12".to_owned())
        );
        assert_eq!(template_field_from_errmsg("argument invalid! rid: 6560a1b2"), None);
        assert_eq!(template_field_from_errmsg("argument invalid! data. rid: 6560a1b2"), None);
    }

    #[test]
    fn country_code_may_be_a_string_or_a_number() {
        let body = |code: &str| {
            format!(
                r#"{{"phone_info":{{"phoneNumber":"13800138000","purePhoneNumber":"13800138000","countryCode":{code},"watermark":{{"appid":"wx1","timestamp":1700000000}}}}}}"#
            )
        };
        for code in [r#""86""#, "86", r#""+86""#] {
            let reply: PhoneReply = serde_json::from_str(&body(code)).unwrap();
            assert_eq!(reply.phone_info.country_code, "86", "countryCode {code}");
        }
        assert!(serde_json::from_str::<PhoneReply>(&body("null")).is_err());
    }

    #[test]
    fn debug_hides_secrets_and_most_of_the_phone() {
        let session = WechatSession {
            openid: "o1".to_owned(),
            unionid: None,
            session_key: Secret::new("tiI3Kp0rdJGVgkE+Ra0zwQ=="),
        };
        assert!(!format!("{session:?}").contains("tiI3Kp0rdJGVgkE"));
        let phone = PhoneInfo {
            phone_number: "13800138000".to_owned(),
            pure_phone_number: "13800138000".to_owned(),
            country_code: "86".to_owned(),
        };
        let printed = format!("{phone:?}");
        assert!(!printed.contains("13800138000"));
        assert!(printed.contains("8000"));
    }
}
