//! 邻办事: who sees what across two communities, the escalation job on two instances at once, the text
//! check's outcomes, duplicates, and pagination while requests are inserted.

use std::collections::HashSet;

use chrono::Duration;
use ehome_api::scenes::requests::jobs::run_once;
use ehome_tests::{Endpoint, TestApp, error_code, spawn_app, spawn_app_sharing};
use serde_json::{Value, json};

/// A second community with its own committee, building leader and resident.
async fn second_community(app: &TestApp) -> (i64, String, String, String) {
    let admin = app.dev_login("demo-admin").await;
    let ehome_tests::OtherCommunity { community: cid, building, .. } = app.create_other_community(&admin.access).await;
    let home: Value = app
        .post_json(&format!("/buildings/{building}/households"), Some(&admin.access), &json!({"label": "101"}))
        .await;
    let [committee, leader, resident] = app.dev_logins(["other-committee", "other-leader", "other-resident"]).await;
    let roles = |user: i64, body: Value| (format!("/communities/{cid}/members/{user}/roles"), body);
    for (path, body) in [
        roles(committee.user_id, json!({"roles": [{"role": "committee"}]})),
        roles(leader.user_id, json!({"roles": [{"role": "building_leader", "scope_ids": [building]}]})),
    ] {
        assert_eq!(app.put(&path, Some(&admin.access), &body).await.status(), 200);
    }
    let claim: Value =
        app.post_json(&format!("/households/{}/join-requests", home["id"]), Some(&resident.access), &json!({})).await;
    assert_eq!(
        app.post(&format!("/join-requests/{}/approve", claim["id"]), Some(&committee.access), &json!({}))
            .await
            .status(),
        200
    );
    (cid, committee.access, leader.access, resident.access)
}

#[tokio::test]
async fn visibility_across_two_communities_and_all_roles() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let (other_cid, other_committee, other_leader, other_resident) = second_community(&app).await;

    // demo-resident-1 lives in 1号楼 (led by demo-leader, in demo-grid's grid).
    let reporter = app.dev_login("demo-resident-1").await;
    let repair = demo.category("repair");
    let public = app.submit(&reporter.access, repair, "垃圾桶满了没人清理").await;
    let public_id = public["id"].as_i64().unwrap();
    let anonymous: Value = app
        .post_json("/requests", Some(&reporter.access), &json!({"category_id": repair, "title": "楼上深夜噪音扰民", "description": "每晚十二点后", "anonymous": true})).await;
    let anonymous_id = anonymous["request"]["id"].as_i64().unwrap();
    app.wechat.set_text_verdict("待审核", "review");
    let held: Value = app
        .post_json(
            "/requests",
            Some(&reporter.access),
            &json!({"category_id": repair, "title": "物业收费问题待审核", "description": "说明"}),
        )
        .await;
    let held_id = held["request"]["id"].as_i64().unwrap();
    assert_eq!(held["request"]["moderation"], "held");
    // An internal note on the public request.
    let leader = app.dev_login("demo-leader").await;
    let note = app
        .post(
            &format!("/requests/{public_id}/comments"),
            Some(&leader.access),
            &json!({"body": "联系保洁公司", "internal": true}),
        )
        .await;
    assert_eq!(note.status(), 201);

    let other_request = app
        .submit(&other_resident, category_id_in(&app, &other_resident, other_cid).await, "9号楼门禁坏了")
        .await["id"]
        .as_i64()
        .unwrap();

    let in_demo = format!("community_id={}", demo.community);
    let viewers = [
        ("demo-admin", vec![public_id, anonymous_id, held_id], true),
        ("demo-committee", vec![public_id, anonymous_id, held_id], true),
        ("demo-leader", vec![public_id, anonymous_id, held_id], true),
        ("demo-grid", vec![public_id, anonymous_id, held_id], true),
        ("demo-resident-1", vec![public_id, anonymous_id, held_id], true),
        ("demo-resident-3", vec![public_id, anonymous_id], false),
        ("demo-social", vec![public_id, anonymous_id], false),
        ("demo-shop", vec![public_id, anonymous_id], false),
        ("demo-newcomer", vec![], false),
    ];
    for (openid, expected, sees_reporter) in viewers {
        let token = app.dev_login(openid).await.access;
        let (status, ids) = app.request_ids(&token, &in_demo).await;
        assert_eq!(status, 200, "{openid}");
        let got: HashSet<i64> = ids.into_iter().collect();
        assert_eq!(got, expected.iter().copied().collect::<HashSet<_>>(), "{openid} lists");
        for id in [public_id, anonymous_id, held_id] {
            let response = app.get(&format!("/requests/{id}"), Some(&token)).await;
            if !expected.contains(&id) {
                assert_eq!(response.status(), 404, "{openid} must not see {id}");
                continue;
            }
            let detail: Value = response.json().await.unwrap();
            let reporter_view = &detail["request"]["reporter"];
            let internal_visible = detail["timeline"].as_array().unwrap().iter().any(|e| e["internal"] == true);
            if sees_reporter {
                assert_eq!(reporter_view["id"], reporter.user_id, "{openid} sees the reporter of {id}");
            } else {
                assert!(reporter_view.get("id").is_none_or(Value::is_null), "{openid} must not see who reported {id}");
                if id == anonymous_id {
                    assert!(reporter_view.is_null(), "anonymous stays anonymous to {openid}");
                }
                assert!(!internal_visible, "{openid} must not see internal notes");
            }
        }
        // Nobody of this community sees the other community's request (a platform admin sees all).
        let expected_status = if openid == "demo-admin" { 200 } else { 404 };
        assert_eq!(
            app.get(&format!("/requests/{other_request}"), Some(&token)).await.status(),
            expected_status,
            "{openid}"
        );
    }
    // The other community's people see none of the demo community's requests.
    for token in [&other_committee, &other_leader, &other_resident] {
        let (_, ids) = app.request_ids(token, &in_demo).await;
        assert!(ids.is_empty());
        assert_eq!(app.get(&format!("/requests/{public_id}"), Some(token)).await.status(), 404);
        let (_, own) = app.request_ids(token, &format!("community_id={other_cid}")).await;
        assert_eq!(own, vec![other_request]);
    }
}

