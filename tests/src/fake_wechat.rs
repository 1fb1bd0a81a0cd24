//! A fake of the WeChat server API on 127.0.0.1, for end-to-end tests.
//!
//! It speaks like WeChat: errors are HTTP 200 with `{errcode, errmsg: "… rid: …"}`, token success
//! bodies carry no `errcode`, the QR endpoint answers `image/png` bytes on success and JSON on failure.
//! It checks the appid and secret, checks `access_token` in the query string of the four protected
//! endpoints, counts calls, and can be told to answer any errcode next.

use std::collections::{HashMap, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

pub const FAKE_APPID: &str = "wx-test-appid";
pub const FAKE_SECRET: &str = "wx-test-secret";

/// How long a login code works after it was handed out, as on WeChat.
const LOGIN_CODE_LIFETIME: Duration = Duration::from_secs(5 * 60);
const TOKEN_EXPIRES_IN_DEFAULT: u64 = 7200;

/// A 1×1 transparent PNG: what a successful `getwxacodeunlimit` returns here.
pub const QR_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0b, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x00, 0x02, 0x00, 0x00, 0x05, 0x00, 0x01, 0x7a, 0x5e, 0xab, 0x3f, 0x00,
    0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `GET /sns/jscode2session`
    Login,
    /// `POST /cgi-bin/stable_token`
    Token,
    /// `POST /wxa/business/getuserphonenumber`
    Phone,
    /// `POST /cgi-bin/message/subscribe/send`
    Subscribe,
    /// `POST /wxa/msg_sec_check`
    TextCheck,
    /// `POST /wxa/getwxacodeunlimit`
    QrCode,
}

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub query: HashMap<String, String>,
    pub body: Option<Value>,
}

struct LoginCode {
    openid: String,
    unionid: Option<String>,
    issued_at: Instant,
    used: bool,
}

struct PhoneCode {
    pure_phone: String,
    appid: String,
    used: bool,
}

#[derive(PartialEq, Eq)]
enum TokenState {
    Valid { expires_at: Instant },
    Invalidated,
}

#[derive(Default)]
struct State {
    login_codes: HashMap<String, LoginCode>,
    phone_codes: HashMap<String, PhoneCode>,
    failures: HashMap<Endpoint, VecDeque<i64>>,
    delays_ms: HashMap<Endpoint, u64>,
    calls: HashMap<Endpoint, usize>,
    requests: HashMap<Endpoint, Vec<RecordedRequest>>,
    tokens: HashMap<String, TokenState>,
    current_token: Option<String>,
    tokens_issued: usize,
    token_expires_in: Option<u64>,
    force_refreshes: usize,
    text_verdicts: Vec<(String, String)>,
    subscribe_messages: Vec<Value>,
    session_keys: Vec<String>,
}

struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock must not hide the fake from the others.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The fake server. Clones share the same server and state.
#[derive(Clone)]
pub struct FakeWechat {
    shared: Arc<Shared>,
    base_url: String,
    handle: ServerHandle,
}

impl std::fmt::Debug for FakeWechat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeWechat").field("base_url", &self.base_url).finish()
    }
}

