//! 邻自治 notices: publishing to an area by who covers it, subscribe messages to its residents, read
//! receipts per household (any member opening it), the building leader's unread households and
//! "told in person", and the committee's reach per building.

use std::time::Duration;

use ehome_tests::{Demo, Endpoint, TestApp, error_code, spawn_app, spawn_app_with};
use serde_json::{Value, json};

async fn publish(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.post("/notices", Some(token), body).await
}

fn notice_body(demo: &Demo, kind: &str, ids: Value, importance: &str) -> Value {
    json!({
        "community_id": demo.community,
        "scope": {"kind": kind, "ids": ids},
        "title": "停水通知",
        "body": "明天上午九点至十二点停水，请提前储水。",
        "importance": importance,
        "attachments": ["https://mmbiz.qpic.cn/notice/plan.jpg"],
    })
}

async fn created_id(response: reqwest::Response) -> i64 {
    assert_eq!(response.status(), 201, "publish");
    let body: Value = response.json().await.unwrap();
    body["notice"]["id"].as_i64().unwrap()
}

/// A newcomer who joins `household` (approved by the committee) and their token.
async fn join(app: &TestApp, openid: &str, household: i64) -> (i64, String) {
    let committee = app.dev_login("demo-committee").await.access;
    let newcomer = app.dev_login(openid).await;
    let claim =
        app.post_json(&format!("/households/{household}/join-requests"), Some(&newcomer.access), &json!({})).await;
    let approve = format!("/join-requests/{}/approve", claim["id"]);
    assert_eq!(app.post(&approve, Some(&committee), &json!({})).await.status(), 200);
    (newcomer.user_id, newcomer.access)
}

