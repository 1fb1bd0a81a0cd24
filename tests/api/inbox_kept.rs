//! `GET /me/notifications`' first page is kept per instance (`scenes::notifications::kept`), yet never
//! misses a notice or a read mark that answered: every use case tells its notices through `push`
//! after its commit, which replaces the addressee's inbox token in Redis before answering, and a read
//! mark replaces the reader's; so the very next read on any instance goes back to the database.

use ehome_api::scenes::notifications::{self, Notice};
use ehome_tests::{TestApp, two_instances_on_redis};
use serde_json::{Value, json};

/// The first page's notification ids (newest first), the request each names, and the unread count.
async fn inbox(app: &TestApp, token: &str) -> (Vec<i64>, Vec<Option<i64>>, i64) {
    let body: Value = app.get_json("/me/notifications", Some(token)).await;
    let items = body["items"].as_array().unwrap_or_else(|| panic!("items in {body}"));
    let ids = items.iter().map(|n| n["id"].as_i64().unwrap()).collect();
    let requests = items.iter().map(|n| n["request_id"].as_i64()).collect();
    (ids, requests, body["unread"].as_i64().unwrap_or_else(|| panic!("unread in {body}")))
}

#[tokio::test]
async fn a_notice_and_read_marks_on_one_instance_show_at_once_on_the_other() {
    // Inboxes kept ten minutes: only an inbox token, never an entry's age, can make an instance reload.
    let (one, two) = two_instances_on_redis(&[("INBOX_CACHE_TTL_MS", "600000")]).await;
    let demo = one.seed_demo().await;
    let resident = one.dev_login("demo-resident-1").await;
    let leader = one.dev_login("demo-leader").await;
    let request = one.submit(&resident.access, demo.category("repair"), "楼道灯坏了不亮").await["id"].as_i64().unwrap();
    let first = inbox(&two, &resident.access).await;
    assert_eq!(inbox(&two, &resident.access).await, first, "read twice, the same page");
    let (ids, _, unread) = first.clone();

    // A notice recorded behind the API's back (no token replaced) is not seen while the inbox is
    // kept: instance two really answers from what it keeps.
    let behind = Notice {
        user_id: demo.user("demo-resident-1"),
        kind: "test",
        title: "后台写入".to_owned(),
        body: "不经接口写入的通知".to_owned(),
        request_id: None,
        phrase: "测试".to_owned(),
    };
    notifications::record(&one.db, &behind, one.clock_now()).await.unwrap();
    assert_eq!(inbox(&two, &resident.access).await, first);

    // The building leader accepts the request on instance one: its notice shows on instance two at once
    // (with the one written behind the API's back, read afresh with it).
    assert_eq!(one.act(&leader.access, request, "accept", None).await.status(), 200);
    let (after, requests, unread_after) = inbox(&two, &resident.access).await;
    assert_eq!(after.len(), ids.len() + 2, "{after:?} after {ids:?}");
    assert_eq!(requests[0], Some(request), "the newest notice names the accepted request");
    assert_eq!(unread_after, unread + 2);

    // One notice marked read on instance one: instance two counts one unread fewer at once.
    let marked = one.post(&format!("/me/notifications/{}/read", after[0]), Some(&resident.access), &json!({})).await;
    assert_eq!(marked.status(), 200);
    assert_eq!(inbox(&two, &resident.access).await.2, unread_after - 1);
    let read = two.get_json("/me/notifications", Some(&resident.access)).await;
    assert!(read["items"][0]["read_at"].is_string(), "{read}");

    // All read on instance one: none unread on instance two.
    let all = one.post("/me/notifications/read-all", Some(&resident.access), &json!({})).await;
    assert_eq!(all.status(), 200);
    assert_eq!(inbox(&two, &resident.access).await.2, 0);
}
