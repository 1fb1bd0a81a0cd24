use ehome_tests::{error_code, spawn_app, spawn_app_with};
use serde_json::json;

#[tokio::test]
async fn bad_input_is_a_4xx_with_a_code_never_a_500() {
    let app = spawn_app().await;
    let session = app.dev_login("careless").await;
    let token = Some(session.access.as_str());

    let malformed = app
        .request(reqwest::Method::POST, "/auth/dev-login", None)
        .header("content-type", "application/json")
        .body("{\"openid\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(error_code(malformed).await, "INVALID_JSON");

    let unknown_field = app.patch("/me", token, &json!({"nickname": "ok", "is_admin": true})).await;
    assert_eq!(unknown_field.status(), 400);
    assert_eq!(error_code(unknown_field).await, "VALIDATION_FAILED");

    let wrong_type = app.patch("/me", token, &json!({"nickname": 42})).await;
    assert_eq!(wrong_type.status(), 400);
    assert_eq!(error_code(wrong_type).await, "VALIDATION_FAILED");

    let too_long = app.patch("/me", token, &json!({"nickname": "长".repeat(33)})).await;
    assert_eq!(too_long.status(), 400);

    let big = "x".repeat(300 * 1024);
    let oversized = app.patch("/me", token, &json!({"nickname": big})).await;
    assert_eq!(oversized.status(), 413);
    assert_eq!(error_code(oversized).await, "PAYLOAD_TOO_LARGE");

    let wrong_content_type = app
        .request(reqwest::Method::PATCH, "/me", token)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(wrong_content_type.status().is_client_error());
    error_code(wrong_content_type).await;

    let bad_path = app.get("/communities/not-a-number", token).await;
    assert_eq!(bad_path.status(), 400);
    error_code(bad_path).await;

    let bad_query = app.get("/communities?limit=abc", token).await;
    assert_eq!(bad_query.status(), 400);
    assert_eq!(error_code(bad_query).await, "INVALID_QUERY");

    let bad_cursor = app.get("/communities?cursor=%%%", token).await;
    assert_eq!(bad_cursor.status(), 400);

    let unknown_route = app.get("/no/such/thing", token).await;
    assert_eq!(unknown_route.status(), 404);
    assert_eq!(error_code(unknown_route).await, "ROUTE_NOT_FOUND");

    let wrong_method = app.request(reqwest::Method::DELETE, "/me", token).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(error_code(wrong_method).await, "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn writes_are_rate_limited_with_retry_after() {
    let app = spawn_app_with(&[("RATE_WRITES_PER_USER_PER_MINUTE", "3"), ("RATE_LOGIN_PER_IP_PER_MINUTE", "5")]).await;
    let session = app.dev_login("eager").await;
    let token = Some(session.access.as_str());
    for _ in 0..3 {
        assert_eq!(app.patch("/me", token, &json!({"nickname": "快手"})).await.status(), 200);
    }
    let limited = app.patch("/me", token, &json!({"nickname": "快手"})).await;
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    assert_eq!(error_code(limited).await, "RATE_LIMITED");
    // Reads are not writes.
    assert_eq!(app.get("/me", token).await.status(), 200);

    // Sign-in is limited per IP: one dev-login above, four more pass, the sixth is refused.
    for _ in 0..4 {
        assert_eq!(app.post("/auth/dev-login", None, &json!({"openid": "another"})).await.status(), 200);
    }
    assert_eq!(app.post("/auth/dev-login", None, &json!({"openid": "another"})).await.status(), 429);
}

#[tokio::test]
async fn a_write_refused_for_its_address_is_not_charged_to_the_user() {
    let app = spawn_app_with(&[
        ("RATE_WRITES_PER_IP_PER_MINUTE", "2"),
        ("RATE_WRITES_PER_USER_PER_MINUTE", "3"),
        ("EHOME_TRUSTED_PROXIES", "127.0.0.1/32, ::1"),
    ])
    .await;
    let session = app.dev_login("roaming").await;
    let token = Some(session.access.as_str());
    let write_from = |address: &'static str| {
        app.request(reqwest::Method::PATCH, "/me", token)
            .header("x-forwarded-for", address)
            .json(&json!({"nickname": "流动"}))
            .send()
    };
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(write_from("203.0.113.1").await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429], "the address allows two writes a minute");
    // The user has made two writes: the refused third was not counted for them.
    assert_eq!(write_from("203.0.113.2").await.unwrap().status(), 200, "the user's third write, from elsewhere");
    let over = write_from("203.0.113.3").await.unwrap();
    assert_eq!(over.status(), 429, "the user's fourth write is over their limit of three");
    assert!(over.headers().contains_key("retry-after"));
}