async fn wait_for_subscribe_calls(app: &TestApp, at_least: usize) {
    for _ in 0..100 {
        if app.wechat.calls(Endpoint::Subscribe) >= at_least {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("only {} subscribe messages were sent", app.wechat.calls(Endpoint::Subscribe));
}

#[tokio::test]
async fn an_important_notice_is_read_by_households_told_in_person_and_its_reach_counted() {
    let app = spawn_app_with(&[("WECHAT_TEMPLATE_REQUEST_STATUS", "tmpl-notice")]).await;
    let demo = app.seed_demo().await;
    let [committee, leader, resident, neighbour, other_building] = app
        .dev_logins(["demo-committee", "demo-leader", "demo-resident-1", "demo-resident-2", "demo-resident-3"])
        .await;
    let (b1, b2) = (demo.buildings[0], demo.buildings[1]);
    let body = notice_body(&demo, "buildings", json!([b1, b2]), "important");
    let id = created_id(publish(&app, &committee.access, &body).await).await;

    // Every resident of the two buildings has it in their inbox, and on their phone.
    for session in [&resident, &neighbour, &other_building] {
        let inbox = app.get_json("/me/notifications", Some(&session.access)).await;
        assert_eq!(inbox["items"][0]["kind"], "notice", "{inbox}");
        assert_eq!(inbox["items"][0]["title"], "停水通知");
    }
    wait_for_subscribe_calls(&app, 3).await;

    // A second member of resident-1's household opens it: the household has read it.
    let home = demo.households[0][0];
    let (_, member) = join(&app, "notice-family-member", home).await;
    let listed = app.get_json(&format!("/notices?community_id={}", demo.community), Some(&member)).await;
    assert_eq!(listed["items"][0]["id"], id, "{listed}");
    assert_eq!(listed["items"][0]["attachments"][0], "https://mmbiz.qpic.cn/notice/plan.jpg");
    let before = app.get_json(&format!("/notices/{id}"), Some(&resident.access)).await;
    assert_eq!(before["read_by_my_household"], false);
    let read = app.post_json(&format!("/notices/{id}/read"), Some(&member), &json!({})).await;
    assert_eq!(read["household_ids"], json!([home]));
    let after = app.get_json(&format!("/notices/{id}"), Some(&resident.access)).await;
    assert_eq!(after["read_by_my_household"], true, "any member's opening counts for the household");
    // Opening again keeps one receipt.
    assert_eq!(app.post(&format!("/notices/{id}/read"), Some(&resident.access), &json!({})).await.status(), 200);

    // The leader of 1号楼 sees the four households of the building that have not read it.
    let unread_path = format!("/notices/{id}/unread-households");
    let unread = app.get_json(&unread_path, Some(&leader.access)).await;
    let ids: Vec<i64> =
        unread["items"].as_array().unwrap().iter().map(|h| h["household_id"].as_i64().unwrap()).collect();
    assert_eq!(ids, demo.households[0][1..].to_vec(), "only 1号楼, without the household that read it");
    let elderly = demo.households[0][2];
    let told_path = format!("/notices/{id}/told-in-person");
    let note = json!({"household_id": elderly, "note": "上门告知张阿姨，已说明停水时间"});
    let told = app.post(&told_path, Some(&leader.access), &note).await;
    assert_eq!(told.status(), 201);
    let twice = app.post(&told_path, Some(&leader.access), &note).await;
    assert_eq!((twice.status().as_u16(), error_code(twice).await.as_str()), (409, "NOTICE_ALREADY_TOLD"));
    let read_home = json!({"household_id": home, "note": "x"});
    let already = app.post(&told_path, Some(&leader.access), &read_home).await;
    assert_eq!((already.status().as_u16(), error_code(already).await.as_str()), (409, "NOTICE_ALREADY_READ"));
    let not_theirs = json!({"household_id": demo.households[1][0], "note": "x"});
    let refused = app.post(&told_path, Some(&leader.access), &not_theirs).await;
    assert_eq!(refused.status(), 403, "2号楼 is not the leader's");
    let unread = app.get_json(&unread_path, Some(&leader.access)).await;
    let entry = unread["items"].as_array().unwrap().iter().find(|h| h["household_id"] == elderly).unwrap().clone();
    assert_eq!(entry["told_in_person"]["note"], "上门告知张阿姨，已说明停水时间");
    assert_eq!(entry["told_in_person"]["told_by"], leader.user_id);

    // The committee's reach per building; the leader does not see it.
    let reach = app.get_json(&format!("/notices/{id}/reach"), Some(&committee.access)).await;
    assert_eq!(
        reach["buildings"][0],
        json!({"building_id": b1, "building_name": "1号楼", "households": 5, "read": 1, "told_in_person": 1, "not_reached": 3})
    );
    assert_eq!(reach["buildings"][1]["not_reached"], 5);
    assert_eq!(reach["totals"], json!({"households": 10, "read": 1, "told_in_person": 1, "not_reached": 8}));
    assert_eq!(app.get(&format!("/notices/{id}/reach"), Some(&leader.access)).await.status(), 403);

    // A normal notice is not followed up door to door.
    let normal = notice_body(&demo, "buildings", json!([b1]), "normal");
    let normal = created_id(publish(&app, &committee.access, &normal).await).await;
    let refused = app.get(&format!("/notices/{normal}/unread-households"), Some(&leader.access)).await;
    assert_eq!((refused.status().as_u16(), error_code(refused).await.as_str()), (409, "NOTICE_NOT_IMPORTANT"));
}

#[tokio::test]
async fn who_may_publish_where_and_who_sees_a_notice() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [committee, leader, grid, far_resident, newcomer] =
        app.dev_logins(["demo-committee", "demo-leader", "demo-grid", "demo-resident-3", "demo-newcomer"]).await;
    let (b1, b2) = (demo.buildings[0], demo.buildings[1]);
    let own =
        created_id(publish(&app, &leader.access, &notice_body(&demo, "buildings", json!([b1]), "urgent")).await).await;
    for (body, who) in [
        (notice_body(&demo, "buildings", json!([b2]), "normal"), &leader),
        (notice_body(&demo, "community", json!([]), "normal"), &leader),
        (notice_body(&demo, "grids", json!([demo.grids[1]]), "normal"), &grid),
        (notice_body(&demo, "community", json!([]), "normal"), &grid),
    ] {
        let refused = publish(&app, &who.access, &body).await;
        assert_eq!(refused.status(), 403, "{body}");
    }
    let grid_notice = notice_body(&demo, "grids", json!([demo.grids[0]]), "normal");
    let answer: Value = publish(&app, &grid.access, &grid_notice).await.json().await.unwrap();
    assert_eq!(answer["building_ids"], json!([b1, b2]), "a grid reaches its buildings");
    let everyone =
        created_id(publish(&app, &committee.access, &notice_body(&demo, "community", json!([]), "normal")).await).await;

    // A resident of 2号楼 does not see 1号楼's notice; the newcomer (no household) sees none.
    assert_eq!(app.get(&format!("/notices/{own}"), Some(&far_resident.access)).await.status(), 404);
    let listed = app.get_json(&format!("/notices?community_id={}", demo.community), Some(&far_resident.access)).await;
    let ids: Vec<i64> = listed["items"].as_array().unwrap().iter().map(|n| n["id"].as_i64().unwrap()).collect();
    assert!(ids.contains(&everyone) && !ids.contains(&own), "{ids:?}");
    let path = format!("/notices?community_id={}", demo.community);
    assert_eq!(app.get(&path, Some(&newcomer.access)).await.status(), 403);
    assert_eq!(app.get(&format!("/notices/{own}"), Some(&newcomer.access)).await.status(), 404);

    // Attachments are media URLs; an area names only this community's places.
    let mut bad = notice_body(&demo, "buildings", json!([b1]), "normal");
    bad["attachments"] = json!(["http://example.com/a.pdf"]);
    let refused = publish(&app, &committee.access, &bad).await;
    assert_eq!((refused.status().as_u16(), error_code(refused).await.as_str()), (400, "VALIDATION_FAILED"));
    let admin = app.dev_login("demo-admin").await.access;
    let other = app.create_other_community(&admin).await;
    let elsewhere =
        publish(&app, &committee.access, &notice_body(&demo, "buildings", json!([other.building]), "normal")).await;
    assert_eq!(elsewhere.status(), 400);
    let bad_importance =
        publish(&app, &committee.access, &notice_body(&demo, "buildings", json!([b1]), "critical")).await;
    assert_eq!(bad_importance.status(), 400);
}
