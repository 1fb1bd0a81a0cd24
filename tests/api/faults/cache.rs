//! Redis unreachable: an instance that starts while Redis is away serves, degraded, and each feature
//! behaves as DESIGN §7 says — write limits fail open (logged and counted), idempotency replays fail
//! closed with 503 where points or votes move (other keyed POSTs run unguarded, counted), the WeChat access token is fetched per instance, leaderboards answer from the
//! database, `/readyz` reports the degraded cache — until Redis answers again, without a restart.
//! Redis is reached through a proxy the test cuts (the shared server is never stopped).

use std::time::{Duration, Instant};

use ehome_tests::{Endpoint, Session, TcpProxy, TestApp, error_code, spawn_app_with};
use serde_json::{Value, json};

const METRICS_TOKEN: &str = "faults-metrics-token-0123";
const WRITES_PER_MINUTE: u32 = 3;

async fn rename(app: &TestApp, session: &Session, nickname: &str) -> reqwest::Response {
    app.patch("/me", Some(&session.access), &json!({ "nickname": nickname })).await
}

async fn ask_for_code(app: &TestApp, session: &Session, key: &str) -> reqwest::Response {
    app.request(reqwest::Method::POST, "/redemptions/codes", Some(&session.access))
        .header("Idempotency-Key", key)
        .json(&json!({ "offer_id": 999_999 }))
        .send()
        .await
        .unwrap()
}

async fn readiness(app: &TestApp) -> (u16, Value) {
    let answer = app.get("/readyz", None).await;
    (answer.status().as_u16(), answer.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instance_without_redis_serves_degraded_and_recovers_when_redis_returns() {
    let redis = ehome_test_harness::redis_server();
    let proxy = TcpProxy::start(&TcpProxy::host_port(&redis)).await;
    proxy.cut();
    let url = format!("redis://127.0.0.1:{}", proxy.port);
    let limit = WRITES_PER_MINUTE.to_string();
    let app = spawn_app_with(&[
        ("REDIS_URL", &url),
        ("RATE_WRITES_PER_IP_PER_MINUTE", &limit),
        ("RATE_WRITES_PER_USER_PER_MINUTE", &limit),
        ("EHOME_METRICS_TOKEN", METRICS_TOKEN),
    ])
    .await;
    let demo = app.seed_demo().await;
    let [committee, resident, owner, buyer] =
        app.dev_logins(["demo-committee", "cache-outage-resident", "demo-resident-2", "demo-resident-1"]).await;

    let (status, body) = readiness(&app).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["status"].as_str(), body["cache"].as_str()), (Some("degraded"), Some("failing")), "{body}");
    assert_eq!(body["database"], "ok");

    // Write limits fail open: more writes than the limit all pass, each promptly, and are counted.
    for i in 0..WRITES_PER_MINUTE + 3 {
        let started = Instant::now();
        assert_eq!(rename(&app, &resident, &format!("open-{i}")).await.status(), 200, "write {i}");
        assert!(started.elapsed() < Duration::from_millis(1500), "write {i} took {:?}", started.elapsed());
    }
    let metrics = app.get("/metrics", Some(METRICS_TOKEN)).await.text().await.unwrap();
    assert!(metrics.contains(r#"cache_degraded_total{feature="rate_limit",outcome="fail_open"}"#), "{metrics}");

    // Idempotency replays fail closed: refused with 503 before anything runs.
    let refused = ask_for_code(&app, &resident, "outage-key-1").await;
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(error_code(refused).await, "SERVICE_UNAVAILABLE");
    // Any other keyed POST fails open: a resident's report is not refused for want of a cache.
    let report =
        json!({"category_id": demo.category("repair"), "title": "缓存不在时的报修", "description": "照常受理"});
    let submitted = app
        .request(reqwest::Method::POST, "/requests", Some(&buyer.access))
        .header("Idempotency-Key", "outage-report-1")
        .json(&report)
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), 201);

    // Redemption codes are one-time codes: without the guessing counters the counter refuses (503);
    // the code stays open and is captured once Redis is back.
    let shop = app.open_shop(&owner.access, &committee.access, demo.community, "community", "阿芳理发").await;
    let offer = app.add_offer(&owner.access, shop, "理发一次", "10", json!({})).await;
    app.award_points(demo.community, buyer.user_id, "50").await;
    let (_, code) = app.code_for(&buyer.access, offer).await;
    let refused = app.redeem(&owner.access, &code).await;
    assert_eq!(refused.status(), 503);
    assert_eq!(error_code(refused).await, "SERVICE_UNAVAILABLE");
    let metrics = app.get("/metrics", Some(METRICS_TOKEN)).await.text().await.unwrap();
    for counted in [
        r#"feature="idempotency",outcome="fail_closed""#,
        r#"feature="idempotency",outcome="fail_open""#,
        r#"feature="redemption_guard",outcome="fail_closed""#,
    ] {
        assert!(metrics.contains(counted), "{counted} in {metrics}");
    }

    // The WeChat access token is fetched by this instance and kept in it (the shop's texts above were
    // checked with it too).
    for (i, phone) in ["13800000001", "13800000002"].into_iter().enumerate() {
        let code = format!("outage-phone-{i}");
        app.wechat.add_phone_code(&code, phone);
        let bound = app.post("/me/phone", Some(&resident.access), &json!({ "code": code })).await;
        assert_eq!(bound.status(), 200, "phone {i}");
    }
    assert_eq!(app.wechat.calls(Endpoint::Token), 1, "one fetch, kept in the instance");

    // Leaderboards answer from the database.
    let board = format!("/communities/{}/leaderboard?period=month&by=hours", demo.community);
    assert_eq!(app.get(&board, Some(&committee.access)).await.status(), 200);

    // Redis comes back: the same instance uses it again, without a restart.
    proxy.restore();
    let started = Instant::now();
    loop {
        let (status, body) = readiness(&app).await;
        if status == 200 && body["status"] == "ready" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the cache did not recover: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ran = ask_for_code(&app, &resident, "outage-key-2").await;
    assert_ne!(ran.status(), 503, "the idempotency cache answers again");
    assert_eq!(app.redeem(&owner.access, &code).await.status(), 200, "the code kept through the outage is captured");
    // The write limit is enforced again: the fresh window's counts reach it.
    let mut statuses = Vec::new();
    for i in 0..WRITES_PER_MINUTE + 1 {
        statuses.push(rename(&app, &resident, &format!("counted-{i}")).await.status().as_u16());
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}
