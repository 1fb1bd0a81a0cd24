//! Every protected route tried with every role: no unauthorised success, no 500.

use std::collections::HashMap;

use ehome_tests::{TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

/// Who calls: each demo user (see `ehome_api::demo::DEMO_USERS`) and nobody.
const CALLERS: &[&str] = &[
    "anonymous",
    "demo-admin",
    "demo-committee",
    "demo-leader",
    "demo-grid",
    "demo-social",
    "demo-resident-1",
    "demo-newcomer",
    "demo-shop",
];

const SIGNED_IN: &[&str] = &[
    "demo-admin",
    "demo-committee",
    "demo-leader",
    "demo-grid",
    "demo-social",
    "demo-resident-1",
    "demo-newcomer",
    "demo-shop",
];

/// Routes anyone may call without a token.
const PUBLIC: &[&str] = &[
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.yaml",
    "/api/v1/auth/wechat/login",
    "/api/v1/auth/refresh",
    "/api/v1/auth/logout",
    "/api/v1/auth/dev-login",
];

struct Case {
    method: Method,
    template: &'static str,
    body: Value,
    allowed: Vec<&'static str>,
}

fn case(method: Method, template: &'static str, body: Value, allowed: &[&'static str]) -> Case {
    Case { method, template, body, allowed: allowed.to_vec() }
}

#[tokio::test]
async fn every_protected_route_with_every_role() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let mut tokens: HashMap<&str, String> = HashMap::new();
    let mut user_ids: HashMap<&str, i64> = HashMap::new();
    for caller in SIGNED_IN {
        let session = app.dev_login(caller).await;
        tokens.insert(caller, session.access);
        user_ids.insert(caller, session.user_id);
    }
    let ids = fixture(&app, &tokens["demo-newcomer"]).await;
    for caller in SIGNED_IN {
        app.wechat.add_phone_code(&format!("phone-{caller}"), "13900001111");
    }

    let committee = &["demo-admin", "demo-committee"];
    let deciders = &["demo-admin", "demo-committee", "demo-leader"];
    let role_viewers = &["demo-admin", "demo-committee", "demo-newcomer"];
    let cases = vec![
        case(Method::GET, "/api/v1/me", json!(null), SIGNED_IN),
        case(Method::PATCH, "/api/v1/me", json!({"nickname": "邻居"}), SIGNED_IN),
        case(Method::POST, "/api/v1/me/phone", json!({"code": "phone-{caller}"}), SIGNED_IN),
        case(Method::GET, "/api/v1/communities", json!(null), SIGNED_IN),
        case(Method::POST, "/api/v1/communities", json!({"district": "海曙区", "street": "月湖街道", "name": "新社区"}), &["demo-admin"]),
        case(Method::GET, "/api/v1/communities/{id}", json!(null), SIGNED_IN),
        case(Method::GET, "/api/v1/communities/{id}/grids", json!(null), SIGNED_IN),
        case(Method::POST, "/api/v1/communities/{id}/grids", json!({"name": "新网格"}), committee),
        case(Method::GET, "/api/v1/grids/{id}/buildings", json!(null), SIGNED_IN),
        case(Method::POST, "/api/v1/grids/{id}/buildings", json!({"name": "新楼"}), committee),
        case(Method::GET, "/api/v1/buildings/{id}/households", json!(null), SIGNED_IN),
        case(Method::POST, "/api/v1/buildings/{id}/households", json!({"label": "901"}), committee),
        case(Method::POST, "/api/v1/households/{id}/join-requests", json!({}), SIGNED_IN),
        case(Method::GET, "/api/v1/communities/{id}/join-requests", json!(null), deciders),
        case(Method::POST, "/api/v1/join-requests/{id}/approve", json!({}), deciders),
        case(Method::POST, "/api/v1/join-requests/{id}/reject", json!({}), deciders),
        case(Method::GET, "/api/v1/communities/{id}/members/{user_id}/roles", json!(null), role_viewers),
        case(Method::PUT, "/api/v1/communities/{id}/members/{user_id}/roles", json!({"roles": [{"role": "volunteer"}]}), committee),
    ];

    // Every route the app serves is either public or in this matrix.
    let table = ehome_api::routes::route_table(ehome_api::config::Environment::Dev);
    for (method, path) in &table {
        let covered = PUBLIC.contains(&path.as_str())
            || cases.iter().any(|c| c.method.as_str() == method && c.template == path);
        assert!(covered, "{method} {path} is neither public nor in the role matrix");
    }

    for case in &cases {
        for caller in CALLERS {
            let path = case
                .template
                .replace("{user_id}", &user_ids["demo-newcomer"].to_string())
                .replace("{id}", &ids.for_template(case.template).to_string());
            let token = tokens.get(caller).map(String::as_str);
            let mut request = app.request(case.method.clone(), &path, token);
            if !case.body.is_null() {
                let body: Value = serde_json::from_str(&case.body.to_string().replace("{caller}", caller)).unwrap();
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            assert!(status < 500, "{} {path} as {caller}: {status} {text}", case.method);
            if case.allowed.contains(caller) {
                assert!(status != 401 && status != 403, "{} {path} as {caller} should be allowed: {status} {text}", case.method);
            } else if *caller == "anonymous" {
                assert_eq!(status, 401, "{} {path} anonymously: {text}", case.method);
            } else {
                assert_eq!(status, 403, "{} {path} as {caller} must be forbidden: {text}", case.method);
            }
        }
    }
}

struct Ids {
    community: i64,
    grid: i64,
    building: i64,
    household: i64,
    join_request: i64,
}

impl Ids {
    fn for_template(&self, template: &str) -> i64 {
        if template.starts_with("/api/v1/communities") {
            self.community
        } else if template.starts_with("/api/v1/grids") {
            self.grid
        } else if template.starts_with("/api/v1/buildings") {
            self.building
        } else if template.starts_with("/api/v1/households") {
            self.household
        } else {
            self.join_request
        }
    }
}

/// Ids in the demo community; a pending claim by a stranger on a home in the demo leader's building.
async fn fixture(app: &TestApp, token: &str) -> Ids {
    let communities: Value = app.get("/communities", Some(token)).await.json().await.unwrap();
    let community = communities["items"][0]["id"].as_i64().unwrap();
    let grids: Value = app.get(&format!("/communities/{community}/grids"), Some(token)).await.json().await.unwrap();
    let grid = grids["items"][0]["id"].as_i64().unwrap();
    let buildings: Value = app.get(&format!("/grids/{grid}/buildings"), Some(token)).await.json().await.unwrap();
    let building = buildings["items"][0]["id"].as_i64().unwrap();
    let households: Value = app.get(&format!("/buildings/{building}/households"), Some(token)).await.json().await.unwrap();
    let household = households["items"][4]["id"].as_i64().unwrap();
    let stranger = app.dev_login("matrix-stranger").await;
    let claim: Value = app
        .post(&format!("/households/{household}/join-requests"), Some(&stranger.access), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    Ids { community, grid, building, household, join_request: claim["id"].as_i64().unwrap() }
}
