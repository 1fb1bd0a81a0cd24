//! The WeChat client against the fake WeChat server, without the app: every errcode of WECHAT.md
//! and the token shared between two clients ("instances") over one cache.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ehome_api::platform::cache::{Cache, MemoryCache, RedisCache};
use ehome_api::platform::config::{Secret, WechatSettings};
use ehome_api::platform::wechat::{
    ACCESS_TOKEN_KEY, SendOutcome, SubscribeMessage, TextScene, TextVerdict, WechatClient, WechatError,
};
use ehome_tests::fake_wechat::{Endpoint, FAKE_APPID, FAKE_SECRET, FakeWechat, QR_PNG};

fn settings(base: &str) -> WechatSettings {
    WechatSettings {
        appid: FAKE_APPID.to_owned(),
        secret: Secret::new(FAKE_SECRET),
        text_check: ehome_api::platform::config::TextCheck::Wechat,
        api_base: base.to_owned(),
        connect_timeout_ms: 1_000,
        request_timeout_ms: 2_000,
        busy_retries_max: 2,
        busy_backoff_ms_initial: 20,
        token_margin_seconds: 60,
    }
}

fn memory_cache() -> Cache {
    Arc::new(MemoryCache::new(&format!("test:{}:", uuid::Uuid::new_v4())))
}

async fn setup() -> (FakeWechat, WechatClient) {
    let fake = FakeWechat::start().await;
    let client = WechatClient::new(&settings(&fake.base_url()), memory_cache()).expect("client");
    (fake, client)
}

fn message(touser: &str) -> SubscribeMessage {
    SubscribeMessage {
        touser: touser.to_owned(),
        template_id: "tmpl-request-update".to_owned(),
        page: Some("pages/requests/detail?id=42".to_owned()),
        data: vec![("thing1".to_owned(), "楼道灯坏了".to_owned()), ("phrase2".to_owned(), "已受理".to_owned())],
        miniprogram_state: Some("formal".to_owned()),
        lang: None,
    }
}

#[tokio::test]
async fn login_returns_the_session_and_a_code_works_once() {
    let (fake, client) = setup().await;
    fake.add_login_code("code-1", "openid-1", Some("unionid-1"));
    fake.add_login_code("code-2", "openid-2", None);

    let session = client.code_to_session("code-1").await.expect("login");
    assert_eq!(session.openid, "openid-1");
    assert_eq!(session.unionid.as_deref(), Some("unionid-1"));
    assert_eq!(fake.issued_session_keys(), vec![session.session_key.expose().to_owned()]);
    assert!(!format!("{session:?}").contains(session.session_key.expose()));

    let without_unionid = client.code_to_session("code-2").await.expect("login");
    assert_eq!(without_unionid.unionid, None);

    assert!(matches!(client.code_to_session("code-1").await, Err(WechatError::CodeInvalid)), "used code → 40163");
    assert!(matches!(client.code_to_session("never-issued").await, Err(WechatError::CodeInvalid)), "40029");
    assert!(matches!(client.code_to_session("").await, Err(WechatError::CodeInvalid)));
    assert_eq!(fake.calls(Endpoint::Login), 4, "an empty code is refused before any call");
    assert_eq!(fake.token_fetches(), 0, "login needs no access token");
}

#[tokio::test]
async fn busy_is_retried_with_backoff_then_given_up() {
    let (fake, client) = setup().await;
    fake.add_login_code("code-1", "openid-1", None);
    fake.fail_next(Endpoint::Login, -1, 1);
    assert_eq!(client.code_to_session("code-1").await.expect("second attempt").openid, "openid-1");
    assert_eq!(fake.calls(Endpoint::Login), 2);

    fake.add_login_code("code-2", "openid-2", None);
    fake.fail_next(Endpoint::Login, -1, 3);
    let started = Instant::now();
    assert!(matches!(client.code_to_session("code-2").await, Err(WechatError::Busy)));
    // One try and two retries (busy_retries_max = 2), waiting about 20 ms then 40 ms between them.
    assert_eq!(fake.calls(Endpoint::Login), 5);
    assert!(started.elapsed() >= Duration::from_millis(40), "backoff waited {:?}", started.elapsed());
}

