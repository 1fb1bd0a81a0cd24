//! `POST /api/v1/auth/wechat/login {code}` against the fake WeChat: users by openid, each errcode of
//! `jscode2session` mapped to its status, and the session key never leaving the server.

use ehome_tests::{Endpoint, TestApp, error_code, session_from, spawn_app, spawn_app_with};
use serde_json::{Value, json};

async fn login(app: &TestApp, code: &str) -> reqwest::Response {
    app.post("/auth/wechat/login", None, &json!({ "code": code })).await
}

/// Signs in and returns the body as text and as JSON, after checking that no session key is in it.
async fn login_ok(app: &TestApp, code: &str) -> Value {
    let response = login(app, code).await;
    assert_eq!(response.status(), 200, "login with {code}");
    let text = response.text().await.unwrap();
    assert!(!text.contains("session_key"), "{text}");
    for key in app.wechat.issued_session_keys() {
        assert!(!text.contains(&key), "the session key leaked: {text}");
    }
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn a_code_signs_in_and_the_same_openid_is_the_same_user() {
    let app = spawn_app().await;
    app.wechat.add_login_code("code-a1", "openid-a", None);
    app.wechat.add_login_code("code-a2", "openid-a", None);
    app.wechat.add_login_code("code-b1", "openid-b", Some("unionid-b"));

    let first = session_from(login_ok(&app, "code-a1").await);
    let again = session_from(login_ok(&app, "code-a2").await);
    let other = session_from(login_ok(&app, "code-b1").await);
    assert_eq!(first.user_id, again.user_id);
    assert_ne!(first.user_id, other.user_id);
    assert_eq!(app.wechat.issued_session_keys().len(), 3);

    let me = app.get("/me", Some(&other.access)).await;
    assert_eq!(me.status(), 200);
    let text = me.text().await.unwrap();
    assert!(!text.contains("session_key"), "{text}");
    assert_eq!(app.wechat.calls(Endpoint::Login), 3);
    assert_eq!(app.wechat.token_fetches(), 0, "login needs no access token");
}

#[tokio::test]
async fn invalid_and_used_codes_ask_to_sign_in_again() {
    let app = spawn_app().await;
    app.wechat.add_login_code("code-1", "openid-1", None);
    login_ok(&app, "code-1").await;

    let used = login(&app, "code-1").await;
    assert_eq!(used.status(), 401, "40163");
    assert_eq!(error_code(used).await, "WECHAT_CODE_INVALID");

    let unknown = login(&app, "never-issued").await;
    assert_eq!(unknown.status(), 401, "40029");
    assert_eq!(error_code(unknown).await, "WECHAT_CODE_INVALID");

    app.wechat.add_login_code("code-2", "openid-2", None);
    app.wechat.fail_next(Endpoint::Login, 40029, 1);
    let programmed = login(&app, "code-2").await;
    assert_eq!(programmed.status(), 401);
    assert_eq!(error_code(programmed).await, "WECHAT_CODE_INVALID");
    assert_eq!(app.wechat.calls(Endpoint::Login), 4, "none of them is retried");
}

#[tokio::test]
async fn a_blocked_user_is_told_so() {
    let app = spawn_app().await;
    app.wechat.add_login_code("code-1", "openid-1", None);
    app.wechat.fail_next(Endpoint::Login, 40226, 1);
    let response = login(&app, "code-1").await;
    assert_eq!(response.status(), 403);
    assert_eq!(error_code(response).await, "WECHAT_USER_BLOCKED");
    assert_eq!(app.wechat.calls(Endpoint::Login), 1);
}

#[tokio::test]
async fn busy_is_retried_then_answered_with_503() {
    let app = spawn_app_with(&[("WECHAT_BUSY_RETRIES_MAX", "2"), ("WECHAT_BUSY_BACKOFF_MS", "10")]).await;
    app.wechat.add_login_code("code-1", "openid-1", None);

    app.wechat.fail_next(Endpoint::Login, -1, 1);
    login_ok(&app, "code-1").await;
    assert_eq!(app.wechat.calls(Endpoint::Login), 2, "one busy answer, then success");

    app.wechat.add_login_code("code-2", "openid-2", None);
    app.wechat.fail_next(Endpoint::Login, -1, 3);
    let started = std::time::Instant::now();
    let response = login(&app, "code-2").await;
    assert_eq!(response.status(), 503);
    assert_eq!(error_code(response).await, "WECHAT_UNAVAILABLE");
    assert_eq!(app.wechat.calls(Endpoint::Login), 5, "a try and two retries");
    assert!(started.elapsed() >= std::time::Duration::from_millis(15), "backed off between tries");
}

#[tokio::test]
async fn quota_exhaustion_is_429_and_not_retried() {
    let app = spawn_app().await;
    app.wechat.add_login_code("code-1", "openid-1", None);
    app.wechat.fail_next(Endpoint::Login, 45011, 1);
    let response = login(&app, "code-1").await;
    assert_eq!(response.status(), 429);
    assert_eq!(error_code(response).await, "WECHAT_RATE_LIMITED");
    assert_eq!(app.wechat.calls(Endpoint::Login), 1);
    // The code was not consumed: the user can try again.
    login_ok(&app, "code-1").await;
}

#[tokio::test]
async fn a_rejected_secret_makes_the_app_not_ready() {
    let app = spawn_app().await;
    assert_eq!(app.get("/readyz", None).await.status(), 200);
    app.wechat.add_login_code("code-1", "openid-1", None);
    app.wechat.fail_next(Endpoint::Login, 40125, 1);
    let response = login(&app, "code-1").await;
    assert_eq!(response.status(), 503);
    assert_eq!(error_code(response).await, "SERVICE_UNAVAILABLE");
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status(), 503);
    let body = ready.text().await.unwrap();
    assert!(!body.contains("wx-test-secret"), "{body}");

    // Once WeChat accepts the credentials again, the app is ready again.
    login_ok(&app, "code-1").await;
    assert_eq!(app.get("/readyz", None).await.status(), 200);
}
