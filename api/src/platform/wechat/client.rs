//! The one way the backend talks to WeChat's server API.
//!
//! Wire rules (see `WECHAT.md`): errors arrive as HTTP 200 with `errcode`, so the body decides, not the
//! status or the Content-Type; non-2xx, unreadable bodies and timeouts are transport errors;
//! `access_token` always travels in the query string. URLs carry secrets, so they are stripped from
//! every error and never logged; `errmsg` (with WeChat's `rid`) is logged.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::platform::cache::Cache;
use crate::platform::config::{Secret, TextCheck, WechatSettings};

use super::error::WechatError;
use super::token::{IssuedToken, TokenCache};
use super::types::{
    PhoneInfo, PhoneReply, SendOutcome, SessionReply, SubscribeMessage, TEXT_CHECK_CHARS_MAX, TextCheckReply,
    TextScene, TextVerdict, TokenReply, WechatSession, template_field_from_errmsg, validate_qr_page, validate_qr_scene,
    validate_qr_width, validate_subscribe_message,
};

/// Backoff between retries of a busy (-1) answer never grows past this.
const BUSY_BACKOFF_MAX: Duration = Duration::from_secs(2);
/// Login and phone codes are short; anything longer is not a code.
const CODE_CHARS_MAX: usize = 128;

const ERRCODE_BUSY: i64 = -1;
const ERRCODES_TOKEN_INVALID: [i64; 3] = [40001, 40014, 42001];
const ERRCODES_CODE_INVALID: [i64; 2] = [40029, 40163];
const ERRCODE_USER_BLOCKED: i64 = 40226;
const ERRCODES_QUOTA: [i64; 2] = [45011, 45009];
const ERRCODES_MISCONFIGURED: [i64; 3] = [40013, 40125, 40164];
const ERRCODE_NOT_SUBSCRIBED: i64 = 43101;
const ERRCODE_TEMPLATE_DATA: i64 = 47003;

/// One WeChat endpoint.
#[derive(Clone, Copy)]
struct Endpoint {
    /// For logs.
    name: &'static str,
    /// GET with everything in the query (login); POST with a JSON body otherwise.
    get: bool,
    path: &'static str,
    /// The success body is image bytes (the QR endpoint); errors are still JSON.
    image: bool,
}

const LOGIN: Endpoint = Endpoint { name: "jscode2session", get: true, path: "/sns/jscode2session", image: false };
const TOKEN: Endpoint = Endpoint { name: "stable_token", get: false, path: "/cgi-bin/stable_token", image: false };
const PHONE: Endpoint =
    Endpoint { name: "getuserphonenumber", get: false, path: "/wxa/business/getuserphonenumber", image: false };
const SUBSCRIBE: Endpoint =
    Endpoint { name: "subscribe_send", get: false, path: "/cgi-bin/message/subscribe/send", image: false };
const TEXT_CHECK: Endpoint = Endpoint { name: "msg_sec_check", get: false, path: "/wxa/msg_sec_check", image: false };
const QR_CODE: Endpoint =
    Endpoint { name: "getwxacodeunlimit", get: false, path: "/wxa/getwxacodeunlimit", image: true };

/// What one exchange produced.
enum Reply {
    Json(Value),
    Image(Vec<u8>),
    /// WeChat answered `errcode` ≠ 0.
    Failure {
        errcode: i64,
        errmsg: String,
    },
}

/// A WeChat client. Cheap to clone; every clone shares the HTTP connection pool, the token refresher
/// and the configuration-fault flag.
#[derive(Clone)]
pub struct WechatClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    appid: String,
    secret: Secret,
    text_check: TextCheck,
    busy_retries_max: u32,
    busy_backoff_initial: Duration,
    tokens: TokenCache,
    configuration_fault: Mutex<Option<String>>,
}

impl std::fmt::Debug for WechatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatClient").field("base", &self.inner.base).field("appid", &self.inner.appid).finish()
    }
}

