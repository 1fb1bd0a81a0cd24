//! Issue 10, the platform half through HTTP: media URLs, `/metrics` access and read limits, the
//! default nickname, bodies that are not objects, and the dev text check. Each test fails on the code
//! before the fix.

use ehome_tests::{Endpoint, TestApp, error_code, spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::{Value, json};

async fn repair_category(app: &TestApp, token: &str) -> i64 {
    let communities: Value = app.get("/communities", Some(token)).await.json().await.unwrap();
    let community = communities["items"][0]["id"].as_i64().unwrap();
    let categories: Value =
        app.get(&format!("/communities/{community}/categories"), Some(token)).await.json().await.unwrap();
    categories["items"].as_array().unwrap().iter().find(|c| c["key"] == "repair").unwrap()["id"].as_i64().unwrap()
}

fn report(category: i64, title: &str, photos: &[&str]) -> Value {
    json!({"category_id": category, "title": title, "description": format!("{title}，请尽快处理"), "photos": photos})
}

const UNSAFE_MEDIA_URLS: &[&str] = &[
    "https://127.0.0.1:6379/internal",
    "https://[::1]/a.png",
    "https://tracker.example.com/pixel.gif",
    "https://thirdwx.qlogo.cn:8443/a.png",
    "https://user:pw@thirdwx.qlogo.cn/a.png",
    "https://thirdwx.qlogo.cn/a.png\" onerror=\"alert(1)",
    "http://thirdwx.qlogo.cn/a.png",
];

/// Item 11: avatars and request photos accept only https URLs on the media hosts.
#[tokio::test]
async fn avatar_and_photo_urls_must_be_media_urls() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let resident = app.dev_login("demo-resident-1").await;
    for url in UNSAFE_MEDIA_URLS {
        let response = app.patch("/me", Some(&resident.access), &json!({"avatar_url": url})).await;
        assert_eq!(response.status(), 400, "avatar {url}");
        assert_eq!(error_code(response).await, "VALIDATION_FAILED");
    }
    let avatar = "https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132";
    let saved = app.patch("/me", Some(&resident.access), &json!({"avatar_url": avatar})).await;
    assert_eq!(saved.status(), 200);
    assert_eq!(saved.json::<Value>().await.unwrap()["avatar_url"], avatar);

    let category = repair_category(&app, &resident.access).await;
    for url in UNSAFE_MEDIA_URLS {
        let response = app.post("/requests", Some(&resident.access), &report(category, "门禁坏了", &[url])).await;
        assert_eq!(response.status(), 400, "photo {url}");
        assert_eq!(error_code(response).await, "VALIDATION_FAILED");
    }
    let photo = "https://7465-env-1a2b-1300000000.tcb.qcloud.la/requests/door.jpg";
    let submitted = app.post("/requests", Some(&resident.access), &report(category, "门禁坏了", &[photo])).await;
    assert_eq!(submitted.status(), 201);

    // The list is configurable.
    let own_cdn = spawn_app_with(&[("EHOME_MEDIA_HOSTS", "img.example.org")]).await;
    let user = own_cdn.dev_login("own-cdn").await;
    let wechat = own_cdn.patch("/me", Some(&user.access), &json!({"avatar_url": avatar})).await;
    assert_eq!(wechat.status(), 400);
    let ours = own_cdn.patch("/me", Some(&user.access), &json!({"avatar_url": "https://img.example.org/a.png"})).await;
    assert_eq!(ours.status(), 200);
}

/// Item 12: `/metrics` needs the configured token as a bearer token; without one configured, nobody
/// (not even a signed-in admin) reads it.
#[tokio::test]
async fn metrics_need_the_configured_token() {
    let closed = spawn_app().await;
    let admin = closed.dev_login("metrics-admin").await;
    closed.make_admin(admin.user_id).await;
    for presented in [None, Some(admin.access.as_str())] {
        let response = closed.get("/metrics", presented).await;
        assert_eq!(response.status(), 401);
        assert_eq!(error_code(response).await, "UNAUTHENTICATED");
    }

    let token = "scrape-token-0123456789";
    let app = spawn_app_with(&[("EHOME_METRICS_TOKEN", token)]).await;
    for presented in [None, Some("wrong-token-0123456789"), Some("scrape-token-012345678")] {
        let response = app.get("/metrics", presented).await;
        assert_eq!(response.status(), 401, "{presented:?}");
        assert_eq!(error_code(response).await, "UNAUTHENTICATED");
    }
    let scraped = app.get("/metrics", Some(token)).await;
    assert_eq!(scraped.status(), 200);
    assert!(scraped.text().await.unwrap().contains("http_requests_total"));
}

/// Item 12: GET requests are limited per user and per address, like writes.
#[tokio::test]
async fn reads_are_rate_limited_per_user_and_per_address() {
    let app = spawn_app_with(&[("RATE_READS_PER_USER_PER_MINUTE", "3"), ("RATE_READS_PER_IP_PER_MINUTE", "8")]).await;
    let busy = app.dev_login("busy-reader").await;
    let calm = app.dev_login("calm-reader").await;
    for _ in 0..3 {
        assert_eq!(app.get("/me", Some(&busy.access)).await.status(), 200);
    }
    let limited = app.get("/me", Some(&busy.access)).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(error_code(limited).await, "RATE_LIMITED");
    assert_eq!(app.get("/me", Some(&calm.access)).await.status(), 200, "another user has their own count");

    // Eight reads from this address so far (four, one, and these three); the ninth is over.
    for _ in 0..3 {
        assert_eq!(app.get("/me", None).await.status(), 401);
    }
    assert_eq!(app.get("/me", None).await.status(), 429, "per address, signed in or not");
    assert_eq!(app.get("/healthz", None).await.status(), 200, "probes are not limited");
}