impl FakeWechat {
    /// Starts the fake on a random port of 127.0.0.1. It expects appid [`FAKE_APPID`] and secret
    /// [`FAKE_SECRET`], and runs until the test's runtime ends or [`FakeWechat::stop`].
    pub async fn start() -> FakeWechat {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|err| panic!("fake WeChat cannot bind: {err}"));
        let port =
            listener.local_addr().map(|addr| addr.port()).unwrap_or_else(|err| panic!("fake WeChat port: {err}"));
        let shared = Arc::new(Shared { state: Mutex::new(State::default()) });
        let data = web::Data::from(Arc::clone(&shared));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(1024 * 1024))
                .route("/sns/jscode2session", web::get().to(login))
                .route("/cgi-bin/stable_token", web::post().to(stable_token))
                .route("/wxa/business/getuserphonenumber", web::post().to(phone))
                .route("/cgi-bin/message/subscribe/send", web::post().to(subscribe))
                .route("/wxa/msg_sec_check", web::post().to(text_check))
                .route("/wxa/getwxacodeunlimit", web::post().to(qr_code))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(0)
        .listen(listener)
        .unwrap_or_else(|err| panic!("fake WeChat cannot listen: {err}"))
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        FakeWechat { shared, base_url: format!("http://127.0.0.1:{port}"), handle }
    }

    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Stops the server; later calls to it fail to connect.
    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }

    /// A login code that works once, for five minutes; then 40163.
    pub fn add_login_code(&self, code: &str, openid: &str, unionid: Option<&str>) {
        self.shared.state().login_codes.insert(
            code.to_owned(),
            LoginCode {
                openid: openid.to_owned(),
                unionid: unionid.map(str::to_owned),
                issued_at: Instant::now(),
                used: false,
            },
        );
    }

    /// A phone code for a mainland number, watermarked with our appid.
    pub fn add_phone_code(&self, code: &str, pure_phone: &str) {
        self.add_phone_code_with_appid(code, pure_phone, FAKE_APPID);
    }

    /// A phone code whose watermark names `appid` (another mini-program's, to test the check).
    pub fn add_phone_code_with_appid(&self, code: &str, pure_phone: &str, appid: &str) {
        self.shared.state().phone_codes.insert(
            code.to_owned(),
            PhoneCode { pure_phone: pure_phone.to_owned(), appid: appid.to_owned(), used: false },
        );
    }

    /// The next `times` calls to `endpoint` answer `errcode` (after counting and the delay), before
    /// any other check. Programmed answers queue up in order.
    pub fn fail_next(&self, endpoint: Endpoint, errcode: i64, times: usize) {
        self.shared.state().failures.entry(endpoint).or_default().extend(std::iter::repeat_n(errcode, times));
    }

    /// Every token issued so far stops working: using one answers 42001.
    pub fn invalidate_tokens(&self) {
        let mut state = self.shared.state();
        for token in state.tokens.values_mut() {
            *token = TokenState::Invalidated;
        }
        state.current_token = None;
    }

    /// The `expires_in` of tokens issued from now on.
    pub fn set_token_expires_in(&self, seconds: u64) {
        self.shared.state().token_expires_in = Some(seconds);
    }

    /// Text containing `needle` gets this `suggest` (`pass`, `review`, `risky`, or anything else);
    /// the needle set last wins when several match. Other text passes.
    pub fn set_text_verdict(&self, needle: &str, suggest: &str) {
        self.shared.state().text_verdicts.push((needle.to_owned(), suggest.to_owned()));
    }

    /// Delays every answer of `endpoint` by `ms` milliseconds.
    pub fn set_delay_ms(&self, endpoint: Endpoint, ms: u64) {
        self.shared.state().delays_ms.insert(endpoint, ms);
    }

    /// Calls received by `endpoint`, whatever they were answered.
    pub fn calls(&self, endpoint: Endpoint) -> usize {
        self.shared.state().calls.get(&endpoint).copied().unwrap_or(0)
    }

    /// Calls received by the token endpoint.
    pub fn token_fetches(&self) -> usize {
        self.calls(Endpoint::Token)
    }

    /// Token requests that asked for `force_refresh` (normal operation never should).
    pub fn force_refreshes(&self) -> usize {
        self.shared.state().force_refreshes
    }

    /// Subscription messages accepted, in order, as the JSON bodies received.
    pub fn last_subscribe_messages(&self) -> Vec<Value> {
        self.shared.state().subscribe_messages.clone()
    }

    /// Every session key handed out by `jscode2session`, to check none of them leaks.
    pub fn issued_session_keys(&self) -> Vec<String> {
        self.shared.state().session_keys.clone()
    }

    /// Every request `endpoint` received, with its query and JSON body.
    pub fn requests(&self, endpoint: Endpoint) -> Vec<RecordedRequest> {
        self.shared.state().requests.get(&endpoint).cloned().unwrap_or_default()
    }
}

