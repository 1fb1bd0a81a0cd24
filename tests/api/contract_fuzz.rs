//! What the contract fuzz (`scripts/fuzz-api.sh`, Schemathesis against `openapi.yaml`) found, each kept
//! fixed through HTTP: a 405 names the methods the path serves, a whole number written as a float is the
//! integer the schema says it may be, a client's request id the server does not keep is replaced, not
//! refused, and a platform admin naming an unknown community gets 404, not a foreign key's 500.

use ehome_tests::{error_code, spawn_app};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_405_carries_allow_with_the_methods_of_the_path() {
    let app = spawn_app().await;
    let session = app.dev_login("allow").await;
    let token = Some(session.access.as_str());

    let wrong = app.request(Method::DELETE, "/me", token).send().await.unwrap();
    assert_eq!(wrong.status(), 405);
    assert_eq!(wrong.headers()["allow"].to_str().unwrap(), "GET, PATCH");
    assert_eq!(error_code(wrong).await, "METHOD_NOT_ALLOWED");

    // Operations endpoints outside /api/v1 too, and methods nobody routes (TRACE).
    let trace = app.request(Method::TRACE, "/healthz", None).send().await.unwrap();
    assert_eq!(trace.status(), 405);
    assert_eq!(trace.headers()["allow"].to_str().unwrap(), "GET");

    let on_a_template = app.request(Method::PUT, "/requests/1/comments", token).send().await.unwrap();
    assert_eq!(on_a_template.status(), 405);
    assert_eq!(on_a_template.headers()["allow"].to_str().unwrap(), "POST");
}

#[tokio::test]
async fn a_whole_number_written_as_a_float_is_an_integer() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let committee = app.dev_login("demo-committee").await.access;
    let category = format!("/categories/{}", demo.category("repair"));

    let patched = app.patch(&category, Some(&committee), &json!({"response_sla_hours": 24.0})).await;
    assert_eq!(patched.status(), 200);
    let body: serde_json::Value = patched.json().await.unwrap();
    assert_eq!(body["response_sla_hours"], 24);

    // Exponent form, inside arrays and objects alike.
    let exponent = app
        .request(Method::PATCH, &category, Some(&committee))
        .header("content-type", "application/json")
        .body(r#"{"resolution_sla_hours": 4.8e1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(exponent.status(), 200);
    assert_eq!(exponent.json::<serde_json::Value>().await.unwrap()["resolution_sla_hours"], 48);

    // A fraction is still not an integer, and a float beyond i64 is not one either.
    let fraction = app.patch(&category, Some(&committee), &json!({"response_sla_hours": 24.5})).await;
    assert_eq!(fraction.status(), 400);
    assert_eq!(error_code(fraction).await, "VALIDATION_FAILED");
    let huge = app
        .request(Method::PATCH, &category, Some(&committee))
        .header("content-type", "application/json")
        .body(r#"{"response_sla_hours": 1e300}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 400);
}

#[tokio::test]
async fn a_request_id_of_any_shape_is_replaced_not_refused() {
    let app = spawn_app().await;
    for sent in ["<0w", "has space", &"x".repeat(65)] {
        let response = app.request(Method::GET, "/healthz", None).header("x-request-id", sent).send().await.unwrap();
        assert_eq!(response.status(), 200, "x-request-id {sent:?}");
        let echoed = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(echoed, sent);
        assert!(!echoed.is_empty());
    }
    let kept = app.request(Method::GET, "/healthz", None).header("x-request-id", "fuzz-42_A").send().await.unwrap();
    assert_eq!(kept.headers()["x-request-id"].to_str().unwrap(), "fuzz-42_A");
}

#[tokio::test]
async fn a_platform_admin_setting_the_rate_of_an_unknown_community_gets_404() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let admin = app.dev_login("demo-admin").await.access;
    let unknown =
        app.put("/communities/9223372036854775806/settlement-rate", Some(&admin), &json!({"rate": "0.10"})).await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(error_code(unknown).await, "NOT_FOUND");
}