impl WechatClient {
    pub fn new(settings: &WechatSettings, cache: Cache) -> Result<WechatClient, WechatError> {
        let base = settings.api_base.trim_end_matches('/').to_owned();
        let url = reqwest::Url::parse(&base)
            .map_err(|err| WechatError::InvalidInput(format!("WeChat API base {base:?} is not a URL: {err}")))?;
        let connect_timeout = Duration::from_millis(settings.connect_timeout_ms);
        let request_timeout = Duration::from_millis(settings.request_timeout_ms);
        let mut builder = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(request_timeout)
            .user_agent(concat!("ehome/", env!("CARGO_PKG_VERSION")));
        if matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")) {
            // A local fake must never be reached through a proxy from the environment.
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|err| WechatError::Transport(format!("building the HTTP client: {err}")))?;
        let busy_backoff_initial = Duration::from_millis(settings.busy_backoff_ms_initial);
        // The slowest token fetch: every attempt times out and every backoff is waited for.
        let backoff_total: Duration =
            (0..settings.busy_retries_max).map(|attempt| busy_backoff(busy_backoff_initial, attempt)).sum();
        let fetch_duration_max = request_timeout * (settings.busy_retries_max + 1) + backoff_total;
        Ok(WechatClient {
            inner: Arc::new(Inner {
                http,
                base,
                appid: settings.appid.clone(),
                secret: settings.secret.clone(),
                text_check: settings.text_check,
                busy_retries_max: settings.busy_retries_max,
                busy_backoff_initial,
                tokens: TokenCache::new(cache, settings.token_margin_seconds, fetch_duration_max),
                configuration_fault: Mutex::new(None),
            }),
        })
    }

    /// Set after WeChat rejected our appid, secret or IP address (40013, 40125, 40164); `/readyz`
    /// reports not ready while it is set. The next successful call clears it: a whitelist or a
    /// secret can be fixed at WeChat's side without restarting us.
    pub fn configuration_fault(&self) -> Option<String> {
        self.fault_slot().clone()
    }

    /// Exchanges a login code from `wx.login` for the user's openid (`jscode2session`).
    pub async fn code_to_session(&self, code: &str) -> Result<WechatSession, WechatError> {
        validate_code(code)?;
        let query = [
            ("appid", self.inner.appid.as_str()),
            ("secret", self.inner.secret.expose()),
            ("js_code", code),
            ("grant_type", "authorization_code"),
        ];
        let value = self.call_with_busy_retry(LOGIN, &query, None).await?.into_json(LOGIN)?;
        let reply: SessionReply = parse_body(LOGIN, value)?;
        if reply.openid.is_empty() || reply.session_key.is_empty() {
            return Err(WechatError::Transport("jscode2session: empty openid or session_key".to_owned()));
        }
        Ok(WechatSession {
            openid: reply.openid,
            unionid: reply.unionid.filter(|u| !u.is_empty()),
            session_key: Secret::new(reply.session_key),
        })
    }

    /// Exchanges a phone code from `getPhoneNumber` for the number, after checking that WeChat issued
    /// it for our mini-program.
    pub async fn phone_number(&self, code: &str) -> Result<PhoneInfo, WechatError> {
        validate_code(code)?;
        let value = self.call_with_token(PHONE, &json!({ "code": code })).await?.into_json(PHONE)?;
        let info = parse_body::<PhoneReply>(PHONE, value)?.phone_info;
        if info.watermark.appid != self.inner.appid {
            tracing::warn!(watermark_appid = %info.watermark.appid, "phone number issued for another appid; rejected");
            return Err(WechatError::WatermarkMismatch);
        }
        Ok(PhoneInfo {
            phone_number: info.phone_number,
            pure_phone_number: info.pure_phone_number,
            country_code: info.country_code,
        })
    }

    /// Asks `msg_sec_check` v2 about a text. `errcode: 0` only means the call worked; the verdict is
    /// `result.suggest`, and a suggest we do not know fails closed with an error. In dev mode without
    /// credentials the local word list answers instead (see `local_check`).
    pub async fn check_text(&self, openid: &str, scene: TextScene, content: &str) -> Result<TextVerdict, WechatError> {
        if openid.trim().is_empty() {
            return Err(WechatError::InvalidInput("text check needs the author's openid".to_owned()));
        }
        let chars = content.chars().count();
        if chars > TEXT_CHECK_CHARS_MAX {
            return Err(WechatError::InvalidInput(format!(
                "text of {chars} characters is longer than the {TEXT_CHECK_CHARS_MAX} WeChat checks"
            )));
        }
        if self.inner.text_check == TextCheck::LocalWordList {
            return Ok(super::local_text_check(content));
        }
        let body = json!({ "version": 2, "openid": openid, "scene": scene.code(), "content": content });
        let value = self.call_with_token(TEXT_CHECK, &body).await?.into_json(TEXT_CHECK)?;
        let result = parse_body::<TextCheckReply>(TEXT_CHECK, value)?.result;
        match result.suggest.as_str() {
            "pass" => Ok(TextVerdict::Pass),
            "review" => {
                tracing::info!(label = ?result.label, "text check suggests review");
                Ok(TextVerdict::Review)
            }
            "risky" => {
                tracing::info!(label = ?result.label, "text check finds the text risky");
                Ok(TextVerdict::Risky)
            }
            other => {
                tracing::error!(suggest = %other, label = ?result.label, "text check answered an unknown suggest; failing closed");
                Err(WechatError::UnknownVerdict { suggest: other.to_owned() })
            }
        }
    }

    /// Sends a subscription message. Values are checked locally first; a user who has not subscribed
    /// (43101) is a normal outcome, not an error.
    pub async fn send_subscribe(&self, message: &SubscribeMessage) -> Result<SendOutcome, WechatError> {
        validate_subscribe_message(message)?;
        let data: serde_json::Map<String, Value> =
            message.data.iter().map(|(key, value)| (key.clone(), json!({ "value": value }))).collect();
        let mut body = json!({ "touser": message.touser, "template_id": message.template_id, "data": data });
        for (name, value) in
            [("page", &message.page), ("miniprogram_state", &message.miniprogram_state), ("lang", &message.lang)]
        {
            if let Some(value) = value {
                body[name] = json!(value);
            }
        }
        match self.call_with_token(SUBSCRIBE, &body).await {
            Ok(reply) => reply.into_json(SUBSCRIBE).map(|_| SendOutcome::Sent),
            Err(WechatError::Api { errcode: ERRCODE_NOT_SUBSCRIBED, .. }) => {
                tracing::info!(template_id = %message.template_id, "user has not subscribed to this template; not sent");
                Ok(SendOutcome::NotSubscribed)
            }
            Err(err) => Err(err),
        }
    }

    /// Generates an unlimited mini-program code (`getwxacodeunlimit`) for `page` with `scene`, and
    /// returns the image bytes. Callers generate ahead and cache: the call is slow and metered.
    pub async fn wxa_code(&self, scene: &str, page: &str, width: u32) -> Result<Vec<u8>, WechatError> {
        validate_qr_scene(scene)?;
        validate_qr_page(page)?;
        validate_qr_width(width)?;
        let body = json!({ "scene": scene, "page": page, "env_version": "release", "width": width });
        match self.call_with_token(QR_CODE, &body).await? {
            Reply::Image(bytes) => Ok(bytes),
            Reply::Json(_) | Reply::Failure { .. } => {
                Err(WechatError::Transport("getwxacodeunlimit: JSON without errcode instead of an image".to_owned()))
            }
        }
    }

    /// The shared access token: from the cache, or fetched once for all instances.
    pub async fn access_token(&self) -> Result<String, WechatError> {
        self.inner.tokens.get(|| self.fetch_token()).await
    }

    /// `POST /cgi-bin/stable_token`, without `force_refresh`: forcing would invalidate the token the
    /// other instances are using.
    async fn fetch_token(&self) -> Result<IssuedToken, WechatError> {
        let body = json!({
            "grant_type": "client_credential",
            "appid": self.inner.appid,
            "secret": self.inner.secret.expose(),
        });
        let value = self.call_with_busy_retry(TOKEN, &[], Some(&body)).await?.into_json(TOKEN)?;
        let reply: TokenReply = parse_body(TOKEN, value)?;
        if reply.access_token.is_empty() {
            return Err(WechatError::Transport("stable_token: empty access_token".to_owned()));
        }
        Ok(IssuedToken { access_token: reply.access_token, expires_in_seconds: reply.expires_in })
    }

    /// Calls a token-protected endpoint. When WeChat says the token is invalid or expired, the
    /// cached token is dropped (only if it is still the one used), refreshed and the call retried
    /// once.
    async fn call_with_token(&self, endpoint: Endpoint, body: &Value) -> Result<Reply, WechatError> {
        let mut token_retried = false;
        loop {
            let token = self.access_token().await?;
            match self.call_with_busy_retry(endpoint, &[("access_token", token.as_str())], Some(body)).await {
                Err(WechatError::Api { errcode, errmsg })
                    if ERRCODES_TOKEN_INVALID.contains(&errcode) && !token_retried =>
                {
                    let dropped = self.inner.tokens.invalidate(&token).await?;
                    tracing::warn!(api = endpoint.name, errcode, errmsg = %errmsg, dropped, "access token rejected; refreshing and retrying once");
                    token_retried = true;
                }
                outcome => return outcome,
            }
        }
    }

    /// Sends one request, retrying "system busy" (-1) with bounded exponential backoff, and turns
    /// an errcode into its error.
    async fn call_with_busy_retry(
        &self,
        endpoint: Endpoint,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Reply, WechatError> {
        let mut attempt = 0;
        loop {
            match self.exchange(endpoint, query, body).await? {
                Reply::Failure { errcode: ERRCODE_BUSY, errmsg } => {
                    if attempt >= self.inner.busy_retries_max {
                        tracing::warn!(api = endpoint.name, attempts = attempt + 1, errmsg = %errmsg, "WeChat still busy; giving up");
                        return Err(WechatError::Busy);
                    }
                    let delay = jittered(busy_backoff(self.inner.busy_backoff_initial, attempt));
                    tracing::info!(api = endpoint.name, attempt, delay_ms = delay.as_millis(), errmsg = %errmsg, "WeChat busy; retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Reply::Failure { errcode, errmsg } => {
                    return Err(self.failure(endpoint, errcode, errmsg));
                }
                reply => {
                    // Any answer without an errcode proves the appid, secret and IP address work.
                    self.clear_configuration_fault();
                    return Ok(reply);
                }
            }
        }
    }

    /// One HTTP exchange. Decides on the body: JSON with a non-zero `errcode` is a failure, other
    /// JSON is a success, and for the QR endpoint a body that is not JSON is the image.
    async fn exchange(
        &self,
        endpoint: Endpoint,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Reply, WechatError> {
        let started = Instant::now();
        let mut request = self.inner.http.request(
            if endpoint.get { Method::GET } else { Method::POST },
            format!("{}{}", self.inner.base, endpoint.path),
        );
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let transport = |what: &str, err: reqwest::Error| {
            // The URL holds the secret or the access token: never let it into a message.
            let err = err.without_url();
            let detail = crate::platform::error::error_chain(&err);
            tracing::warn!(api = endpoint.name, error = %detail, "WeChat {what} failed");
            WechatError::Transport(format!("{}: {what}: {detail}", endpoint.name))
        };
        let response = request.send().await.map_err(|err| transport("request", err))?;
        let status = response.status();
        if !status.is_success() {
            tracing::warn!(api = endpoint.name, status = status.as_u16(), "WeChat answered a non-2xx status");
            return Err(WechatError::Transport(format!("{}: HTTP {status}", endpoint.name)));
        }
        let bytes = response.bytes().await.map_err(|err| transport("reading the body", err))?;
        tracing::debug!(
            api = endpoint.name,
            elapsed_ms = started.elapsed().as_millis(),
            bytes = bytes.len(),
            "WeChat answered"
        );
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => {
                let errcode = map.get("errcode").and_then(Value::as_i64).unwrap_or(0);
                if errcode == 0 {
                    return Ok(Reply::Json(Value::Object(map)));
                }
                let errmsg = map.get("errmsg").and_then(Value::as_str).unwrap_or_default().to_owned();
                Ok(Reply::Failure { errcode, errmsg })
            }
            _ if endpoint.image && !bytes.is_empty() => Ok(Reply::Image(bytes.to_vec())),
            _ => Err(WechatError::Transport(format!("{}: the body is not a JSON object", endpoint.name))),
        }
    }

    /// Maps a WeChat errcode (other than -1) to its error, logging it as loudly as it deserves.
    fn failure(&self, endpoint: Endpoint, errcode: i64, errmsg: String) -> WechatError {
        let api = endpoint.name;
        if ERRCODES_CODE_INVALID.contains(&errcode) {
            tracing::info!(api, errcode, errmsg = %errmsg, "WeChat code invalid or used");
            WechatError::CodeInvalid
        } else if errcode == ERRCODE_USER_BLOCKED {
            tracing::warn!(api, errcode, errmsg = %errmsg, "WeChat blocked a high-risk user");
            WechatError::UserBlocked
        } else if ERRCODES_QUOTA.contains(&errcode) {
            tracing::warn!(api, errcode, errmsg = %errmsg, "WeChat quota exceeded");
            WechatError::QuotaExceeded
        } else if ERRCODES_MISCONFIGURED.contains(&errcode) {
            tracing::error!(
                api,
                errcode,
                errmsg = %errmsg,
                "WeChat rejected our appid, secret or IP address; check WECHAT_APPID, WECHAT_SECRET and the IP whitelist"
            );
            *self.fault_slot() = Some(format!("WeChat {api} answered errcode {errcode}: {errmsg}"));
            WechatError::Misconfigured { errcode }
        } else if errcode == ERRCODE_TEMPLATE_DATA {
            let field = template_field_from_errmsg(&errmsg).unwrap_or_else(|| "unknown".to_owned());
            tracing::error!(api, errcode, field = %field, errmsg = %errmsg, "WeChat rejected subscription message data");
            WechatError::InvalidTemplateData { field }
        } else {
            // 43101 and the token codes are decided by the caller; log them quietly.
            if errcode == ERRCODE_NOT_SUBSCRIBED || ERRCODES_TOKEN_INVALID.contains(&errcode) {
                tracing::debug!(api, errcode, errmsg = %errmsg, "WeChat answered an error");
            } else {
                tracing::warn!(api, errcode, errmsg = %errmsg, "WeChat answered an error");
            }
            WechatError::Api { errcode, errmsg }
        }
    }

    fn fault_slot(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        // The slot holds a plain string, always valid; a panic elsewhere cannot leave it half-written.
        self.inner.configuration_fault.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn clear_configuration_fault(&self) {
        let mut slot = self.fault_slot();
        if slot.take().is_some() {
            tracing::info!("WeChat accepted our credentials again; configuration fault cleared");
        }
    }
}

impl Reply {
    fn into_json(self, endpoint: Endpoint) -> Result<Value, WechatError> {
        match self {
            Reply::Json(value) => Ok(value),
            Reply::Image(_) | Reply::Failure { .. } => {
                Err(WechatError::Transport(format!("{}: expected a JSON body", endpoint.name)))
            }
        }
    }
}

/// Reads a success body. Only the kind of mismatch is reported: serde's message for a mistyped
/// field quotes the value, which may be a session key or a token.
fn parse_body<T: DeserializeOwned>(endpoint: Endpoint, value: Value) -> Result<T, WechatError> {
    serde_json::from_value(value).map_err(|err| {
        let text = err.to_string();
        let detail = if text.starts_with("missing field") { text } else { "a field has the wrong type".to_owned() };
        WechatError::Transport(format!("{}: unexpected body: {detail}", endpoint.name))
    })
}

fn validate_code(code: &str) -> Result<(), WechatError> {
    let code = code.trim();
    if code.is_empty() || code.chars().count() > CODE_CHARS_MAX || code.chars().any(char::is_control) {
        return Err(WechatError::CodeInvalid);
    }
    Ok(())
}

/// `initial × 2^attempt`, capped.
fn busy_backoff(initial: Duration, attempt: u32) -> Duration {
    initial.saturating_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX)).min(BUSY_BACKOFF_MAX)
}