async fn category_id_in(app: &TestApp, token: &str, community: i64) -> i64 {
    let categories: Value = app.get_json(&format!("/communities/{community}/categories"), Some(token)).await;
    categories["items"][0]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn two_instances_escalate_each_overdue_request_exactly_once() {
    let first = spawn_app().await;
    let second = spawn_app_sharing(&first).await;
    let demo = first.seed_demo().await;
    let resident = first.dev_login("demo-resident-1").await;
    let safety = demo.category("safety"); // 4 h to respond, 24 h to resolve
    let mut ids = Vec::new();
    for n in 0..20 {
        ids.push(
            first.submit(&resident.access, safety, &format!("安全隐患第{n}处需要排查")).await["id"].as_i64().unwrap(),
        );
    }
    // Nothing is overdue yet.
    assert_eq!(run_once(&first.state).await.unwrap().escalated, 0);
    first.clock.advance(Duration::hours(5));
    // Access tokens follow the app's clock: sign in again after it moved.
    let resident = first.dev_login("demo-resident-1").await;
    let (a, b) = tokio::join!(run_once(&first.state), run_once(&second.state));
    let total = a.unwrap().escalated + b.unwrap().escalated;
    assert_eq!(total, ids.len(), "each overdue request escalated exactly once across both instances");
    for id in &ids {
        let detail: Value = first.get_json(&format!("/requests/{id}"), Some(&resident.access)).await;
        assert_eq!(detail["request"]["status"], "escalated");
        assert_eq!(detail["request"]["assignee_level"], "grid_worker");
        assert_eq!(detail["request"]["escalation_level"], 1);
        let escalations = detail["timeline"].as_array().unwrap().iter().filter(|e| e["kind"] == "escalated").count();
        assert_eq!(escalations, 1);
    }
    // The new level got fresh deadlines: a second pass right away does nothing; past them, one more level.
    assert_eq!(run_once(&second.state).await.unwrap().escalated, 0);
    first.clock.advance(Duration::hours(5));
    let resident = first.dev_login("demo-resident-1").await;
    let (a, b) = tokio::join!(run_once(&first.state), run_once(&second.state));
    assert_eq!(a.unwrap().escalated + b.unwrap().escalated, ids.len());
    let detail: Value = second.get_json(&format!("/requests/{}", ids[0]), Some(&resident.access)).await;
    assert_eq!(detail["request"]["assignee_level"], "committee");
}

#[tokio::test]
async fn the_text_check_decides_publication_and_fails_closed() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [resident, neighbour, committee] =
        app.dev_logins(["demo-resident-1", "demo-resident-2", "demo-committee"]).await;
    let repair = demo.category("repair");
    let post = |title: &'static str| {
        let body = json!({"category_id": repair, "title": title, "description": "详情"});
        let token = resident.access.clone();
        let app = &app;
        async move { app.post("/requests", Some(&token), &body).await }
    };

    let passed: Value = post("水管漏水").await.json().await.unwrap();
    assert_eq!(passed["request"]["moderation"], "published");

    app.wechat.set_text_verdict("需复核", "review");
    let held: Value = post("内容需复核的反映").await.json().await.unwrap();
    assert_eq!(held["request"]["moderation"], "held");
    let held_id = held["request"]["id"].as_i64().unwrap();
    assert_eq!(app.get(&format!("/requests/{held_id}"), Some(&neighbour.access)).await.status(), 404);

    app.wechat.set_text_verdict("违规", "risky");
    let risky = post("违规内容").await;
    assert_eq!(risky.status(), 422);
    assert_eq!(error_code(risky).await, "CONTENT_REJECTED");

    app.wechat.fail_next(Endpoint::TextCheck, 45009, 1);
    let unchecked: Value = post("检测失败时的反映").await.json().await.unwrap();
    assert_eq!(unchecked["request"]["moderation"], "held", "a failed check holds the request");

    // The committee releases a held request; then the community sees it.
    let released = app
        .post(&format!("/requests/{held_id}/transitions"), Some(&committee.access), &json!({"action": "release"}))
        .await;
    assert_eq!(released.status(), 200);
    assert_eq!(app.get(&format!("/requests/{held_id}"), Some(&neighbour.access)).await.status(), 200);
    let again = app
        .post(&format!("/requests/{held_id}/transitions"), Some(&committee.access), &json!({"action": "release"}))
        .await;
    assert_eq!(again.status(), 409);
}

