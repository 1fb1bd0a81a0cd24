use ehome_tests::{error_code, spawn_app};

/// `/metrics` is served only to this bearer token (see `security_http::metrics_need_the_configured_token`).
const METRICS_TOKEN: &str = "health-metrics-token-0123";

#[tokio::test]
async fn health_ready_metrics_and_request_ids() {
    let app = ehome_tests::spawn_app_with(&[("EHOME_METRICS_TOKEN", METRICS_TOKEN)]).await;
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"));

    let ready = app.get("/readyz", None).await;
    assert!(ready.headers().contains_key("x-request-id"));
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    assert_eq!(body["cache"], "ok");

    // A sane incoming request id is kept; a hostile one is replaced.
    let kept =
        app.request(reqwest::Method::GET, "/healthz", None).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(kept.headers()["x-request-id"], "abc-123");
    let replaced =
        app.request(reqwest::Method::GET, "/healthz", None).header("x-request-id", "a b\"c").send().await.unwrap();
    assert_ne!(replaced.headers()["x-request-id"], "a b\"c");

    let metrics = app.get("/metrics", Some(METRICS_TOKEN)).await;
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(text.contains("http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"), "{text}");
    assert!(text.contains("http_request_duration_seconds_bucket"));
    assert!(text.contains("db_pool_connections_in_use"));
}

#[tokio::test]
async fn dev_login_gives_a_token_that_opens_me() {
    let app = spawn_app().await;
    let session = app.dev_login("resident-openid").await;
    let me = app.get("/me", Some(&session.access)).await;
    assert_eq!(me.status(), 200);
    let body: serde_json::Value = me.json().await.unwrap();
    assert_eq!(body["id"], session.user_id);
    assert!(body.get("session_key").is_none());

    let anonymous = app.get("/me", None).await;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(error_code(anonymous).await, "UNAUTHENTICATED");
}

#[tokio::test]
async fn prod_mode_has_no_dev_login_and_refuses_weak_secrets() {
    let app = ehome_tests::spawn_app_with(&[("EHOME_ENV", "prod")]).await;
    let response = app.post("/auth/dev-login", None, &serde_json::json!({"openid": "x"})).await;
    assert_eq!(response.status(), 404);
    assert_eq!(error_code(response).await, "ROUTE_NOT_FOUND");

    let mut vars: std::collections::HashMap<String, String> =
        [("EHOME_ENV", "prod"), ("WECHAT_APPID", "wx"), ("WECHAT_SECRET", "s"), ("JWT_SECRET", "too-short")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    assert!(ehome_api::platform::config::Settings::from_vars(&vars).is_err());
    vars.remove("JWT_SECRET");
    assert!(ehome_api::platform::config::Settings::from_vars(&vars).is_err());
}

#[tokio::test]
async fn errors_speak_english_when_asked() {
    let app = spawn_app().await;
    let zh: serde_json::Value = app.get_json("/me", None).await;
    let en: serde_json::Value = app
        .request(reqwest::Method::GET, "/me", None)
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(zh["error"]["code"], en["error"]["code"]);
    assert!(zh["error"]["message"].as_str().unwrap().contains("登录"));
    assert!(en["error"]["message"].as_str().unwrap().contains("sign in"));
}
