//! Settlement's cases for the decision table: a draft statement of a shop each moderator owns, with
//! one redemption (by the building leader) captured at it.

use std::collections::HashMap;

use ehome_tests::{Session, TestApp};
use serde_json::json;

use super::{MODERATORS, Place};

pub async fn statements(app: &TestApp, s: &HashMap<String, Session>, at: &Place) -> HashMap<&'static str, i64> {
    let committee = &s["demo-committee"].access;
    let path = format!("/communities/{}/settlement-rate", at.community);
    assert_eq!(app.put(&path, Some(committee), &json!({"rate": "0.1"})).await.status(), 200);
    let leader = &s["demo-leader"];
    app.award_points(at.community, leader.user_id, "100").await;
    let mut statements = HashMap::new();
    for owner in MODERATORS {
        let approver = if *owner == "demo-committee" { &s["demo-admin"].access } else { committee };
        let token = &s[*owner].access;
        let shop = app.open_shop(token, approver, at.community, "community", &format!("{owner}结算店")).await;
        let offer = app.add_offer(token, shop, "洗剪吹", "5", json!({})).await;
        let (_, code) = app.code_for(&leader.access, offer).await;
        let captured = app.post("/redemptions", Some(token), &json!({"code": code, "merchant_id": shop})).await;
        assert_eq!(captured.status(), 200, "{owner} redeems at their own shop");
        let today = (app.clock_now() + chrono::Duration::hours(8)).format("%Y-%m-%d").to_string();
        let (path, period) = (format!("/merchants/{shop}/settlements"), json!({"from": today, "to": today}));
        let drafted: serde_json::Value = app.post(&path, Some(token), &period).await.json().await.unwrap();
        statements.insert(*owner, drafted["id"].as_i64().unwrap_or_else(|| panic!("{owner} drafts: {drafted}")));
    }
    statements
}
