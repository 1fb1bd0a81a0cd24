//! `GET /me/points` is kept per instance between requests (`scenes::wallet::kept`), yet never shows a
//! balance older than the last change that answered: every use case that moves a resident's points
//! or hours replaces the resident's wallet token in Redis after its commit, so the very next read on
//! any instance goes back to the ledger.

use ehome_tests::{TestApp, two_instances_on_redis};
use serde_json::{Value, json};

use crate::service_hours::setup::{approve, at_time, ended_activity, sign_up};

/// (available, on hold, lifetime earned, lifetime hours) as `GET /me/points` shows them.
async fn wallet(app: &TestApp, token: &str) -> (String, String, String, String) {
    let body: Value = app.get_json("/me/points", Some(token)).await;
    let text = |key: &str| body[key].as_str().unwrap_or_else(|| panic!("{key} in {body}")).to_owned();
    (text("available"), text("on_hold"), text("lifetime_earned"), text("lifetime_hours"))
}

fn shown(available: &str, on_hold: &str, earned: &str, hours: &str) -> (String, String, String, String) {
    (available.to_owned(), on_hold.to_owned(), earned.to_owned(), hours.to_owned())
}

#[tokio::test]
async fn an_award_a_hold_and_its_release_on_one_instance_show_at_once_on_the_other() {
    // Wallets kept ten minutes: only a wallet token, never an entry's age, can make an instance reload.
    let (one, two) = two_instances_on_redis(&[("POINTS_WALLET_CACHE_TTL_MS", "600000")]).await;
    let demo = one.seed_demo().await;
    let [committee, volunteer] =
        at_time(&one, "2026-11-29T12:00:00+08:00", ["demo-committee", "demo-resident-1"]).await;
    let activity =
        ended_activity(&one, &demo, "清扫楼道", "2026-11-28T09:00:00+08:00", "2026-11-28T12:00:00+08:00", 1000).await;
    sign_up(&one, activity, volunteer.user_id, Some("2026-11-28T08:55:00+08:00"), Some("2026-11-28T12:05:00+08:00"))
        .await;
    for _ in 0..2 {
        assert_eq!(wallet(&two, &volunteer.access).await, shown("0.00", "0.00", "0.00", "0.00"));
    }
    // Points given behind the API's back (no token replaced) are not seen while the wallet is kept:
    // instance two really answers from what it keeps.
    one.award_points(demo.community, volunteer.user_id, "5").await;
    assert_eq!(wallet(&two, &volunteer.access).await, shown("0.00", "0.00", "0.00", "0.00"));

    // The organiser approves the hours on instance one: the award shows on instance two at once.
    let (status, approved) = approve(&one, &committee.access, activity, None).await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(wallet(&two, &volunteer.access).await, shown("35.00", "0.00", "35.00", "3.00"));
    assert_eq!(wallet(&one, &volunteer.access).await, shown("35.00", "0.00", "35.00", "3.00"));

    // A help post's reward is held on instance one, then released by its cancel.
    let need = json!({"community_id": demo.community, "kind": "need", "category": "groceries", "title": "帮忙买菜",
        "description": "腿脚不便，想请邻居帮忙带些青菜和豆腐", "location": "1号楼101", "reward": "12.50"});
    let created = one.post("/help-posts", Some(&volunteer.access), &need).await;
    assert_eq!(created.status(), 201);
    let post = created.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    assert_eq!(wallet(&two, &volunteer.access).await, shown("22.50", "12.50", "35.00", "3.00"));
    let cancelled = one.post(&format!("/help-posts/{post}/cancel"), Some(&volunteer.access), &json!({})).await;
    assert_eq!(cancelled.status(), 200);
    assert_eq!(wallet(&two, &volunteer.access).await, shown("35.00", "0.00", "35.00", "3.00"));
}