fn errmsg_for(errcode: i64) -> &'static str {
    match errcode {
        -1 => "system error",
        40001 => "invalid credential, access_token is invalid or not latest",
        40002 => "invalid grant_type",
        40003 => "invalid openid",
        40013 => "invalid appid",
        40014 => "invalid access_token",
        40029 => "invalid code",
        40037 => "invalid template_id",
        40097 => "invalid args",
        40125 => "invalid appsecret",
        40163 => "code been used",
        40164 => "invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist",
        40169 => "invalid length for scene, or the data is not json string",
        40226 => "high risk user",
        41001 => "access_token missing",
        41030 => "invalid page",
        42001 => "access_token expired",
        43101 => "user refuse to accept the msg",
        45009 => "reach max api daily quota limit",
        45011 => "api minute-quota reach limit  mustslower  retry next minute",
        47001 => "data format error",
        47003 => "argument invalid! data.thing1.value invalid",
        _ => "system error",
    }
}

fn rid() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}-{}", &hex[..8], &hex[8..16], &hex[16..24])
}

/// WeChat's error shape: HTTP 200, `errcode`, `errmsg` ending with a request id.
fn error_reply(errcode: i64, errmsg: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "errcode": errcode, "errmsg": format!("{errmsg} rid: {}", rid()) }))
}

fn error_code(errcode: i64) -> HttpResponse {
    error_reply(errcode, errmsg_for(errcode))
}

fn unix_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn query_of(req: &HttpRequest) -> HashMap<String, String> {
    web::Query::<HashMap<String, String>>::from_query(req.query_string()).map(|q| q.into_inner()).unwrap_or_default()
}

/// What every handler does first: record and count the call, wait the programmed delay, and answer a
/// programmed errcode if one is queued.
async fn enter(
    shared: &Shared,
    endpoint: Endpoint,
    req: &HttpRequest,
    body: Option<&Value>,
) -> Result<HashMap<String, String>, Box<HttpResponse>> {
    let query = query_of(req);
    let delay_ms = {
        let mut state = shared.state();
        *state.calls.entry(endpoint).or_default() += 1;
        state.requests.entry(endpoint).or_default().push(RecordedRequest { query: query.clone(), body: body.cloned() });
        state.delays_ms.get(&endpoint).copied().unwrap_or(0)
    };
    if delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    }
    let programmed = shared.state().failures.get_mut(&endpoint).and_then(VecDeque::pop_front);
    match programmed {
        Some(47003) => {
            // Name the first field of the message, as WeChat does.
            let field = body
                .and_then(|b| b.get("data"))
                .and_then(Value::as_object)
                .and_then(|data| data.keys().next().cloned())
                .unwrap_or_else(|| "thing1".to_owned());
            Err(Box::new(error_reply(47003, &format!("argument invalid! data.{field}.value invalid"))))
        }
        Some(errcode) => Err(Box::new(error_code(errcode))),
        None => Ok(query),
    }
}

/// The protected endpoints take `access_token` from the query string only.
fn check_token(shared: &Shared, query: &HashMap<String, String>) -> Result<(), Box<HttpResponse>> {
    let Some(token) = query.get("access_token").filter(|t| !t.is_empty()) else {
        return Err(Box::new(error_code(41001)));
    };
    match shared.state().tokens.get(token) {
        None => Err(Box::new(error_code(40001))),
        Some(TokenState::Invalidated) => Err(Box::new(error_code(42001))),
        Some(TokenState::Valid { expires_at }) if *expires_at <= Instant::now() => Err(Box::new(error_code(42001))),
        Some(TokenState::Valid { .. }) => Ok(()),
    }
}

fn json_body(body: &web::Bytes) -> Option<Value> {
    serde_json::from_slice::<Value>(body).ok().filter(Value::is_object)
}

fn str_field<'a>(body: &'a Value, name: &str) -> &'a str {
    body.get(name).and_then(Value::as_str).unwrap_or_default()
}

