//! Issue 14, part 1 — help posts through HTTP: the reward held on publishing and its three outcomes
//! (released on a cancel, posted to the helper on confirmation, partly posted by the committee's
//! split), worded for the resident in the points history; contact phones masked until a claim; the
//! hours a poster confirms on the helper's permanent record. Races and jobs are in
//! `help_posts/races.rs`.

use ehome_entities::user;
use ehome_tests::{Demo, TestApp, error_code, spawn_app};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};

mod bonus;
mod races;

/// The demo, with the users the help-post tests use.
struct World {
    app: TestApp,
    demo: Demo,
    committee: String,
    /// demo-resident-1: posts.
    poster: String,
    poster_id: i64,
    /// demo-resident-2: helps.
    helper: String,
    helper_id: i64,
    /// demo-resident-3: a neighbour who is neither.
    neighbour: String,
}

async fn world() -> World {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [committee, poster, helper, neighbour] =
        app.dev_logins(["demo-committee", "demo-resident-1", "demo-resident-2", "demo-resident-3"]).await;
    app.award_points(demo.community, poster.user_id, "100").await;
    World {
        demo,
        committee: committee.access,
        poster_id: poster.user_id,
        poster: poster.access,
        helper_id: helper.user_id,
        helper: helper.access,
        neighbour: neighbour.access,
        app,
    }
}

fn need(community: i64, reward: &str) -> Value {
    json!({"community_id": community, "kind": "need", "category": "groceries", "title": "帮忙买菜",
        "description": "腿脚不便，想请邻居帮忙带些青菜和豆腐", "location": "1号楼101", "reward": reward})
}

/// Publishes a need with `reward` as `token`; returns its id.
async fn post_need(app: &TestApp, token: &str, community: i64, reward: &str) -> i64 {
    let created = app.post("/help-posts", Some(token), &need(community, reward)).await;
    assert_eq!(created.status(), 201, "publish");
    created.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn step(app: &TestApp, token: &str, id: i64, action: &str, body: Value) -> reqwest::Response {
    app.post(&format!("/help-posts/{id}/{action}"), Some(token), &body).await
}

async fn ok(app: &TestApp, token: &str, id: i64, action: &str, body: Value) -> Value {
    let response = step(app, token, id, action, body).await;
    let status = response.status();
    let value: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{action}: {value}");
    value
}

/// The resident's history lines as (title, change, amount), newest first.
async fn history(app: &TestApp, token: &str) -> Vec<(String, String, String)> {
    let page = app.get_json("/me/points/history?limit=100", Some(token)).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let text = |k: &str| l[k].as_str().unwrap_or_default().to_owned();
            (text("title"), text("change"), text("amount"))
        })
        .collect()
}

fn line(title: &str, change: &str, amount: &str) -> (String, String, String) {
    (title.to_owned(), change.to_owned(), amount.to_owned())
}

#[tokio::test]
async fn a_reward_is_held_when_published_and_paid_to_the_helper_on_confirmation() {
    let w = world().await;
    let app = &w.app;
    let id = post_need(app, &w.poster, w.demo.community, "10").await;
    assert_eq!(app.points_of(w.poster_id).await, ("90.00".to_owned(), "10.00".to_owned()), "held");
    let claimed = ok(app, &w.helper, id, "claim", json!({})).await;
    assert_eq!((claimed["status"].as_str(), claimed["helper_id"].as_i64()), (Some("claimed"), Some(w.helper_id)));
    let early = step(app, &w.poster, id, "confirm", json!({})).await;
    assert_eq!((early.status().as_u16(), error_code(early).await.as_str()), (409, "INVALID_TRANSITION"));
    let not_mine = step(app, &w.neighbour, id, "complete", json!({})).await;
    assert_eq!(not_mine.status(), 403, "only the helper marks it done");
    ok(app, &w.helper, id, "complete", json!({})).await;
    let confirmed =
        ok(app, &w.poster, id, "confirm", json!({"minutes": 90, "rating": 5, "rating_text": "谢谢邻居"})).await;
    assert_eq!((confirmed["status"].as_str(), confirmed["paid"].as_str()), (Some("confirmed"), Some("10.00")));
    assert_eq!(app.points_of(w.poster_id).await, ("90.00".to_owned(), "0.00".to_owned()));
    assert_eq!(app.points_of(w.helper_id).await, ("10.00".to_owned(), "0.00".to_owned()));
    let again = step(app, &w.poster, id, "confirm", json!({})).await;
    assert_eq!(again.status(), 409, "paid once");

    // The helper's hours are on the permanent record, flagged 邻里互助, and in the lifetime total.
    let hours = app.get_json("/me/hours", Some(&w.helper)).await;
    assert_eq!(hours["total_hours"], "1.50", "{hours}");
    let aid = &hours["neighbour_aid_items"][0];
    assert_eq!((aid["help_post_id"].as_i64(), aid["label"].as_str()), (Some(id), Some("邻里互助")));
    assert!(aid["flags"].as_array().unwrap().contains(&json!("neighbour_aid")));
    let wallet = app.get_json("/me/points", Some(&w.helper)).await;
    assert_eq!(
        (wallet["available"].as_str(), wallet["lifetime_hours"].as_str()),
        (Some("10.00"), Some("1.50")),
        "{wallet}"
    );

    // In the residents' words: set aside, then paid out; received.
    let poster_lines = history(app, &w.poster).await;
    assert_eq!(poster_lines[0], line("邻里互助", "hold_captured", "-10.00"), "{poster_lines:?}");
    assert_eq!(poster_lines[1], line("邻里互助", "held", "-10.00"), "{poster_lines:?}");
    assert_eq!(history(app, &w.helper).await[0], line("邻里互助", "credited", "+10.00"));
    app.assert_books_verify().await;
}