#[tokio::test]
async fn duplicates_are_offered_and_me_too_counts_once() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    // Neighbours in one building (1号楼).
    let [first, second] = app.dev_logins(["demo-resident-1", "demo-resident-2"]).await;
    let repair = demo.category("repair");
    let original = app.submit(&first.access, repair, "1号楼楼道灯坏了").await;
    let id = original["id"].as_i64().unwrap();
    let building = original["building_id"].as_i64().unwrap();

    let similar: Value = app
        .get_json(&format!("/requests/similar?building_id={building}&category_id={repair}&title=1%E5%8F%B7%E6%A5%BC%E7%9A%84%E6%A5%BC%E9%81%93%E7%81%AF%E5%9D%8F%E4%BA%86"), Some(&second.access)).await;
    assert_eq!(similar["items"][0]["id"], id);
    let on_submit: Value = app
        .post_json(
            "/requests",
            Some(&second.access),
            &json!({"category_id": repair, "title": "楼道灯坏了不亮", "description": "晚上很黑"}),
        )
        .await;
    assert!(on_submit["similar"].as_array().unwrap().iter().any(|s| s["id"] == id));

    for _ in 0..2 {
        let me_too: Value = app.post_json(&format!("/requests/{id}/me-too"), Some(&second.access), &json!({})).await;
        assert_eq!(me_too["interest_count"], 1, "counted once per neighbour");
    }
    // The follower hears of status changes too.
    let leader = app.dev_login("demo-leader").await;
    assert_eq!(app.act(&leader.access, id, "accept", None).await.status(), 200);
    let inbox: Value = app.get_json("/me/notifications?unread=true", Some(&second.access)).await;
    assert!(inbox["items"].as_array().unwrap().iter().any(|n| n["request_id"] == id));
    let marked = app.post("/me/notifications/read-all", Some(&second.access), &json!({})).await;
    assert_eq!(marked.status(), 200);
    let after: Value = app.get_json("/me/notifications", Some(&second.access)).await;
    assert_eq!(after["unread"], 0);
}