async fn login(shared: web::Data<Shared>, req: HttpRequest) -> HttpResponse {
    let query = match enter(&shared, Endpoint::Login, &req, None).await {
        Ok(query) => query,
        Err(reply) => return *reply,
    };
    let param = |name: &str| query.get(name).map(String::as_str).unwrap_or_default();
    if param("appid") != FAKE_APPID {
        return error_code(40013);
    }
    if param("secret") != FAKE_SECRET {
        return error_code(40125);
    }
    if param("grant_type") != "authorization_code" {
        return error_code(40002);
    }
    let mut state = shared.state();
    let Some(code) = state.login_codes.get_mut(param("js_code")) else {
        return error_code(40029);
    };
    if code.used {
        return error_code(40163);
    }
    if code.issued_at.elapsed() > LOGIN_CODE_LIFETIME {
        return error_code(40029);
    }
    code.used = true;
    let (openid, unionid) = (code.openid.clone(), code.unionid.clone());
    let session_key = base64_like_key();
    state.session_keys.push(session_key.clone());
    // Like WeChat, a successful answer carries no errcode.
    let mut answer = json!({ "openid": openid, "session_key": session_key });
    if let Some(unionid) = unionid {
        answer["unionid"] = json!(unionid);
    }
    HttpResponse::Ok().json(answer)
}

/// A 24-character key shaped like WeChat's base64 session keys.
fn base64_like_key() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    format!("{}==", &hex[..22])
}

async fn stable_token(shared: web::Data<Shared>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let body = json_body(&body);
    if let Err(reply) = enter(&shared, Endpoint::Token, &req, body.as_ref()).await {
        return *reply;
    }
    let Some(body) = body else {
        return error_code(47001);
    };
    if str_field(&body, "grant_type") != "client_credential" {
        return error_code(40002);
    }
    if str_field(&body, "appid") != FAKE_APPID {
        return error_code(40013);
    }
    if str_field(&body, "secret") != FAKE_SECRET {
        return error_code(40125);
    }
    let force = body.get("force_refresh").and_then(Value::as_bool).unwrap_or(false);
    let mut state = shared.state();
    let now = Instant::now();
    if force {
        state.force_refreshes += 1;
    }
    // Like the stable endpoint, answer the current token while it lives unless forced.
    if !force
        && let Some(current) = state.current_token.clone()
        && let Some(TokenState::Valid { expires_at }) = state.tokens.get(&current)
        && *expires_at > now
    {
        let remaining = expires_at.duration_since(now).as_secs().max(1);
        return HttpResponse::Ok().json(json!({ "access_token": current, "expires_in": remaining }));
    }
    state.tokens_issued += 1;
    let expires_in = state.token_expires_in.unwrap_or(TOKEN_EXPIRES_IN_DEFAULT);
    let token = format!("fake-token-{}-{}", state.tokens_issued, uuid::Uuid::new_v4().simple());
    state.tokens.insert(token.clone(), TokenState::Valid { expires_at: now + Duration::from_secs(expires_in) });
    state.current_token = Some(token.clone());
    HttpResponse::Ok().json(json!({ "access_token": token, "expires_in": expires_in }))
}

async fn phone(shared: web::Data<Shared>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let body = json_body(&body);
    let query = match enter(&shared, Endpoint::Phone, &req, body.as_ref()).await {
        Ok(query) => query,
        Err(reply) => return *reply,
    };
    if let Err(reply) = check_token(&shared, &query) {
        return *reply;
    }
    let Some(body) = body else {
        return error_code(47001);
    };
    let mut state = shared.state();
    let Some(code) = state.phone_codes.get_mut(str_field(&body, "code")) else {
        return error_code(40029);
    };
    if code.used {
        return error_code(40163);
    }
    code.used = true;
    HttpResponse::Ok().json(json!({
        "errcode": 0,
        "errmsg": "ok",
        "phone_info": {
            "phoneNumber": code.pure_phone,
            "purePhoneNumber": code.pure_phone,
            "countryCode": "86",
            "watermark": { "timestamp": unix_seconds(), "appid": code.appid },
        },
    }))
}