#[tokio::test]
async fn quota_blocked_and_unknown_errors_are_not_retried() {
    let (fake, client) = setup().await;
    fake.add_login_code("code-1", "openid-1", None);
    fake.fail_next(Endpoint::Login, 45011, 1);
    assert!(matches!(client.code_to_session("code-1").await, Err(WechatError::QuotaExceeded)));
    fake.fail_next(Endpoint::Login, 40226, 1);
    assert!(matches!(client.code_to_session("code-1").await, Err(WechatError::UserBlocked)));
    fake.fail_next(Endpoint::Login, 48001, 1);
    match client.code_to_session("code-1").await {
        Err(WechatError::Api { errcode: 48001, errmsg }) => assert!(errmsg.contains("rid: "), "{errmsg}"),
        other => panic!("expected Api 48001, got {other:?}"),
    }
    assert_eq!(fake.calls(Endpoint::Login), 3);
    // The code was never consumed by the failures.
    assert_eq!(client.code_to_session("code-1").await.expect("login").openid, "openid-1");
}

#[tokio::test]
async fn phone_number_uses_one_token_in_the_query_string() {
    let (fake, client) = setup().await;
    fake.add_phone_code("phone-1", "13800138000");
    fake.add_phone_code("phone-2", "13900139000");
    let info = client.phone_number("phone-1").await.expect("phone");
    assert_eq!(info.pure_phone_number, "13800138000");
    assert_eq!(info.phone_number, "13800138000");
    assert_eq!(info.country_code, "86");
    client.phone_number("phone-2").await.expect("phone");
    assert!(matches!(client.phone_number("phone-1").await, Err(WechatError::CodeInvalid)));

    assert_eq!(fake.token_fetches(), 1);
    assert_eq!(fake.force_refreshes(), 0);
    for request in fake.requests(Endpoint::Phone) {
        assert!(request.query.get("access_token").is_some_and(|t| t.starts_with("fake-token-")));
        assert!(request.body.is_some_and(|b| b.get("access_token").is_none()));
    }
}

#[tokio::test]
async fn a_phone_number_for_another_appid_is_rejected() {
    let (fake, client) = setup().await;
    fake.add_phone_code_with_appid("phone-x", "13800138000", "wx-someone-else");
    assert!(matches!(client.phone_number("phone-x").await, Err(WechatError::WatermarkMismatch)));
}

#[tokio::test]
async fn an_invalidated_token_is_refreshed_and_the_call_retried_once() {
    let (fake, client) = setup().await;
    fake.add_phone_code("phone-1", "13800138000");
    fake.add_phone_code("phone-2", "13900139000");
    let first_token = client.access_token().await.expect("token");
    assert_eq!(fake.token_fetches(), 1);

    fake.invalidate_tokens();
    client.phone_number("phone-1").await.expect("retried with a new token");
    assert_eq!(fake.token_fetches(), 2);
    assert_eq!(fake.calls(Endpoint::Phone), 2);
    assert_ne!(client.access_token().await.expect("token"), first_token);

    // A token rejected again after the refresh is not refreshed a second time.
    fake.fail_next(Endpoint::Phone, 40001, 2);
    assert!(matches!(client.phone_number("phone-2").await, Err(WechatError::Api { errcode: 40001, .. })));
    assert_eq!(fake.calls(Endpoint::Phone), 4);
    assert_eq!(fake.token_fetches(), 3);
}

#[tokio::test]
async fn a_rejected_secret_is_a_configuration_fault_until_the_credentials_work() {
    let (fake, client) = setup().await;
    fake.add_phone_code("phone-1", "13800138000");
    fake.fail_next(Endpoint::Token, 40125, 1);
    assert!(matches!(client.phone_number("phone-1").await, Err(WechatError::Misconfigured { errcode: 40125 })));
    let fault = client.configuration_fault().expect("fault set");
    assert!(fault.contains("40125"), "{fault}");
    assert!(!fault.contains(FAKE_SECRET));
    assert_eq!(fake.calls(Endpoint::Phone), 0);

    client.phone_number("phone-1").await.expect("credentials work again");
    assert_eq!(client.configuration_fault(), None);
}

