//! The WeChat access token across app instances: one token in Redis, fetched once for everyone,
//! refreshed once when WeChat rejects it, and a rejected secret making the app not ready.

use ehome_tests::{Endpoint, Session, TestApp, error_code, spawn_app, two_instances_on_redis};
use serde_json::{Value, json};

async fn bind_phone(app: &TestApp, session: &Session, code: &str) -> reqwest::Response {
    app.post("/me/phone", Some(&session.access), &json!({ "code": code })).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_and_200_calls_fetch_one_token() {
    let (first, second) = two_instances_on_redis(&[]).await;
    // Hold the token fetch open so that every call arrives while it is in flight.
    first.wechat.set_delay_ms(Endpoint::Token, 300);
    let residents = [first.dev_login("resident-1").await, second.dev_login("resident-2").await];

    let mut calls = Vec::new();
    for i in 0..200 {
        let code = format!("phone-code-{i}");
        let phone = format!("138{i:08}");
        first.wechat.add_phone_code(&code, &phone);
        let app = if i % 2 == 0 { &first } else { &second };
        let request = app
            .request(reqwest::Method::POST, "/me/phone", Some(&residents[i % 2].access))
            .json(&json!({ "code": code }));
        calls.push(tokio::spawn(async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap(), phone)
        }));
    }
    for call in calls {
        let (status, body, phone) = call.await.unwrap();
        assert_eq!(status, 200, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["phone"], phone.as_str());
    }
    assert_eq!(first.wechat.calls(Endpoint::Phone), 200);
    assert_eq!(first.wechat.token_fetches(), 1, "one token for both instances");
    assert_eq!(first.wechat.force_refreshes(), 0);
}

#[tokio::test]
async fn a_rejected_token_is_refreshed_once_for_every_instance() {
    let (first, second) = two_instances_on_redis(&[]).await;
    let resident = first.dev_login("resident-1").await;
    for code in ["p1", "p2", "p3"] {
        first.wechat.add_phone_code(code, "13800138000");
    }
    assert_eq!(bind_phone(&first, &resident, "p1").await.status(), 200);
    assert_eq!(first.wechat.token_fetches(), 1);

    first.wechat.invalidate_tokens();
    let response = bind_phone(&first, &resident, "p2").await;
    assert_eq!(response.status(), 200, "retried with a fresh token");
    assert_eq!(first.wechat.token_fetches(), 2, "one refresh");
    assert_eq!(first.wechat.calls(Endpoint::Phone), 3, "42001, then the one retry");

    // The other instance reads the refreshed token from Redis.
    assert_eq!(bind_phone(&second, &resident, "p3").await.status(), 200);
    assert_eq!(first.wechat.token_fetches(), 2);
    assert_eq!(first.wechat.calls(Endpoint::Phone), 4);
}

#[tokio::test]
async fn a_token_rejected_twice_is_not_refreshed_again() {
    let app = spawn_app().await;
    let resident = app.dev_login("resident-1").await;
    app.wechat.add_phone_code("p1", "13800138000");
    app.wechat.fail_next(Endpoint::Phone, 40001, 2);
    let response = bind_phone(&app, &resident, "p1").await;
    assert_eq!(response.status(), 500);
    assert_eq!(error_code(response).await, "INTERNAL");
    assert_eq!(app.wechat.calls(Endpoint::Phone), 2);
    assert_eq!(app.wechat.token_fetches(), 2);
}

#[tokio::test]
async fn a_rejected_appid_on_the_token_endpoint_makes_the_app_not_ready() {
    let app = spawn_app().await;
    let resident = app.dev_login("resident-1").await;
    app.wechat.add_phone_code("p1", "13800138000");
    assert_eq!(app.get("/readyz", None).await.status(), 200);

    app.wechat.fail_next(Endpoint::Token, 40013, 1);
    let response = bind_phone(&app, &resident, "p1").await;
    assert_eq!(response.status(), 503);
    assert_eq!(error_code(response).await, "SERVICE_UNAVAILABLE");
    assert_eq!(app.wechat.calls(Endpoint::Phone), 0, "no token, no call");
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status(), 503);
    let body = ready.text().await.unwrap();
    assert!(!body.contains("wx-test-secret"), "{body}");
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["wechat"], "failing", "the readiness report itself, not an error body: {body}");
    assert_eq!(report["database"], "ok");

    // Once WeChat accepts the appid again, the app is ready again.
    assert_eq!(bind_phone(&app, &resident, "p1").await.status(), 200);
    assert_eq!(app.get("/readyz", None).await.status(), 200);
}

#[tokio::test]
async fn phone_codes_map_like_login_codes() {
    let app = spawn_app().await;
    let resident = app.dev_login("resident-1").await;
    app.wechat.add_phone_code("p1", "13800138000");
    assert_eq!(bind_phone(&app, &resident, "p1").await.status(), 200);
    let used = bind_phone(&app, &resident, "p1").await;
    assert_eq!(used.status(), 401);
    assert_eq!(error_code(used).await, "WECHAT_CODE_INVALID");

    app.wechat.add_phone_code_with_appid("p-other", "13900139000", "wx-another-app");
    let foreign = bind_phone(&app, &resident, "p-other").await;
    assert_eq!(foreign.status(), 401, "a phone code of another mini-program does not work here");

    app.wechat.add_phone_code("p2", "13900139000");
    app.wechat.fail_next(Endpoint::Phone, 45009, 1);
    let quota = bind_phone(&app, &resident, "p2").await;
    assert_eq!(quota.status(), 429);
    assert_eq!(error_code(quota).await, "WECHAT_RATE_LIMITED");
    let me: Value = app.get_json("/me", Some(&resident.access)).await;
    assert_eq!(me["phone"], "13800138000", "the failed calls changed nothing");
}
