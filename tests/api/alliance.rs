//! Issue 12, part 1 — the merchant alliance through HTTP: applications and the decisions on them,
//! staff invited by one-time codes, offers seen by alliance level, the code → capture flow with
//! every error it can answer, suspension voiding holds, refunds, and `Idempotency-Key`. The races
//! are in `alliance/races.rs`.

use ehome_tests::{Demo, TestApp, error_code, spawn_app};
use serde_json::{Value, json};

mod counter;
mod races;

/// The demo, with the ids of the users the alliance tests use.
struct World {
    app: TestApp,
    demo: Demo,
    admin: String,
    committee: String,
    /// demo-resident-2: owns the shops these tests open.
    owner: String,
    /// demo-resident-1, who redeems.
    resident: String,
    resident_id: i64,
}

async fn world() -> World {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [admin, committee, owner, resident] =
        app.dev_logins(["demo-admin", "demo-committee", "demo-resident-2", "demo-resident-1"]).await;
    World {
        demo,
        admin: admin.access,
        committee: committee.access,
        owner: owner.access,
        resident_id: resident.user_id,
        resident: resident.access,
        app,
    }
}

fn application(community: i64, level: &str, name: &str) -> Value {
    json!({"community_id": community, "name": name, "kind": "shop", "business_category": "理发",
        "address": "新芝社区2号楼底商", "contact_phone": "13912345678", "licence_number": "91330203MA2",
        "alliance_level": level})
}

async fn decide(app: &TestApp, token: &str, merchant: i64, action: &str, note: Option<&str>) -> reqwest::Response {
    let mut body = json!({"action": action});
    if let Some(note) = note {
        body["note"] = json!(note);
    }
    app.post(&format!("/merchants/{merchant}/transitions"), Some(token), &body).await
}