/// WeChat's length rules for the kinds the tests use; other kinds pass.
fn template_value_fits(key: &str, value: &str) -> bool {
    let kind = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let chars = value.chars().count();
    !value.is_empty()
        && match kind {
            "thing" => chars <= 20,
            "phrase" => chars <= 5,
            "number" => chars <= 32 && value.chars().all(|c| c.is_ascii_digit() || c == '.'),
            "character_string" | "letter" => chars <= 32,
            _ => true,
        }
}

async fn subscribe(shared: web::Data<Shared>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let body = json_body(&body);
    let query = match enter(&shared, Endpoint::Subscribe, &req, body.as_ref()).await {
        Ok(query) => query,
        Err(reply) => return *reply,
    };
    if let Err(reply) = check_token(&shared, &query) {
        return *reply;
    }
    let Some(body) = body else {
        return error_code(47001);
    };
    if str_field(&body, "touser").is_empty() {
        return error_code(40003);
    }
    if str_field(&body, "template_id").is_empty() {
        return error_code(40037);
    }
    let Some(data) = body.get("data").and_then(Value::as_object) else {
        return error_code(47001);
    };
    for (key, entry) in data {
        let value = entry.get("value").and_then(Value::as_str).unwrap_or_default();
        if !template_value_fits(key, value) {
            return error_reply(47003, &format!("argument invalid! data.{key}.value invalid"));
        }
    }
    shared.state().subscribe_messages.push(body);
    HttpResponse::Ok().json(json!({ "errcode": 0, "errmsg": "ok", "msgid": unix_seconds() * 1000 }))
}

async fn text_check(shared: web::Data<Shared>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let body = json_body(&body);
    let query = match enter(&shared, Endpoint::TextCheck, &req, body.as_ref()).await {
        Ok(query) => query,
        Err(reply) => return *reply,
    };
    if let Err(reply) = check_token(&shared, &query) {
        return *reply;
    }
    let Some(body) = body else {
        return error_code(47001);
    };
    let scene = body.get("scene").and_then(Value::as_i64).unwrap_or(0);
    if body.get("version").and_then(Value::as_i64) != Some(2) || !(1..=4).contains(&scene) {
        return error_code(40097);
    }
    if str_field(&body, "openid").is_empty() {
        return error_code(40003);
    }
    let content = str_field(&body, "content");
    let suggest = shared
        .state()
        .text_verdicts
        .iter()
        .rev()
        .find(|(needle, _)| content.contains(needle.as_str()))
        .map(|(_, suggest)| suggest.clone())
        .unwrap_or_else(|| "pass".to_owned());
    let label = match suggest.as_str() {
        "pass" => 100,
        "review" | "risky" => 20_003,
        _ => 21_000,
    };
    HttpResponse::Ok().json(json!({
        "errcode": 0,
        "errmsg": "ok",
        "result": { "suggest": suggest, "label": label },
        "detail": [{ "strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label, "prob": 90 }],
        "trace_id": rid(),
    }))
}

const QR_SCENE_SYMBOLS: &str = "!#$&'()*+,/:;=?@-._~";

async fn qr_code(shared: web::Data<Shared>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let body = json_body(&body);
    let query = match enter(&shared, Endpoint::QrCode, &req, body.as_ref()).await {
        Ok(query) => query,
        Err(reply) => return *reply,
    };
    if let Err(reply) = check_token(&shared, &query) {
        return *reply;
    }
    let Some(body) = body else {
        return error_code(47001);
    };
    let scene = str_field(&body, "scene");
    let scene_valid = !scene.is_empty()
        && scene.chars().count() <= 32
        && scene.chars().all(|c| c.is_ascii_alphanumeric() || QR_SCENE_SYMBOLS.contains(c));
    if !scene_valid {
        return error_code(40169);
    }
    if str_field(&body, "page").starts_with('/') {
        return error_code(41030);
    }
    if !matches!(body.get("env_version").and_then(Value::as_str).unwrap_or("release"), "release" | "trial" | "develop")
    {
        return error_code(40097);
    }
    HttpResponse::Ok().content_type("image/png").body(QR_PNG)
}