#[tokio::test]
async fn a_wrong_secret_is_reported_by_the_fake_itself() {
    let fake = FakeWechat::start().await;
    let mut wrong = settings(&fake.base_url());
    wrong.secret = Secret::new("not-the-secret");
    let client = WechatClient::new(&wrong, memory_cache()).expect("client");
    assert!(matches!(client.access_token().await, Err(WechatError::Misconfigured { errcode: 40125 })));
    fake.add_login_code("code-1", "openid-1", None);
    let err = client.code_to_session("code-1").await.expect_err("bad secret");
    assert!(matches!(err, WechatError::Misconfigured { errcode: 40125 }));
    assert!(client.configuration_fault().is_some());
}

#[tokio::test]
async fn subscription_messages_are_sent_checked_and_not_subscribed_is_normal() {
    let (fake, client) = setup().await;
    assert_eq!(client.send_subscribe(&message("openid-1")).await.expect("send"), SendOutcome::Sent);
    let sent = fake.last_subscribe_messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["touser"], "openid-1");
    assert_eq!(sent[0]["data"]["thing1"]["value"], "楼道灯坏了");
    assert_eq!(sent[0]["page"], "pages/requests/detail?id=42");
    assert_eq!(sent[0]["miniprogram_state"], "formal");
    assert!(sent[0].get("lang").is_none());

    fake.fail_next(Endpoint::Subscribe, 43101, 1);
    assert_eq!(client.send_subscribe(&message("openid-2")).await.expect("normal"), SendOutcome::NotSubscribed);

    fake.fail_next(Endpoint::Subscribe, 47003, 1);
    match client.send_subscribe(&message("openid-3")).await {
        // The fake names one field of the message, as WeChat does.
        Err(WechatError::InvalidTemplateData { field }) => {
            assert!(["thing1", "phrase2"].contains(&field.as_str()))
        }
        other => panic!("expected InvalidTemplateData, got {other:?}"),
    }
    assert_eq!(fake.calls(Endpoint::Subscribe), 3, "neither 43101 nor 47003 is retried");

    let mut too_long = message("openid-4");
    too_long.data[1].1 = "这个短语太长了".to_owned();
    match client.send_subscribe(&too_long).await {
        Err(WechatError::InvalidTemplateData { field }) => assert_eq!(field, "phrase2"),
        other => panic!("expected InvalidTemplateData, got {other:?}"),
    }
    assert_eq!(fake.calls(Endpoint::Subscribe), 3, "checked locally, never sent");
}

#[tokio::test]
async fn text_check_decides_on_suggest_and_fails_closed() {
    let (fake, client) = setup().await;
    fake.set_text_verdict("广告", "review");
    fake.set_text_verdict("违禁", "risky");
    fake.set_text_verdict("奇怪", "maybe");
    let check = |text: &'static str| {
        let client = client.clone();
        async move { client.check_text("openid-1", TextScene::Forum, text).await }
    };
    assert_eq!(check("楼道灯坏了").await.expect("pass"), TextVerdict::Pass);
    assert_eq!(check("加微信看广告").await.expect("review"), TextVerdict::Review);
    assert_eq!(check("违禁内容").await.expect("risky"), TextVerdict::Risky);
    assert!(matches!(check("奇怪的回答").await, Err(WechatError::UnknownVerdict { .. })));
    let request = &fake.requests(Endpoint::TextCheck)[0];
    let body = request.body.as_ref().expect("body");
    assert_eq!(body["version"], 2);
    assert_eq!(body["scene"], 3);
    assert_eq!(body["openid"], "openid-1");
}