/// Up to a quarter less, so that instances that met the same busy answer do not retry in step.
fn jittered(delay: Duration) -> Duration {
    let quarter = u64::try_from(delay.as_millis() / 4).unwrap_or(0);
    delay.saturating_sub(Duration::from_millis(rand::random_range(0..=quarter)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_bounded() {
        let initial = Duration::from_millis(100);
        assert_eq!(busy_backoff(initial, 0), Duration::from_millis(100));
        assert_eq!(busy_backoff(initial, 1), Duration::from_millis(200));
        assert_eq!(busy_backoff(initial, 3), Duration::from_millis(800));
        assert_eq!(busy_backoff(initial, 10), BUSY_BACKOFF_MAX);
        assert_eq!(busy_backoff(initial, 40), BUSY_BACKOFF_MAX);
        for _ in 0..100 {
            let delay = jittered(Duration::from_millis(400));
            assert!(delay >= Duration::from_millis(300) && delay <= Duration::from_millis(400));
        }
    }

    #[test]
    fn codes_are_checked_before_a_call() {
        assert!(validate_code("0a1b2c3d").is_ok());
        assert!(matches!(validate_code(""), Err(WechatError::CodeInvalid)));
        assert!(matches!(validate_code("  "), Err(WechatError::CodeInvalid)));
        assert!(matches!(validate_code(&"x".repeat(129)), Err(WechatError::CodeInvalid)));
    }

    #[test]
    fn parse_errors_do_not_quote_values() {
        let value = json!({ "openid": "o1", "session_key": 12345678 });
        let err = parse_body::<SessionReply>(LOGIN, value).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(!err.contains("12345678"), "{err}");
        let err = parse_body::<SessionReply>(LOGIN, json!({ "openid": "o1" }))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("session_key"), "{err}");
    }
}