#[tokio::test]
async fn a_shop_applies_and_is_decided_by_its_alliance_never_by_its_own_people() {
    let w = world().await;
    let (app, community) = (&w.app, w.demo.community);
    let applied = app.post("/merchants", Some(&w.owner), &application(community, "community", "阿芳理发")).await;
    assert_eq!(applied.status(), 201);
    let shop: Value = applied.json().await.unwrap();
    assert_eq!(
        (shop["status"].as_str(), shop["private"]["contact_phone"].as_str()),
        (Some("pending"), Some("13912345678"))
    );
    let id = shop["id"].as_i64().unwrap();
    let neighbour = app.dev_login("demo-resident-3").await.access;
    assert_eq!(app.get(&format!("/merchants/{id}"), Some(&neighbour)).await.status(), 404, "pending is not public");

    let unreasoned = decide(app, &w.committee, id, "reject", None).await;
    assert_eq!((unreasoned.status().as_u16(), error_code(unreasoned).await.as_str()), (400, "VALIDATION_FAILED"));
    assert_eq!(decide(app, &w.committee, id, "approve", None).await.status(), 200);
    let again = decide(app, &w.committee, id, "approve", None).await;
    assert_eq!((again.status().as_u16(), error_code(again).await.as_str()), (409, "INVALID_TRANSITION"));
    let public = app.get_json(&format!("/merchants/{id}"), Some(&neighbour)).await;
    assert_eq!(public["status"], "approved");
    assert!(public.get("private").is_none(), "the contact phone is personal data: {public}");
    let listed = app.get_json(&format!("/merchants?community_id={community}"), Some(&neighbour)).await;
    assert!(listed["items"].as_array().unwrap().iter().any(|m| m["id"] == id));

    // A street's alliance is decided by a platform admin, not by one community's committee.
    let street = app.post("/merchants", Some(&w.owner), &application(community, "street", "街道福利超市")).await;
    let street = street.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let refused = decide(app, &w.committee, street, "approve", None).await;
    assert_eq!((refused.status().as_u16(), error_code(refused).await.as_str()), (403, "FORBIDDEN"));
    assert_eq!(decide(app, &w.admin, street, "approve", None).await.status(), 200);

    // The committee member's own shop: decided by someone else.
    let own = app.post("/merchants", Some(&w.committee), &application(community, "community", "委员的店")).await;
    let own = own.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let party = decide(app, &w.committee, own, "approve", None).await;
    assert_eq!((party.status().as_u16(), error_code(party).await.as_str()), (403, "PARTY_TO_CASE"));
    assert_eq!(decide(app, &w.admin, own, "approve", None).await.status(), 200);
    // Nor may staff decide their shop: the demo shop's clerk on the committee would be a party.
    let bad = app.post("/merchants", Some(&w.owner), &json!({"community_id": community, "name": "x"})).await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn staff_join_by_a_one_time_code_and_work_only_for_their_shop() {
    let w = world().await;
    let app = &w.app;
    let shop = app.open_shop(&w.owner, &w.committee, w.demo.community, "community", "阿芳理发").await;
    let [clerk, other, demo_clerk] = app.dev_logins(["new-clerk", "someone-else", "demo-shop"]).await;
    let refused = app.post(&format!("/merchants/{shop}/staff-invites"), Some(&clerk.access), &json!({})).await;
    assert_eq!(refused.status(), 403, "only the owner invites");
    let invite: Value =
        app.post(&format!("/merchants/{shop}/staff-invites"), Some(&w.owner), &json!({})).await.json().await.unwrap();
    let code = invite["code"].as_str().unwrap();
    let join = |token: String, code: String| async move {
        app.post("/staff-invites/accept", Some(&token), &json!({"code": code})).await
    };
    assert_eq!(join(clerk.access.clone(), code.to_owned()).await.status(), 200);
    assert_eq!(join(clerk.access.clone(), code.to_lowercase()).await.status(), 200, "joining again is a no-op");
    let used = join(other.access.clone(), code.to_owned()).await;
    assert_eq!((used.status().as_u16(), error_code(used).await.as_str()), (409, "INVITE_USED"));
    assert_eq!(join(other.access.clone(), "NOTACODE2345".to_owned()).await.status(), 404);
    let staff = app.get_json(&format!("/merchants/{shop}/staff"), Some(&w.owner)).await;
    assert_eq!(staff["items"].as_array().unwrap().len(), 1, "{staff}");

    // The clerk works for this shop: offers yes; the demo shop's clerk no.
    let offer = app.add_offer(&clerk.access, shop, "洗剪吹", "30", json!({})).await;
    let foreign = json!({"title": "x", "price_points": "1", "valid_until": "2099-01-01T00:00:00Z"});
    let response = app.post(&format!("/merchants/{shop}/offers"), Some(&demo_clerk.access), &foreign).await;
    assert_eq!(response.status(), 403);
    // A code of this shop is not found at the demo shop's counter, and this shop's counter is not theirs.
    app.award_points(w.demo.community, w.resident_id, "100").await;
    let (_, code) = app.code_for(&w.resident, offer).await;
    assert_eq!(app.redeem(&demo_clerk.access, &code).await.status(), 404);
    let named = json!({"code": code, "merchant_id": shop});
    assert_eq!(app.post("/redemptions", Some(&demo_clerk.access), &named).await.status(), 403);

    // Removed, the clerk can no longer work the counter or the offers.
    let removed =
        app.request(reqwest::Method::DELETE, &format!("/merchants/{shop}/staff/{}", clerk.user_id), Some(&w.owner));
    assert_eq!(removed.send().await.unwrap().status(), 204);
    assert_eq!(app.redeem(&clerk.access, &code).await.status(), 403);
    assert_eq!(app.redeem(&w.owner, &code).await.status(), 200, "the owner works the counter too");

    // An invite expires.
    let late: Value =
        app.post(&format!("/merchants/{shop}/staff-invites"), Some(&w.owner), &json!({})).await.json().await.unwrap();
    app.clock.advance(chrono::Duration::hours(73));
    let other = app.dev_login("someone-else").await.access;
    let expired = join(other, late["code"].as_str().unwrap().to_owned()).await;
    assert_eq!((expired.status().as_u16(), error_code(expired).await.as_str()), (410, "INVITE_EXPIRED"));
}

/// The ids of the offers `GET /offers` lists to the holder of `token`.
async fn offers_seen(app: &TestApp, token: &str) -> Vec<i64> {
    let listed = app.get_json("/offers", Some(token)).await;
    listed["items"].as_array().unwrap_or_else(|| panic!("{listed}")).iter().map(|o| o["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn residents_see_the_offers_of_their_community_street_and_district() {
    let w = world().await;
    let app = &w.app;
    let new_community = |street: &'static str, name: &'static str| {
        let body = json!({"district": "海曙区", "street": street, "name": name});
        let admin = w.admin.clone();
        async move { app.post_json("/communities", Some(&admin), &body).await["id"].as_i64().unwrap() }
    };
    let same_street = new_community("南门街道", "柳锦社区").await;
    let other_street = new_community("白云街道", "安丰社区").await;
    let elsewhere = {
        let body = json!({"district": "鄞州区", "street": "东胜街道", "name": "史家社区"});
        app.post_json("/communities", Some(&w.admin), &body).await["id"].as_i64().unwrap()
    };
    let neighbour = |community: i64, prefix: &'static str| async move {
        app.many_residents(community, prefix, 1, "1").await.remove(0).1
    };
    let (street_mate, district_mate, stranger) = (
        neighbour(same_street, "street-mate").await,
        neighbour(other_street, "district-mate").await,
        neighbour(elsewhere, "stranger").await,
    );
    let community = w.demo.community;
    let mut offers = Vec::new();
    for level in ["community", "street", "district"] {
        let shop = app.open_shop(&w.owner, &w.admin, community, level, &format!("{level}商家")).await;
        offers.push(app.add_offer(&w.owner, shop, &format!("{level}优惠"), "5", json!({})).await);
    }
    let [here, street, district] = [offers[0], offers[1], offers[2]];
    let mut seen = offers_seen(app, &w.resident).await;
    seen.retain(|id| offers.contains(id));
    assert_eq!(seen, vec![here, street, district], "a resident of the shops' community sees all three");
    assert_eq!(offers_seen(app, &street_mate).await, vec![street, district]);
    assert_eq!(offers_seen(app, &district_mate).await, vec![district]);
    assert!(offers_seen(app, &stranger).await.is_empty());
    // An offer not yet valid, or withdrawn, is not offered; and one of another alliance cannot be redeemed.
    assert_eq!(app.issue_code(&stranger, here, 1).await.status(), 404);
    let shop = app.open_shop(&w.owner, &w.committee, community, "community", "福利超市").await;
    let later = app.clock_now() + chrono::Duration::days(2);
    let future = app.add_offer(&w.owner, shop, "大米5斤", "20", json!({"valid_from": later})).await;
    assert!(!offers_seen(app, &w.resident).await.contains(&future));
    let withdrawn = app.request(reqwest::Method::DELETE, &format!("/offers/{here}"), Some(&w.owner));
    assert_eq!(withdrawn.send().await.unwrap().status(), 200);
    assert!(!offers_seen(app, &w.resident).await.contains(&here));
    let all = app.get_json(&format!("/merchants/{}/offers", shop), Some(&w.owner)).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1, "the owner sees offers not yet valid: {all}");
}

/// The routes that move points and refuse a keyed request without the cache are each served.
#[test]
fn every_idempotent_route_is_served() {
    let table = ehome_api::routes::route_table(ehome_api::platform::config::Environment::Prod);
    for (method, path) in ehome_api::platform::idempotency::FAIL_CLOSED {
        assert!(table.contains(&((*method).to_owned(), (*path).to_owned())), "{method} {path} is not routed");
    }
}