/// The duplicate check offers only what a neighbour could join: open, published requests of the same
/// building and category, the five most similar, the most similar first, each with its interest.
#[tokio::test]
async fn duplicates_offered_are_open_published_and_the_five_most_similar() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [first, second, leader] = app.dev_logins(["demo-resident-1", "demo-resident-2", "demo-leader"]).await;
    let (repair, safety) = (demo.category("repair"), demo.category("safety"));
    let id = |request: &Value| request["id"].as_i64().unwrap();

    let exact = app.submit(&first.access, repair, "1号楼楼道灯坏了").await;
    let building = exact["building_id"].as_i64().unwrap();
    // Similarity to the exact title 0.78, 0.67, 0.57, 0.5 and 0.33; then one under the threshold (0.25).
    let mut alike = Vec::new();
    for title in
        ["1号楼楼道灯坏了不亮", "1号楼楼道的灯坏了", "楼道灯坏了", "1号楼楼道灯不亮了", "楼道灯又坏了", "楼道灯闪"]
    {
        alike.push(id(&app.submit(&second.access, repair, title).await));
    }
    let withdrawn = app.submit(&first.access, repair, "1号楼楼道灯坏了！").await;
    assert_eq!(app.act(&first.access, id(&withdrawn), "withdraw", None).await.status(), 200);
    let resolved = app.submit(&first.access, repair, "1号楼楼道灯坏了。").await;
    for action in ["accept", "resolve"] {
        assert_eq!(app.act(&leader.access, id(&resolved), action, None).await.status(), 200, "{action}");
    }
    app.wechat.fail_next(Endpoint::TextCheck, 45009, 1);
    let held = app.submit(&first.access, repair, "1号楼楼道灯坏了 ").await;
    assert_eq!(held["moderation"], "held");
    app.submit(&first.access, safety, "1号楼楼道灯坏了").await;
    let me_too: Value =
        app.post_json(&format!("/requests/{}/me-too", id(&exact)), Some(&second.access), &json!({})).await;
    assert_eq!(me_too["interest_count"], 1);

    let title = "1%E5%8F%B7%E6%A5%BC%E6%A5%BC%E9%81%93%E7%81%AF%E5%9D%8F%E4%BA%86"; // 1号楼楼道灯坏了
    let found: Value = app
        .get_json(
            &format!("/requests/similar?building_id={building}&category_id={repair}&title={title}"),
            Some(&second.access),
        )
        .await;
    let items = found["items"].as_array().unwrap();
    let offered: Vec<i64> = items.iter().map(|i| i["id"].as_i64().unwrap()).collect();
    // Five at most, the most similar first: the withdrawn, resolved, held and other-category copies of
    // the very title are not among them, and the fifth most similar of the six alike is left out.
    assert_eq!(offered, [id(&exact), alike[0], alike[1], alike[2], alike[3]], "{found}");
    assert_eq!(items[0]["similarity"], 1.0);
    assert_eq!(items[0]["interest_count"], 1);
    assert_eq!(items[0]["status"], "submitted");
    assert_eq!(items[0]["title"], "1号楼楼道灯坏了");
    assert_eq!(items[1]["similarity"], 0.78);

    // A held request becomes a candidate once the committee releases it.
    let committee = app.dev_login("demo-committee").await;
    let released = app
        .post(&format!("/requests/{}/transitions", id(&held)), Some(&committee.access), &json!({"action": "release"}))
        .await;
    assert_eq!(released.status(), 200);
    let found: Value = app
        .get_json(
            &format!("/requests/similar?building_id={building}&category_id={repair}&title={title}"),
            Some(&second.access),
        )
        .await;
    let offered: Vec<i64> = found["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert_eq!(offered[..3], [id(&held), id(&exact), alike[0]], "equally similar: the newest first; {found}");

    // Migration 000026 (the candidates' partial index) undone and applied again: the same answer.
    use ehome_migrations::{Migrator, MigratorTrait};
    let similar_url = format!("/requests/similar?building_id={building}&category_id={repair}&title={title}");
    ehome_test_harness::undo_migrations_from(&app.db, "m20261129_000026").await;
    assert_eq!(app.get_json(&similar_url, Some(&second.access)).await, found);
    Migrator::up(&app.db, None).await.expect("and applies again");
    assert_eq!(app.get_json(&similar_url, Some(&second.access)).await, found);
}