#[tokio::test]
async fn without_the_points_nothing_is_published_and_a_cancel_releases_the_hold() {
    let w = world().await;
    let app = &w.app;
    let poor = app.post("/help-posts", Some(&w.neighbour), &need(w.demo.community, "5")).await;
    assert_eq!((poor.status().as_u16(), error_code(poor).await.as_str()), (409, "INSUFFICIENT_POINTS"));
    let mine = app.get_json("/help-posts?scope=mine", Some(&w.neighbour)).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 0, "nothing published: {mine}");

    let id = post_need(app, &w.poster, w.demo.community, "12.50").await;
    ok(app, &w.helper, id, "claim", json!({})).await;
    let withdrawn = ok(app, &w.helper, id, "withdraw", json!({})).await;
    assert_eq!((withdrawn["status"].as_str(), withdrawn["helper_id"].as_i64()), (Some("open"), None));
    let by_other = step(app, &w.helper, id, "cancel", json!({})).await;
    assert_eq!(by_other.status(), 403, "only the poster cancels");
    let cancelled = ok(app, &w.poster, id, "cancel", json!({})).await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(app.points_of(w.poster_id).await, ("100.00".to_owned(), "0.00".to_owned()), "released");
    let lines = history(app, &w.poster).await;
    assert_eq!(lines[0], line("邻里互助", "hold_released", "+12.50"), "{lines:?}");
    assert_eq!(lines[1], line("邻里互助", "held", "-12.50"), "{lines:?}");
    let late = step(app, &w.helper, id, "claim", json!({})).await;
    assert_eq!(late.status(), 409);

    let own = post_need(app, &w.poster, w.demo.community, "0").await;
    let self_claim = step(app, &w.poster, own, "claim", json!({})).await;
    assert_eq!((self_claim.status().as_u16(), error_code(self_claim).await.as_str()), (409, "OWN_POST"));
    app.assert_books_verify().await;
}

async fn set_phone(app: &TestApp, user_id: i64, phone: &str) {
    let found = user::Entity::find_by_id(user_id).one(&app.db).await.unwrap().unwrap();
    let mut active: user::ActiveModel = found.into();
    active.phone = Set(Some(phone.to_owned()));
    active.update(&app.db).await.unwrap();
}

#[tokio::test]
async fn each_side_sees_the_others_phone_only_after_the_claim() {
    let w = world().await;
    let app = &w.app;
    set_phone(app, w.poster_id, "13811112222").await;
    set_phone(app, w.helper_id, "13933334444").await;
    let id = post_need(app, &w.poster, w.demo.community, "0").await;
    let path = format!("/help-posts/{id}");
    let before = app.get_json(&path, Some(&w.helper)).await;
    assert_eq!(before["contacts"]["author_phone"], "138****2222", "{before}");
    let own = app.get_json(&path, Some(&w.poster)).await;
    assert_eq!(own["contacts"]["author_phone"], "13811112222");

    ok(app, &w.helper, id, "claim", json!({})).await;
    let helper_view = app.get_json(&path, Some(&w.helper)).await;
    assert_eq!(helper_view["contacts"]["author_phone"], "13811112222", "{helper_view}");
    let poster_view = app.get_json(&path, Some(&w.poster)).await;
    assert_eq!(poster_view["contacts"]["helper_phone"], "13933334444", "{poster_view}");
    for token in [&w.neighbour, &w.committee] {
        let other = app.get_json(&path, Some(token)).await;
        assert_eq!(other["contacts"]["author_phone"], "138****2222", "{other}");
        assert_eq!(other["contacts"]["helper_phone"], "139****4444", "{other}");
    }
    let listed = app.get_json("/help-posts?scope=claimed", Some(&w.helper)).await;
    assert_eq!(listed["items"][0]["id"].as_i64(), Some(id));
    assert!(listed["items"][0].get("contacts").is_none(), "lists show no phones");

    // After the claim is withdrawn the helper is back to masked.
    ok(app, &w.helper, id, "withdraw", json!({})).await;
    let after = app.get_json(&path, Some(&w.helper)).await;
    assert_eq!(after["contacts"]["author_phone"], "138****2222");
}

#[tokio::test]
async fn a_report_hides_the_post_until_the_committee_restores_it() {
    let w = world().await;
    let app = &w.app;
    let id = post_need(app, &w.poster, w.demo.community, "0").await;
    let near = |items: &Value| items["items"].as_array().unwrap().iter().any(|p| p["id"] == id);
    let query = format!("/help-posts?community_id={}&kind=need", w.demo.community);
    assert!(near(&app.get_json(&query, Some(&w.neighbour)).await));
    let reported = step(app, &w.neighbour, id, "report", json!({"reason": "广告"})).await;
    assert_eq!(reported.status(), 202);
    assert!(!near(&app.get_json(&query, Some(&w.helper)).await), "hidden from neighbours");
    assert_eq!(app.get(&format!("/help-posts/{id}"), Some(&w.helper)).await.status(), 404);
    assert_eq!(app.get(&format!("/help-posts/{id}"), Some(&w.poster)).await.status(), 200, "its author still sees it");
    assert_eq!(step(app, &w.poster, id, "restore", json!({})).await.status(), 403);
    let restored = ok(app, &w.committee, id, "restore", json!({})).await;
    assert_eq!(restored["moderation"], "published");
    assert!(near(&app.get_json(&query, Some(&w.helper)).await));
}
