//! The alliance's cases for the decision table: shops, codes and redemptions of the deciders' own,
//! and a draft settlement statement of a shop each moderator owns, with one redemption (by the
//! building leader) captured at it.

use std::collections::HashMap;

use ehome_tests::{Session, TestApp};
use serde_json::json;

use super::{CLERKS, Cases, MODERATORS, Place, REFUNDERS};

/// The alliance's cases: a shop each moderator applied for, a code of the clerk's own at their shop,
/// and a redemption of each moderator's own that the clerk captured.
pub async fn alliance_cases(app: &TestApp, s: &HashMap<String, Session>, at: &Place, cases: &mut Cases) {
    let clerk = &s["demo-shop"].access;
    let shops = app.get_json("/merchants", Some(clerk)).await;
    let shop = shops["items"][0]["id"].as_i64().unwrap();
    let offer = app.add_offer(clerk, shop, "洗剪吹", "10", json!({})).await;
    for decider in MODERATORS {
        let body = json!({"community_id": at.community, "name": format!("{decider}的店"), "kind": "shop",
            "business_category": "理发", "address": "1号楼底商", "contact_phone": "13912345678",
            "licence_number": "91330203MA2", "alliance_level": "community"});
        let applied = app.post_json("/merchants", Some(&s[*decider].access), &body).await;
        cases.shops.insert(decider, applied["id"].as_i64().unwrap());
    }
    for decider in REFUNDERS {
        app.award_points(at.community, s[*decider].user_id, "10").await;
        let (id, code) = app.code_for(&s[*decider].access, offer).await;
        assert_eq!(app.redeem(clerk, &code).await.status(), 200, "the clerk redeems {decider}'s code");
        cases.redemptions.insert(decider, id);
    }
    for clerk_name in CLERKS {
        app.award_points(at.community, s[*clerk_name].user_id, "10").await;
        let (_, code) = app.code_for(&s[*clerk_name].access, offer).await;
        cases.codes.insert(clerk_name, code);
    }
}

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