#[tokio::test]
async fn queue_pages_neither_skip_nor_repeat_under_concurrent_inserts() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let resident = app.dev_login("demo-resident-1").await;
    let safety = demo.category("safety");
    let repair = demo.category("repair");
    let mut before = Vec::new();
    for n in 0..30 {
        let category = if n % 3 == 0 { safety } else { repair };
        before.push(
            app.submit(&resident.access, category, &format!("第{n}号问题{}", "甲乙丙丁".chars().nth(n % 4).unwrap()))
                .await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    // The safety ones pass their 4-hour response deadline: they sort first.
    app.clock.advance(Duration::hours(5));
    // Access tokens follow the app's clock: sign in again after it moved.
    let [resident, committee] = app.dev_logins(["demo-resident-1", "demo-committee"]).await;
    let cid = demo.community;

    let inserter = {
        let token = resident.access.clone();
        let url = app.url("/requests");
        let client = app.client.clone();
        tokio::spawn(async move {
            for n in 0..30 {
                let body = json!({"category_id": repair, "title": format!("并发插入{n}"), "description": "x"});
                client.post(&url).bearer_auth(&token).json(&body).send().await.unwrap();
            }
        })
    };
    let mut seen = Vec::new();
    let mut overdue_done = false;
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("/requests?community_id={cid}&limit=7&cursor={c}"),
            None => format!("/requests?community_id={cid}&limit=7"),
        };
        let page: Value = app.get_json(&query, Some(&committee.access)).await;
        for item in page["items"].as_array().unwrap() {
            let overdue = item["overdue"].as_bool().unwrap();
            assert!(!(overdue && overdue_done), "overdue requests come first");
            overdue_done |= !overdue;
            seen.push(item["id"].as_i64().unwrap());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    inserter.await.unwrap();
    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no request repeated");
    for id in &before {
        assert!(unique.contains(id), "request {id} skipped");
    }
}

/// What a report names is checked before anything is written: the building must exist and be in a
/// community the reporter belongs to, the category must be an active one of that community.
#[tokio::test]
async fn a_report_names_a_building_and_an_active_category_of_its_community() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [admin, committee, resident] = app.dev_logins(["demo-admin", "demo-committee", "demo-resident-1"]).await;
    let refused = |body: Value| {
        let app = &app;
        let token = resident.access.clone();
        async move {
            let response = app.post("/requests", Some(&token), &body).await;
            let status = response.status().as_u16();
            let answer: Value = response.json().await.unwrap();
            (
                status,
                answer["error"]["code"].as_str().unwrap_or_default().to_owned(),
                answer["error"]["message"].to_string(),
            )
        }
    };
    let report = |building: Option<i64>, category: i64| {
        let mut body = json!({"category_id": category, "title": "楼道灯不亮", "description": "三楼楼道灯坏了"});
        if let Some(building) = building {
            body["building_id"] = json!(building);
        }
        body
    };
    let repair = demo.category("repair");

    let (status, code, message) = refused(report(Some(i64::from(i32::MAX)), repair)).await;
    assert_eq!((status, code.as_str()), (400, "VALIDATION_FAILED"), "{message}");
    assert!(message.contains("building_id"), "{message}");

    let other = app.create_other_community(&admin.access).await;
    let foreign = category_id_in(&app, &admin.access, other.community).await;
    let (status, code, message) = refused(report(None, foreign)).await;
    assert_eq!((status, code.as_str()), (400, "VALIDATION_FAILED"), "{message}");
    assert!(message.contains("category_id"), "another community's category: {message}");

    let patched = app.patch(&format!("/categories/{repair}"), Some(&committee.access), &json!({"active": false})).await;
    assert_eq!(patched.status(), 200);
    let (status, code, message) = refused(report(None, repair)).await;
    assert_eq!((status, code.as_str()), (400, "VALIDATION_FAILED"), "{message}");
    assert!(message.contains("category_id"), "an inactive category: {message}");
    let environment = demo.category("environment");
    let submitted = app.submit(&resident.access, environment, "垃圾桶满了").await;
    assert_eq!(submitted["category_id"], environment, "an active category of the resident's community");

    let (status, code, message) = refused(report(Some(other.building), foreign)).await;
    assert_eq!((status, code.as_str()), (403, "FORBIDDEN"), "a resident reports only where they belong: {message}");
}

/// `REQUEST_SUBMISSIONS_PER_HOUR` per resident, counted with the write limits in Redis across
/// instances: the next report is `429 RATE_LIMITED` with `Retry-After`, whichever instance it reaches,
/// while a neighbour still reports and the resident still reads.
#[tokio::test]
async fn submissions_per_hour_are_counted_per_resident_across_instances() {
    let (one, two) = ehome_tests::two_instances_on_redis(&[("REQUEST_SUBMISSIONS_PER_HOUR", "3")]).await;
    let demo = one.seed_demo().await;
    let [resident, neighbour] = one.dev_logins(["demo-resident-1", "demo-resident-2"]).await;
    let repair = demo.category("repair");
    for (app, title) in [(&one, "楼道灯坏了"), (&two, "电梯异响"), (&one, "水管漏水")] {
        app.submit(&resident.access, repair, title).await;
    }
    for app in [&one, &two] {
        let body = json!({"category_id": repair, "title": "垃圾没人收", "description": "三天没人收垃圾了"});
        let refused = app.post("/requests", Some(&resident.access), &body).await;
        assert_eq!(refused.status(), 429);
        let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=3600).contains(&wait), "Retry-After {wait}");
        assert_eq!(error_code(refused).await, "RATE_LIMITED");
    }
    two.submit(&neighbour.access, repair, "路灯不亮").await;
    assert_eq!(two.get("/requests?mine=true", Some(&resident.access)).await.status(), 200);
}