/// Item 13: a new user's nickname shows nothing of their openid.
#[tokio::test]
async fn the_default_nickname_is_neutral() {
    let app = spawn_app().await;
    let dev: Value = app
        .post("/auth/dev-login", None, &json!({"openid": "o6_bmjrPTlm6_2sgVt7hMZOPfe123"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(dev["user"]["nickname"], "邻居");
    app.wechat.add_login_code("code-neutral", "oWx-openid-e123", None);
    let wechat: Value =
        app.post("/auth/wechat/login", None, &json!({"code": "code-neutral"})).await.json().await.unwrap();
    assert_eq!(wechat["user"]["nickname"], "邻居");
}

/// Item 14: on every route that takes a body, a JSON array in place of an object is `INVALID_JSON`.
#[tokio::test]
async fn positional_array_bodies_are_refused_on_every_route() {
    let app = spawn_app().await;
    let session = app.dev_login("array-sender").await;
    let positional = json!(["nick", null]);
    let table = ehome_api::routes::route_table(ehome_api::platform::config::Environment::Dev);
    let mut walked = 0;
    for (method, template) in &table {
        if !matches!(method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE") {
            continue;
        }
        let path = template.split('/').map(|part| if part.starts_with('{') { "1" } else { part }).collect::<Vec<_>>();
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let response =
            app.request(method.clone(), &path.join("/"), Some(&session.access)).json(&positional).send().await.unwrap();
        assert_eq!(response.status(), 400, "{method} {template}");
        assert_eq!(error_code(response).await, "INVALID_JSON", "{method} {template}");
        walked += 1;
    }
    assert!(walked > 10, "the walk saw the write routes");

    // An optional body sent without a content type is read as JSON too, so it is checked as well;
    // an object still passes.
    let bare = app.request(Method::PATCH, "/me", Some(&session.access)).body("  [\"nick\"]").send().await.unwrap();
    assert_eq!(bare.status(), 400);
    let object = app.patch("/me", Some(&session.access), &json!({"nickname": "新名字"})).await;
    assert_eq!(object.status(), 200);
}

/// Item 16: in dev mode without WeChat credentials, text goes through the local word list: the demo
/// publishes and a listed word is refused, and WeChat is never asked. With credentials WeChat decides.
#[tokio::test]
async fn dev_without_credentials_checks_text_locally() {
    let app = spawn_app_with(&[("WECHAT_APPID", ""), ("WECHAT_SECRET", "")]).await;
    app.seed_demo().await;
    let resident = app.dev_login("demo-resident-1").await;
    let category = repair_category(&app, &resident.access).await;
    let published = app.post("/requests", Some(&resident.access), &report(category, "楼道灯不亮", &[])).await;
    assert_eq!(published.status(), 201);
    let body: Value = published.json().await.unwrap();
    assert_eq!(body["request"]["moderation"], "published", "{body}");
    let refused = app.post("/requests", Some(&resident.access), &report(category, "楼下有人赌博", &[])).await;
    assert_eq!(refused.status(), 422);
    assert_eq!(error_code(refused).await, "CONTENT_REJECTED");
    assert_eq!(app.wechat.calls(Endpoint::TextCheck), 0, "WeChat is not asked");

    let real = spawn_app().await;
    real.seed_demo().await;
    let resident = real.dev_login("demo-resident-1").await;
    let category = repair_category(&real, &resident.access).await;
    assert_eq!(
        real.post("/requests", Some(&resident.access), &report(category, "楼道灯不亮", &[])).await.status(),
        201
    );
    assert_eq!(real.wechat.calls(Endpoint::TextCheck), 1, "with credentials WeChat decides");
}

/// Reads are counted in each instance and shared once a second: a reader who used up the minute on one
/// instance is refused by another within a few seconds. (With the embedded in-process cache there is
/// one instance by design and nothing to share; the PostgreSQL + Redis run covers this.)
#[tokio::test]
async fn read_limits_reach_every_instance_through_the_shared_counters() {
    let limits = [("RATE_READS_PER_USER_PER_MINUTE", "5"), ("RATE_READS_PER_IP_PER_MINUTE", "1000")];
    let one = spawn_app_with(&limits).await;
    if one.database.redis_url.is_none() {
        return;
    }
    let two = ehome_tests::spawn_app_sharing_with(&one, &limits).await;
    let reader = one.dev_login("reader-on-two-instances").await;
    for _ in 0..5 {
        assert_eq!(one.get("/me", Some(&reader.access)).await.status(), 200);
    }
    assert_eq!(one.get("/me", Some(&reader.access)).await.status(), 429);
    // The minute of the test clock does not move; wait for the instances' exchanges (one a second).
    let mut refused = false;
    for _ in 0..50 {
        let status = two.get("/me", Some(&reader.access)).await.status();
        if status == 429 {
            refused = true;
            break;
        }
        assert_eq!(status, 200);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(refused, "the second instance learned of the first instance's reads");
}
