//! The shop is told when its statement is approved and when it is paid: its owner's inbox and a
//! subscribe message; a welfare supermarket's statement, which owes no yuan, says its points are settled.

use std::time::Duration;

use ehome_tests::{TestApp, spawn_app_with};
use serde_json::{Value, json};

use super::world_of;

/// Waits for the subscribe message to `openid` whose status word is `phrase` (pushed in the
/// background after the commit) to reach the fake WeChat.
async fn wait_for_message(app: &TestApp, openid: &str, phrase: &str) -> Value {
    for _ in 0..100 {
        let sent = app.wechat.last_subscribe_messages();
        if let Some(found) = sent.iter().find(|m| m["touser"] == openid && m["data"]["phrase2"]["value"] == phrase) {
            return found.clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no subscribe message {phrase} to {openid}: {:?}", app.wechat.last_subscribe_messages());
}

/// The newest settlement notice in the inbox of the holder of `token`.
async fn newest_settlement_notice(app: &TestApp, token: &str) -> Value {
    let inbox = app.get_json("/me/notifications", Some(token)).await;
    let items = inbox["items"].as_array().unwrap_or_else(|| panic!("{inbox}"));
    items.iter().find(|n| n["kind"] == "settlement").cloned().unwrap_or_else(|| panic!("no settlement notice: {inbox}"))
}

#[tokio::test]
async fn the_shop_owner_is_told_when_the_statement_is_approved_and_when_it_is_paid() {
    let w = world_of(spawn_app_with(&[("WECHAT_TEMPLATE_REQUEST_STATUS", "tmpl-settlement")]).await).await;
    let app = &w.app;
    w.app.award_points(w.demo.community, w.resident_id, "100").await;
    w.set_rate("0.10").await;
    let shop = app.open_shop(&w.owner, &w.committee, w.demo.community, "community", "阿芳理发").await;
    let offer = app.add_offer(&w.owner, shop, "洗剪吹", "10", json!({})).await;
    w.redeemed(shop, offer, 2).await;
    let statement: Value = w.draft(app, &w.owner, shop).await.json().await.unwrap();
    let id = statement["id"].as_i64().unwrap();
    let inbox = app.get_json("/me/notifications", Some(&w.owner)).await;
    assert!(!inbox.to_string().contains("结算"), "a draft tells no one: {inbox}");

    assert_eq!(app.post(&format!("/settlements/{id}/approve"), Some(&w.committee), &json!({})).await.status(), 200);
    let approved = newest_settlement_notice(app, &w.owner).await;
    assert_eq!(approved["title"], "结算单已审核");
    let body = approved["body"].as_str().unwrap();
    assert!(body.contains("阿芳理发") && body.contains(&format!("编号 {id}")), "{body}");
    assert!(body.contains("积分 20.00") && body.contains("应付 ¥2.00"), "{body}");
    let message = wait_for_message(app, "demo-resident-2", "已审核").await;
    assert_eq!(
        (message["template_id"].as_str(), message["data"]["thing1"]["value"].as_str()),
        (Some("tmpl-settlement"), Some("结算单已审核"))
    );

    let reference = json!({"bank_reference": "ICBC-20261127-0002"});
    assert_eq!(app.post(&format!("/settlements/{id}/paid"), Some(&w.committee), &reference).await.status(), 200);
    let paid = newest_settlement_notice(app, &w.owner).await;
    assert_eq!(paid["title"], "结算款已支付");
    let body = paid["body"].as_str().unwrap();
    assert!(body.contains("已付款 ¥2.00") && body.contains("ICBC-20261127-0002"), "{body}");
    wait_for_message(app, "demo-resident-2", "已付款").await;

    // Only the owner is told: the committee that decided and the resident who redeemed are not.
    for token in [&w.committee, &w.resident] {
        let inbox = app.get_json("/me/notifications", Some(token)).await;
        let kinds: Vec<&str> = inbox["items"].as_array().unwrap().iter().filter_map(|n| n["kind"].as_str()).collect();
        assert!(!kinds.contains(&"settlement"), "{inbox}");
    }
}

#[tokio::test]
async fn a_welfare_supermarket_is_told_its_points_are_settled() {
    let w = world_of(ehome_tests::spawn_app().await).await;
    let app = &w.app;
    w.app.award_points(w.demo.community, w.resident_id, "100").await;
    let body = json!({"community_id": w.demo.community, "name": "社区志愿者福利超市", "kind": "welfare_supermarket",
        "business_category": "超市", "address": "社区服务中心", "contact_phone": "13912345678",
        "licence_number": "12330203MB1", "alliance_level": "community"});
    let shop = app.post_json("/merchants", Some(&w.owner), &body).await["id"].as_i64().unwrap();
    let decided =
        app.post(&format!("/merchants/{shop}/transitions"), Some(&w.committee), &json!({"action": "approve"})).await;
    assert_eq!(decided.status(), 200);
    let offer = app.add_offer(&w.owner, shop, "大米5斤", "20", json!({})).await;
    w.redeemed(shop, offer, 1).await;
    let statement: Value = w.draft(app, &w.committee, shop).await.json().await.unwrap();
    let id = statement["id"].as_i64().unwrap();
    assert_eq!(app.post(&format!("/settlements/{id}/approve"), Some(&w.committee), &json!({})).await.status(), 200);
    let approved = newest_settlement_notice(app, &w.owner).await;
    let body = approved["body"].as_str().unwrap();
    assert!(body.contains("积分 20.00 已结算") && !body.contains('¥'), "{body}");
}
