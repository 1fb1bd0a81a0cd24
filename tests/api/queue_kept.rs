//! The committee's queue pages and 邻办事 statistics are kept per instance (`scenes::requests::kept`)
//! under one token per community, yet never miss a change that answered: every use case that changes a
//! request, a reporter's name or a category's name replaces the community's token in Redis after its
//! commit and before it answers, so the very next read on any instance goes back to the database.

use ehome_tests::{TestApp, two_instances_on_redis};
use serde_json::{Value, json};

/// (id, title, status, reporter nickname) of each request on a queue page.
async fn queue(app: &TestApp, token: &str, query: &str) -> Vec<(i64, String, String, String)> {
    let body: Value = app.get_json(&format!("/requests?{query}"), Some(token)).await;
    let items = body["items"].as_array().unwrap_or_else(|| panic!("items in {body}"));
    items
        .iter()
        .map(|r| {
            let nickname = r["reporter"]["nickname"].as_str().unwrap_or_default().to_owned();
            (
                r["id"].as_i64().unwrap(),
                r["title"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
                nickname,
            )
        })
        .collect()
}

async fn reported(app: &TestApp, token: &str, community: i64) -> i64 {
    let body = app.get_json(&format!("/communities/{community}/stats?period=day"), Some(token)).await;
    body["totals"]["reported"].as_i64().unwrap_or_else(|| panic!("totals.reported in {body}"))
}

#[tokio::test]
async fn changes_on_one_instance_show_at_once_on_the_others_kept_pages_and_stats() {
    // Kept ten minutes: only a community's token, never an entry's age, can make an instance reload.
    let (one, two) = two_instances_on_redis(&[("REQUESTS_CACHE_TTL_MS", "600000")]).await;
    let demo = one.seed_demo().await;
    let [resident, leader, committee] = one.dev_logins(["demo-resident-1", "demo-leader", "demo-committee"]).await;
    let c = demo.community;
    let all = format!("community_id={c}");
    let submitted = format!("community_id={c}&status=submitted");
    let first = one.submit(&resident.access, demo.category("repair"), "楼道灯坏了不亮").await["id"].as_i64().unwrap();
    let page = queue(&two, &committee.access, &all).await;
    assert_eq!(page.iter().map(|r| r.0).collect::<Vec<_>>(), vec![first]);
    assert_eq!(queue(&two, &committee.access, &submitted).await, page, "the filtered page is kept beside it");
    let count = reported(&two, &committee.access, c).await;
    assert_eq!(count, 1);

    // A title changed behind the API's back (no token replaced) is not seen while the page is kept:
    // instance two really answers from what it keeps. The statistics are kept as well.
    let sql = "UPDATE service_requests SET title = '后台改的标题'";
    sea_orm::ConnectionTrait::execute_unprepared(&one.db, sql).await.unwrap();
    assert_eq!(queue(&two, &committee.access, &all).await, page);
    assert_eq!(queue(&two, &committee.access, &submitted).await, page);

    // A report on instance one: instance two lists it at once, in every kept page, and counts it.
    let second = one.submit(&resident.access, demo.category("repair"), "电梯异响很吵").await["id"].as_i64().unwrap();
    let page = queue(&two, &committee.access, &all).await;
    assert_eq!(page.iter().map(|r| r.0).collect::<Vec<_>>(), vec![first, second]);
    assert_eq!(page[0].1, "后台改的标题", "read afresh, with the change behind the API's back");
    assert_eq!(queue(&two, &committee.access, &submitted).await.len(), 2);
    assert_eq!(reported(&two, &committee.access, c).await, count + 1);

    // The building leader accepts the first on instance one: it leaves instance two's `submitted` page.
    assert_eq!(one.act(&leader.access, first, "accept", None).await.status(), 200);
    let waiting = queue(&two, &committee.access, &submitted).await;
    assert_eq!(waiting.iter().map(|r| r.0).collect::<Vec<_>>(), vec![second]);
    assert_eq!(queue(&two, &committee.access, &all).await[0].2, "accepted");

    // "Me too" on instance one: the interest count on instance two moves at once.
    let neighbour = one.dev_login("demo-resident-2").await;
    let me_too = one.post(&format!("/requests/{second}/me-too"), Some(&neighbour.access), &json!({})).await;
    assert_eq!(me_too.status(), 200);
    let body = two.get_json(&format!("/requests?{all}"), Some(&committee.access)).await;
    assert_eq!(body["items"][1]["interest_count"], 1, "{body}");

    // The reporter renames themself on instance one: instance two's pages show the new name at once.
    let renamed = one.patch("/me", Some(&resident.access), &json!({"nickname": "新名字"})).await;
    assert_eq!(renamed.status(), 200);
    assert!(queue(&two, &committee.access, &all).await.iter().all(|r| r.3 == "新名字"));
}

#[tokio::test]
async fn a_kept_page_is_served_only_to_whom_it_may_be_shown() {
    let (one, two) = two_instances_on_redis(&[("REQUESTS_CACHE_TTL_MS", "600000")]).await;
    let demo = one.seed_demo().await;
    let [resident, other, committee] = one.dev_logins(["demo-resident-1", "demo-resident-2", "demo-committee"]).await;
    let c = demo.community;
    one.submit(&resident.access, demo.category("repair"), "楼道灯坏了不亮").await;
    let full = two.get_json(&format!("/requests?community_id={c}"), Some(&committee.access)).await;
    assert!(full["items"][0]["reporter"]["phone"].is_string() || full["items"][0]["reporter"]["id"].is_i64(), "{full}");
    // A neighbour reads the same community's list: their own scope, and no reporter's id or phone.
    let seen = two.get_json(&format!("/requests?community_id={c}"), Some(&other.access)).await;
    for item in seen["items"].as_array().unwrap() {
        assert!(item["reporter"]["id"].is_null() && item["reporter"]["phone"].is_null(), "{item}");
    }
    // The statistics stay the committee's, kept or not.
    assert_eq!(two.get(&format!("/communities/{c}/stats"), Some(&other.access)).await.status(), 403);
    assert_eq!(two.get(&format!("/communities/{c}/stats"), Some(&committee.access)).await.status(), 200);
    assert_eq!(two.get(&format!("/communities/{c}/stats"), Some(&other.access)).await.status(), 403);
    assert_eq!(two.get("/communities/999999/stats", Some(&committee.access)).await.status(), 404);
}

/// A request's detail is kept under its community's token too: a comment, a transition or a rename on
/// one instance shows on the other's very next read, and one kept detail is shown to each reader as
/// their access allows (internal notes to handlers only; the reporter's id and phone not to neighbours).
#[tokio::test]
async fn a_kept_detail_shows_every_change_at_once_and_only_what_its_reader_may_see() {
    let (one, two) = two_instances_on_redis(&[("REQUESTS_CACHE_TTL_MS", "600000")]).await;
    let demo = one.seed_demo().await;
    let [resident, neighbour, leader, committee] =
        one.dev_logins(["demo-resident-1", "demo-resident-2", "demo-leader", "demo-committee"]).await;
    let id = one.submit(&resident.access, demo.category("repair"), "楼道灯坏了不亮").await["id"].as_i64().unwrap();
    let path = format!("/requests/{id}");
    let notes = |detail: &Value| -> Vec<String> {
        let timeline = detail["timeline"].as_array().unwrap_or_else(|| panic!("timeline in {detail}"));
        timeline.iter().filter_map(|event| event["note"].as_str().map(str::to_owned)).collect()
    };
    // The first read on instance two learns the request's community; the second is kept.
    for _ in 0..2 {
        assert_eq!(two.get_json(&path, Some(&committee.access)).await["request"]["title"], "楼道灯坏了不亮");
    }

    // A title changed behind the API's back (no token replaced): instance two answers from what it keeps.
    let sql = format!("UPDATE service_requests SET title = '后台改的标题' WHERE id = {id}");
    sea_orm::ConnectionTrait::execute_unprepared(&one.db, &sql).await.unwrap();
    assert_eq!(two.get_json(&path, Some(&committee.access)).await["request"]["title"], "楼道灯坏了不亮");

    // An internal note on instance one: instance two shows it at once, to handlers only.
    let note = json!({"body": "已联系物业电工", "internal": true});
    assert_eq!(one.post(&format!("{path}/comments"), Some(&leader.access), &note).await.status(), 201);
    let seen = two.get_json(&path, Some(&committee.access)).await;
    assert_eq!(seen["request"]["title"], "后台改的标题", "read afresh after the comment");
    assert!(notes(&seen).contains(&"已联系物业电工".to_owned()), "{seen}");
    assert!(seen["request"]["reporter"]["id"].is_i64(), "{seen}");
    let neighbours = two.get_json(&path, Some(&neighbour.access)).await;
    assert!(!notes(&neighbours).contains(&"已联系物业电工".to_owned()), "an internal note leaked: {neighbours}");
    assert!(neighbours["request"]["reporter"]["id"].is_null(), "{neighbours}");
    assert!(neighbours["request"]["reporter"]["phone"].is_null(), "{neighbours}");
    assert_eq!(neighbours["actions"], json!([]), "{neighbours}");
    let outsider = one.dev_login("demo-newcomer").await;
    assert_eq!(two.get(&path, Some(&outsider.access)).await.status(), 404, "kept or not, unseen stays unseen");

    // A public comment and an acceptance on instance one: both at once on instance two.
    let public = json!({"body": "今晚来修"});
    assert_eq!(one.post(&format!("{path}/comments"), Some(&leader.access), &public).await.status(), 201);
    assert!(notes(&two.get_json(&path, Some(&neighbour.access)).await).contains(&"今晚来修".to_owned()));
    assert_eq!(one.act(&leader.access, id, "accept", None).await.status(), 200);
    assert_eq!(two.get_json(&path, Some(&resident.access)).await["request"]["status"], "accepted");

    // The reporter renames themself on instance one: instance two's detail shows the new name.
    let renamed = one.patch("/me", Some(&resident.access), &json!({"nickname": "新名字"})).await;
    assert_eq!(renamed.status(), 200);
    assert_eq!(two.get_json(&path, Some(&committee.access)).await["request"]["reporter"]["nickname"], "新名字");
}

/// A kept page is written once per set of readers who see the same reporters (the handlers, each
/// reporter, the neighbours) and served as written only while every row's overdue figures stand: a
/// due time passing while the page is kept shows on the next read.
#[tokio::test]
async fn a_kept_page_is_written_per_reader_and_follows_the_clock_across_a_due_time() {
    let env = [("REQUESTS_CACHE_TTL_MS", "600000"), ("JWT_ACCESS_TTL_SECONDS", "86400")];
    let (one, two) = two_instances_on_redis(&env).await;
    let demo = one.seed_demo().await;
    let [resident, other, committee] = one.dev_logins(["demo-resident-1", "demo-resident-2", "demo-committee"]).await;
    let c = demo.community;
    let list = format!("/requests?community_id={c}");
    let reported = one.submit(&resident.access, demo.category("safety"), "消防通道被堵").await;
    let due: chrono::DateTime<chrono::Utc> = reported["response_due_at"].as_str().unwrap().parse().unwrap();
    // Two more (due a day later), so that the page is long enough to be sent compressed.
    one.submit(&resident.access, demo.category("repair"), "楼道灯坏了不亮").await;
    one.submit(&resident.access, demo.category("repair"), "电梯按钮失灵").await;

    // Just before the response is due: nobody sees it overdue; each reader sees the reporter as
    // their access allows, whoever read the kept page before them.
    one.clock.set(due - chrono::Duration::minutes(1));
    for _ in 0..2 {
        for (reader, sees) in [(&committee, true), (&other, false), (&resident, true)] {
            let body = two.get_json(&list, Some(&reader.access)).await;
            let item = &body["items"][0];
            assert_eq!(item["response_overdue"], false, "{body}");
            assert_eq!(item["reporter"]["id"].is_i64(), sees, "{body}");
        }
    }
    let gzip = reqwest::Client::new()
        .get(two.url(&list))
        .bearer_auth(&committee.access)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzip.headers()["content-encoding"], "gzip", "a kept page is sent compressed to whom accepts it");

    // A second past the due time, well within the page's ten minutes: the figures move at once.
    one.clock.set(due + chrono::Duration::seconds(1));
    for (reader, sees) in [(&committee, true), (&other, false)] {
        let body = two.get_json(&list, Some(&reader.access)).await;
        let item = &body["items"][0];
        assert_eq!((item["response_overdue"].clone(), item["overdue"].clone()), (json!(true), json!(true)), "{body}");
        assert_eq!(item["reporter"]["id"].is_i64(), sees, "{body}");
    }
}
