//! HTTP caching and compression: the structure and category lists carry a strong `ETag` and answer
//! `304 Not Modified` to a repeat that names it, with a new tag once the list changes; responses above
//! the size threshold are compressed (gzip or brotli, as `Accept-Encoding` asks), small JSON is not.

use std::io::Read;

use ehome_tests::{TestApp, spawn_app};
use reqwest::Method;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, ETAG, IF_NONE_MATCH};
use serde_json::json;

async fn get_with(
    app: &TestApp,
    path: &str,
    token: &str,
    headers: &[(reqwest::header::HeaderName, &str)],
) -> reqwest::Response {
    let mut request = app.request(Method::GET, path, Some(token));
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    request.send().await.unwrap()
}

fn etag_of(response: &reqwest::Response) -> String {
    response.headers().get(ETAG).expect("an ETag").to_str().unwrap().to_owned()
}

/// The list at `path` has a strong tag; a repeat naming it is `304` with no body; `change` makes it new.
async fn repeat_is_not_modified_until_a_change(app: &TestApp, path: &str, token: &str) -> String {
    let first = get_with(app, path, token, &[]).await;
    assert_eq!(first.status(), 200, "{path}");
    let tag = etag_of(&first);
    assert!(tag.starts_with('"') && tag.ends_with('"'), "a strong tag: {tag}");
    let body = first.text().await.unwrap();
    let again = get_with(app, path, token, &[(IF_NONE_MATCH, &tag)]).await;
    assert_eq!(again.status(), 304, "{path} with its ETag");
    assert_eq!(etag_of(&again), tag);
    assert!(again.headers().get("x-request-id").is_some());
    assert_eq!(again.text().await.unwrap(), "", "a 304 has no body");
    let weak = get_with(app, path, token, &[(IF_NONE_MATCH, &format!("\"stale\", W/{tag}"))]).await;
    assert_eq!(weak.status(), 304, "weak comparison, one of a list");
    let other = get_with(app, path, token, &[(IF_NONE_MATCH, "\"stale\"")]).await;
    assert_eq!(other.status(), 200);
    assert_eq!(other.text().await.unwrap(), body, "the same body under the same tag");
    tag
}

async fn changed_since(app: &TestApp, path: &str, token: &str, old_tag: &str) -> serde_json::Value {
    let after = get_with(app, path, token, &[(IF_NONE_MATCH, old_tag)]).await;
    assert_eq!(after.status(), 200, "{path} changed: the old tag no longer matches");
    let new_tag = etag_of(&after);
    assert_ne!(new_tag, old_tag, "{path}: a change makes a new ETag");
    let body = after.json().await.unwrap();
    let repeat = get_with(app, path, token, &[(IF_NONE_MATCH, &new_tag)]).await;
    assert_eq!(repeat.status(), 304, "{path}: the new tag is current");
    body
}

#[tokio::test]
async fn structure_and_category_lists_answer_304_to_their_etag_and_change_it_with_the_list() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let committee = app.dev_login("demo-committee").await.access;
    let resident = app.dev_login("demo-resident-1").await.access;

    let grids = format!("/communities/{}/grids", demo.community);
    let tag = repeat_is_not_modified_until_a_change(&app, &grids, &resident).await;
    let created = app.post(&grids, Some(&committee), &json!({"name": "第三网格"})).await;
    assert_eq!(created.status(), 201);
    let listed = changed_since(&app, &grids, &resident, &tag).await;
    assert!(listed["items"].as_array().unwrap().iter().any(|g| g["name"] == "第三网格"));

    let buildings = format!("/grids/{}/buildings", demo.grids[0]);
    let tag = repeat_is_not_modified_until_a_change(&app, &buildings, &resident).await;
    let created = app.post(&buildings, Some(&committee), &json!({"name": "9号楼"})).await;
    assert_eq!(created.status(), 201);
    changed_since(&app, &buildings, &resident, &tag).await;

    let categories = format!("/communities/{}/categories", demo.community);
    let tag = repeat_is_not_modified_until_a_change(&app, &categories, &resident).await;
    let category = demo.category("repair");
    let patched =
        app.patch(&format!("/categories/{category}"), Some(&committee), &json!({"response_sla_hours": 5})).await;
    assert_eq!(patched.status(), 200);
    changed_since(&app, &categories, &resident, &tag).await;
}

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut text).unwrap();
    text
}