#[tokio::test]
async fn qr_codes_are_image_bytes_or_json_errors() {
    let (fake, client) = setup().await;
    let image = client.wxa_code("a=7&c=k3", "pages/checkin/index", 430).await.expect("image");
    assert_eq!(image, QR_PNG);

    fake.fail_next(Endpoint::QrCode, 45009, 1);
    assert!(matches!(client.wxa_code("a=7", "pages/checkin/index", 430).await, Err(WechatError::QuotaExceeded)));

    for (scene, page, width) in [
        ("含中文", "pages/checkin/index", 430),
        ("a b", "pages/checkin/index", 430),
        (&"x".repeat(33)[..], "pages/checkin/index", 430),
        ("a=7", "/pages/checkin/index", 430),
        ("a=7", "pages/checkin/index", 100),
    ] {
        assert!(
            matches!(client.wxa_code(scene, page, width).await, Err(WechatError::InvalidInput(_))),
            "{scene} {page} {width}"
        );
    }
    assert_eq!(fake.calls(Endpoint::QrCode), 2, "invalid input is never sent");
}

#[tokio::test]
async fn timeouts_and_unreachable_servers_are_transport_errors_without_secrets() {
    let fake = FakeWechat::start().await;
    let mut quick = settings(&fake.base_url());
    quick.request_timeout_ms = 200;
    let client = WechatClient::new(&quick, memory_cache()).expect("client");
    fake.add_login_code("code-1", "openid-1", None);
    fake.set_delay_ms(Endpoint::Login, 1_000);
    let started = Instant::now();
    let err = client.code_to_session("code-1").await.expect_err("timeout");
    assert!(matches!(err, WechatError::Transport(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(900));
    assert!(!err.to_string().contains(FAKE_SECRET), "{err}");

    fake.stop().await;
    let err = client.access_token().await.expect_err("server stopped");
    assert!(matches!(err, WechatError::Transport(_)), "{err:?}");
    assert!(!err.to_string().contains(FAKE_SECRET), "{err}");
}

/// Two clients over one cache stand for two app instances over one Redis.
async fn two_instances_fetch_one_token(first_cache: Cache, second_cache: Cache) {
    let fake = FakeWechat::start().await;
    // Keep the fetch in flight long enough for every caller to arrive while it is.
    fake.set_delay_ms(Endpoint::Token, 200);
    let instances = [
        WechatClient::new(&settings(&fake.base_url()), first_cache).expect("client"),
        WechatClient::new(&settings(&fake.base_url()), second_cache).expect("client"),
    ];
    let mut calls = Vec::new();
    for i in 0..200 {
        let code = format!("phone-{i}");
        fake.add_phone_code(&code, &format!("1380013{i:04}"));
        let client = instances[i % 2].clone();
        calls.push(tokio::spawn(async move { client.phone_number(&code).await }));
    }
    for (i, call) in calls.into_iter().enumerate() {
        let info = call.await.expect("task").expect("phone");
        assert_eq!(info.pure_phone_number, format!("1380013{i:04}"));
    }
    assert_eq!(fake.token_fetches(), 1);
    assert_eq!(fake.calls(Endpoint::Phone), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_over_one_memory_cache_fetch_one_token() {
    let cache = memory_cache();
    two_instances_fetch_one_token(cache.clone(), cache).await;
}

/// The same over a real Redis, through two separate connections: run with the PostgreSQL + Redis
/// backend of the harness (`EHOME_TEST_BACKEND=postgres`) or when `EHOME_TEST_REDIS_URL` is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_over_one_redis_fetch_one_token() {
    if !ehome_tests::redis_configured() {
        eprintln!("skipped: Redis is used with EHOME_TEST_BACKEND=postgres or EHOME_TEST_REDIS_URL");
        return;
    }
    let redis = ehome_tests::RedisPrefix::new();
    let first: Cache = Arc::new(RedisCache::connect(&redis.server, &redis.prefix).await.expect("redis"));
    let second: Cache = Arc::new(RedisCache::connect(&redis.server, &redis.prefix).await.expect("redis"));
    two_instances_fetch_one_token(first.clone(), second).await;
    first.delete(ACCESS_TOKEN_KEY).await.expect("cleanup");
}
