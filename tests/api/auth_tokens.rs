use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ehome_tests::{TEST_JWT_SECRET, error_code, session_from, spawn_app};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;

fn forge(secret: &str, sub: i64, iat: i64, exp: i64) -> String {
    let claims = json!({"sub": sub.to_string(), "iat": iat, "exp": exp, "typ": "access"});
    encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = spawn_app().await;
    let first = app.dev_login("rotating").await;

    let rotated = app.post("/auth/refresh", None, &json!({"refresh_token": first.refresh})).await;
    assert_eq!(rotated.status(), 200);
    let second = session_from(rotated.json().await.unwrap());
    assert_ne!(second.refresh, first.refresh);
    assert_eq!(app.get("/me", Some(&second.access)).await.status(), 200);

    // The old token again, after the grace window for racing clients: reuse. It fails and takes the
    // whole family down, including `second`.
    app.clock.advance(chrono::Duration::seconds(11));
    let reused = app.post("/auth/refresh", None, &json!({"refresh_token": first.refresh})).await;
    assert_eq!(reused.status(), 401);
    assert_eq!(error_code(reused).await, "REFRESH_TOKEN_INVALID");
    let after = app.post("/auth/refresh", None, &json!({"refresh_token": second.refresh})).await;
    assert_eq!(after.status(), 401);

    // Another sign-in is another family and still works.
    let other = app.dev_login("rotating").await;
    assert_eq!(app.post("/auth/refresh", None, &json!({"refresh_token": other.refresh})).await.status(), 200);
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = spawn_app().await;
    let session = app.dev_login("leaving").await;
    let out = app.post("/auth/logout", None, &json!({"refresh_token": session.refresh})).await;
    assert_eq!(out.status(), 204);
    let refreshed = app.post("/auth/refresh", None, &json!({"refresh_token": session.refresh})).await;
    assert_eq!(refreshed.status(), 401);
    let unknown = app.post("/auth/refresh", None, &json!({"refresh_token": "not-a-token"})).await;
    assert_eq!(unknown.status(), 401);
}

#[tokio::test]
async fn bad_access_tokens_are_refused() {
    let app = spawn_app().await;
    let session = app.dev_login("victim").await;
    let now = chrono::Utc::now().timestamp();

    let good = forge(TEST_JWT_SECRET, session.user_id, now, now + 600);
    assert_eq!(app.get("/me", Some(&good)).await.status(), 200, "the forging helper is right");

    let expired = forge(TEST_JWT_SECRET, session.user_id, now - 3600, now - 60);
    let wrong_key = forge("another-secret-another-secret-another", session.user_id, now, now + 600);
    let parts: Vec<&str> = session.access.split('.').collect();
    let tampered_payload = URL_SAFE_NO_PAD.encode(
        json!({"sub": (session.user_id + 1).to_string(), "iat": now, "exp": now + 600, "typ": "access"}).to_string(),
    );
    let tampered = format!("{}.{}.{}", parts[0], tampered_payload, parts[2]);
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let alg_none = format!("{none_header}.{tampered_payload}.");
    let garbage = "not.a.jwt".to_owned();

    for (name, token) in [
        ("expired", expired),
        ("wrong key", wrong_key),
        ("tampered", tampered),
        ("alg none", alg_none),
        ("garbage", garbage),
    ] {
        let response = app.get("/me", Some(&token)).await;
        assert_eq!(response.status(), 401, "{name}");
        assert_eq!(error_code(response).await, "UNAUTHENTICATED", "{name}");
    }
}