#[tokio::test]
async fn a_csv_export_comes_back_gzip_and_small_json_stays_plain() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let committee = app.dev_login("demo-committee").await.access;
    let resident = app.dev_login("demo-resident-1").await.access;
    for i in 0..8 {
        app.submit(&resident, demo.category("repair"), &format!("3号楼东侧单元门的门禁第{i}次刷卡打不开")).await;
    }
    let csv = format!("/communities/{}/requests.csv", demo.community);
    let plain = get_with(&app, &csv, &committee, &[]).await;
    assert_eq!(plain.status(), 200);
    assert!(plain.headers().get(CONTENT_ENCODING).is_none(), "nothing asked, nothing compressed");
    let plain = plain.text().await.unwrap();
    assert!(plain.len() > 1024, "the export is above the threshold: {} bytes", plain.len());

    let gzipped = get_with(&app, &csv, &committee, &[(ACCEPT_ENCODING, "gzip")]).await;
    assert_eq!(gzipped.status(), 200);
    assert_eq!(gzipped.headers().get(CONTENT_ENCODING).unwrap(), "gzip");
    let bytes = gzipped.bytes().await.unwrap();
    assert!(bytes.len() < plain.len(), "{} compressed bytes of {}", bytes.len(), plain.len());
    assert_eq!(gunzip(&bytes), plain, "the gzip body decodes to the CSV");

    let brotli = get_with(&app, &csv, &committee, &[(ACCEPT_ENCODING, "br")]).await;
    assert_eq!(brotli.headers().get(CONTENT_ENCODING).unwrap(), "br");

    // A small answer is sent as it is, without a content-coding header of any kind.
    let me = get_with(&app, "/me", &resident, &[(ACCEPT_ENCODING, "gzip, br")]).await;
    assert_eq!(me.status(), 200);
    assert!(me.headers().get(CONTENT_ENCODING).is_none(), "{:?}", me.headers().get(CONTENT_ENCODING));
    let categories = format!("/communities/{}/categories", demo.community);
    let small = get_with(&app, &categories, &resident, &[(ACCEPT_ENCODING, "gzip")]).await;
    let tag = etag_of(&small);
    let body: serde_json::Value = small.json().await.unwrap();
    assert!(!body["items"].as_array().unwrap().is_empty());

    // A list above the threshold is compressed; its tag names the coding, and still revalidates.
    for i in 0..30 {
        let created = app
            .post(
                &format!("/grids/{}/buildings", demo.grids[0]),
                Some(&committee),
                &json!({"name": format!("新建{i}号楼")}),
            )
            .await;
        assert_eq!(created.status(), 201);
    }
    let buildings = format!("/grids/{}/buildings?limit=100", demo.grids[0]);
    let large = get_with(&app, &buildings, &resident, &[(ACCEPT_ENCODING, "gzip")]).await;
    assert_eq!(large.headers().get(CONTENT_ENCODING).unwrap(), "gzip");
    let large_tag = etag_of(&large);
    assert!(large_tag.ends_with("-gzip\""), "{large_tag}");
    let again = get_with(&app, &buildings, &resident, &[(ACCEPT_ENCODING, "gzip"), (IF_NONE_MATCH, &large_tag)]).await;
    assert_eq!(again.status(), 304);
    let plain_tag = etag_of(&get_with(&app, &buildings, &resident, &[]).await);
    assert_ne!(plain_tag, large_tag, "the plain and the compressed representation have different strong tags");
    assert!(!tag.contains("-gzip"), "the small list was not compressed: {tag}");
}

#[tokio::test]
async fn a_kept_inbox_is_served_gzip_compressed_once_and_decodes_to_the_plain_page() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let resident = app.dev_login("demo-resident-1").await.access;
    let leader = app.dev_login("demo-leader").await.access;
    for i in 0..8 {
        let id = app.submit(&resident, demo.category("repair"), &format!("5号楼电梯第{i}次停在半层不动")).await["id"]
            .as_i64()
            .unwrap();
        assert_eq!(app.act(&leader, id, "accept", None).await.status(), 200);
    }
    let plain = get_with(&app, "/me/notifications", &resident, &[]).await;
    assert!(plain.headers().get(CONTENT_ENCODING).is_none(), "nothing asked, nothing compressed");
    let plain = plain.text().await.unwrap();
    assert!(plain.len() > 1024, "the page is above the threshold: {} bytes", plain.len());
    // Twice: written and compressed by the first read, served as kept by the second.
    for _ in 0..2 {
        let gzipped = get_with(&app, "/me/notifications", &resident, &[(ACCEPT_ENCODING, "br;q=0.5, gzip")]).await;
        assert_eq!(gzipped.status(), 200);
        assert_eq!(gzipped.headers().get(CONTENT_ENCODING).unwrap(), "gzip");
        assert_eq!(gzipped.headers().get(reqwest::header::VARY).unwrap(), "accept-encoding");
        assert_eq!(gunzip(&gzipped.bytes().await.unwrap()), plain, "the gzip body decodes to the page");
    }
    // A client that refuses gzip gets what the server compresses for it (or nothing compressed).
    let brotli = get_with(&app, "/me/notifications", &resident, &[(ACCEPT_ENCODING, "gzip;q=0, br")]).await;
    assert_eq!(brotli.headers().get(CONTENT_ENCODING).unwrap(), "br");
}
