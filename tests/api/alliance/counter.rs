//! At the counter: the code → capture flow once, every error it answers, guessing locked out,
//! suspension voiding holds, refunds, and `Idempotency-Key` replays.

use chrono::Duration;
use ehome_tests::error_code;
use serde_json::{Value, json};

use super::{World, decide, world};

/// A shop of the demo community owned by demo-resident-2, approved, with the demo resident holding
/// `points`; returns the shop's id.
async fn shop_with_points(w: &World, points: &str) -> i64 {
    w.app.award_points(w.demo.community, w.resident_id, points).await;
    w.app.open_shop(&w.owner, &w.committee, w.demo.community, "community", "阿芳理发").await
}

fn pair(available: &str, on_hold: &str) -> (String, String) {
    (available.to_owned(), on_hold.to_owned())
}

#[tokio::test]
async fn a_code_is_captured_once_and_the_resident_is_told() {
    let w = world().await;
    let app = &w.app;
    let shop = shop_with_points(&w, "100").await;
    let limit = json!({"stock": 5, "limit": {"quantity": 2, "period": "day"}});
    let offer = app.add_offer(&w.owner, shop, "洗剪吹", "30", limit).await;

    let issued = app.issue_code(&w.resident, offer, 1).await;
    assert_eq!(issued.status(), 201);
    let issued: Value = issued.json().await.unwrap();
    let code = issued["code"].as_str().unwrap().to_owned();
    assert!(code.len() == 8 && code.bytes().all(|b| b.is_ascii_digit()), "{issued}");
    assert!(issued["qr_payload"].as_str().unwrap().contains(&code));
    assert_eq!(app.points_of(w.resident_id).await, pair("70.00", "30.00"), "held, not spent");

    let captured = app.redeem(&w.owner, &code).await;
    assert_eq!(captured.status(), 200);
    let captured: Value = captured.json().await.unwrap();
    assert_eq!((captured["status"].as_str(), captured["points"].as_str()), (Some("captured"), Some("30.00")));
    assert_eq!(app.points_of(w.resident_id).await, pair("70.00", "0.00"));
    let inbox = app.get_json("/me/notifications", Some(&w.resident)).await;
    assert!(inbox.to_string().contains("已核销"), "the resident is told: {inbox}");

    let repeat = app.redeem(&w.owner, &code).await;
    assert_eq!(repeat.status(), 409);
    let body: Value = repeat.json().await.unwrap();
    assert_eq!(body["error"]["code"], "CODE_ALREADY_USED");
    assert_eq!(body["error"]["details"]["redemption_id"], captured["id"], "names the first redemption: {body}");
    let wrong = if code == "00000000" { "00000001" } else { "00000000" };
    let missing = app.redeem(&w.owner, wrong).await;
    assert_eq!((missing.status().as_u16(), error_code(missing).await.as_str()), (404, "NOT_FOUND"));

    let books = app.get_json(&format!("/merchants/{shop}/redemptions"), Some(&w.owner)).await;
    assert_eq!(books["totals"], json!({"count": 1, "points": "30.00"}), "{books}");
    assert_eq!(books["unsettled_points"], "30.00");
    let stock = app.get_json(&format!("/offers/{offer}"), Some(&w.resident)).await["stock"].clone();
    assert_eq!(stock, json!({"total": 5, "available": 4}));
    app.assert_books_verify().await;
}

#[tokio::test]
async fn every_refusal_at_issue_and_at_the_counter_has_its_code() {
    let w = world().await;
    let app = &w.app;
    let shop = shop_with_points(&w, "100").await;
    let limited =
        app.add_offer(&w.owner, shop, "洗剪吹", "10", json!({"limit": {"quantity": 2, "period": "day"}})).await;
    let scarce = app.add_offer(&w.owner, shop, "染发", "10", json!({"stock": 1})).await;
    let dear = app.add_offer(&w.owner, shop, "烫发", "500", json!({})).await;
    let refusal = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        (status, error_code(response).await)
    };

    assert_eq!(refusal(app.issue_code(&w.resident, dear, 1).await).await, (409, "INSUFFICIENT_POINTS".to_owned()));
    app.code_for(&w.resident, limited).await;
    app.code_for(&w.resident, limited).await;
    let third = app.issue_code(&w.resident, limited, 1).await;
    assert_eq!(refusal(third).await, (409, "REDEMPTION_LIMIT_REACHED".to_owned()));
    let (_, last) = app.code_for(&w.resident, scarce).await;
    let neighbour = app.dev_login("demo-resident-3").await;
    app.award_points(w.demo.community, neighbour.user_id, "50").await;
    let sold_out = app.issue_code(&neighbour.access, scarce, 1).await;
    assert_eq!(refusal(sold_out).await, (409, "OUT_OF_STOCK".to_owned()));
    assert_eq!(app.issue_code(&w.resident, limited, 0).await.status(), 400);
    assert_eq!(app.redeem(&w.owner, "12ab").await.status(), 400);

    // Cancelled: the code is dead, the stock and points come back.
    let (cancel_id, cancelled) = app.code_for(&neighbour.access, limited).await;
    let cancel = app.post(&format!("/redemptions/{cancel_id}/cancel"), Some(&neighbour.access), &json!({})).await;
    assert_eq!(cancel.status(), 200);
    assert_eq!(app.points_of(neighbour.user_id).await, pair("50.00", "0.00"));
    assert_eq!(refusal(app.redeem(&w.owner, &cancelled).await).await, (409, "CODE_CANCELLED".to_owned()));
    let not_theirs = app.post(&format!("/redemptions/{cancel_id}/cancel"), Some(&w.resident), &json!({})).await;
    assert_eq!(not_theirs.status(), 404);

    // Expired: 410 before the job runs and after; the job gives everything back.
    app.clock.advance(Duration::minutes(6));
    assert_eq!(refusal(app.redeem(&w.owner, &last).await).await, (410, "CODE_EXPIRED".to_owned()));
    let expired = ehome_api::scenes::redemptions::jobs::run_once(&app.state).await.unwrap();
    assert_eq!(expired, 3, "two limited codes and the scarce one");
    assert_eq!(ehome_api::scenes::redemptions::jobs::run_once(&app.state).await.unwrap(), 0, "once");
    assert_eq!(refusal(app.redeem(&w.owner, &last).await).await, (410, "CODE_EXPIRED".to_owned()));
    assert_eq!(app.points_of(w.resident_id).await, pair("100.00", "0.00"));
    app.code_for(&neighbour.access, scarce).await;
    app.code_for(&w.resident, limited).await;
    // A new day in Shanghai, a new daily limit.
    app.clock.advance(Duration::days(1));
    let dev = app.dev_login("demo-resident-1").await.access;
    app.code_for(&dev, limited).await;
    app.code_for(&dev, limited).await;
    app.assert_books_verify().await;
}

#[tokio::test]
async fn guessing_codes_locks_the_staff_member_out() {
    let w = world().await;
    let app = &w.app;
    let shop = shop_with_points(&w, "100").await;
    let offer = app.add_offer(&w.owner, shop, "洗剪吹", "10", json!({})).await;
    let (_, code) = app.code_for(&w.resident, offer).await;
    let guesses = ["11111111", "22222222", "33333333", "44444444", "55555555"];
    for guess in guesses.iter().chain(guesses.iter()).filter(|g| **g != code) {
        assert_eq!(app.redeem(&w.owner, guess).await.status(), 404);
    }
    let locked = app.redeem(&w.owner, &code).await;
    assert_eq!(locked.status(), 429, "locked out even with the right code");
    assert!(locked.headers().get("retry-after").is_some());

    // Two more clerks guess ten times each: thirty wrong codes lock the whole shop, a fresh clerk too.
    let mut clerks = Vec::new();
    for name in ["clerk-a", "clerk-b", "clerk-c"] {
        let invite = app.post_json(&format!("/merchants/{shop}/staff-invites"), Some(&w.owner), &json!({})).await;
        let clerk = app.dev_login(name).await.access;
        let joined = app.post("/staff-invites/accept", Some(&clerk), &json!({"code": invite["code"]})).await;
        assert_eq!(joined.status(), 200);
        clerks.push(clerk);
    }
    for clerk in &clerks[..2] {
        for guess in (0..10).map(|i| format!("9{i:07}")).filter(|g| *g != code) {
            assert_eq!(app.redeem(clerk, &guess).await.status(), 404);
        }
    }
    assert_eq!(app.redeem(&clerks[2], &code).await.status(), 429, "the shop is locked out");
}

#[tokio::test]
async fn suspending_a_shop_hides_its_offers_voids_its_holds_and_stops_its_counter() {
    let w = world().await;
    let app = &w.app;
    let shop = shop_with_points(&w, "100").await;
    let offer = app.add_offer(&w.owner, shop, "洗剪吹", "40", json!({"stock": 3})).await;
    let (_, code) = app.code_for(&w.resident, offer).await;
    assert_eq!(app.points_of(w.resident_id).await, pair("60.00", "40.00"));

    let suspended = decide(app, &w.committee, shop, "suspend", Some("多次投诉")).await;
    assert_eq!(suspended.status(), 200);
    assert_eq!(app.points_of(w.resident_id).await, pair("100.00", "0.00"), "the hold is voided");
    let listed = app.get_json("/offers", Some(&w.resident)).await;
    assert!(!listed.to_string().contains("洗剪吹"), "{listed}");
    let counter = app.redeem(&w.owner, &code).await;
    assert_eq!((counter.status().as_u16(), error_code(counter).await.as_str()), (409, "MERCHANT_NOT_APPROVED"));
    let inbox = app.get_json("/me/notifications", Some(&w.resident)).await;
    assert!(inbox.to_string().contains("已作废"), "{inbox}");

    assert_eq!(decide(app, &w.committee, shop, "reinstate", None).await.status(), 200);
    let (_, fresh) = app.code_for(&w.resident, offer).await;
    let stale = app.redeem(&w.owner, &code).await;
    assert_eq!(error_code(stale).await, "CODE_CANCELLED");
    assert_eq!(app.redeem(&w.owner, &fresh).await.status(), 200);
    let stock = app.get_json(&format!("/offers/{offer}"), Some(&w.resident)).await["stock"].clone();
    assert_eq!(stock, json!({"total": 3, "available": 2}), "the voided code's stock came back");
    app.assert_books_verify().await;
}

#[tokio::test]
async fn the_shop_refunds_within_seven_days_and_the_committee_after() {
    let w = world().await;
    let app = &w.app;
    let shop = shop_with_points(&w, "100").await;
    let offer = app.add_offer(&w.owner, shop, "洗剪吹", "25", json!({"stock": 2})).await;
    let (first, code) = app.code_for(&w.resident, offer).await;
    assert_eq!(app.redeem(&w.owner, &code).await.status(), 200);
    let refund = |token: String, id: i64| async move {
        app.post(&format!("/redemptions/{id}/refund"), Some(&token), &json!({"reason": "服务未完成"})).await
    };
    let own = refund(w.resident.clone(), first).await;
    assert_eq!(own.status(), 403, "the resident does not refund themself");
    let refunded = refund(w.owner.clone(), first).await;
    assert_eq!(refunded.status(), 200);
    let refunded: Value = refunded.json().await.unwrap();
    assert_eq!(refunded["status"], "refunded");
    assert!(refunded["refund_transfer_id"].is_string());
    assert_eq!(app.points_of(w.resident_id).await, pair("100.00", "0.00"));
    let inbox = app.get_json("/me/notifications", Some(&w.resident)).await;
    let told = &inbox["items"][0];
    assert_eq!((told["kind"].as_str(), told["title"].as_str()), (Some("redemption"), Some("积分已退回")), "{inbox}");
    assert!(told["body"].as_str().unwrap().contains("25.00"), "the resident is told what came back: {told}");
    let twice = refund(w.owner.clone(), first).await;
    assert_eq!((twice.status().as_u16(), error_code(twice).await.as_str()), (409, "INVALID_TRANSITION"));
    let stock = app.get_json(&format!("/offers/{offer}"), Some(&w.resident)).await["stock"].clone();
    assert_eq!(stock, json!({"total": 2, "available": 2}), "the stock came back");

    let (second, code) = app.code_for(&w.resident, offer).await;
    assert_eq!(app.redeem(&w.owner, &code).await.status(), 200);
    app.clock.advance(Duration::days(8));
    let owner = app.dev_login("demo-resident-2").await.access;
    let late = refund(owner.clone(), second).await;
    assert_eq!((late.status().as_u16(), error_code(late).await.as_str()), (409, "REFUND_WINDOW_CLOSED"));
    let committee = app.dev_login("demo-committee").await.access;
    assert_eq!(refund(committee, second).await.status(), 200);
    let books = app.get_json(&format!("/merchants/{shop}/redemptions"), Some(&owner)).await;
    assert_eq!(books["refunds"]["count"], 1, "today's refunds: {books}");
    assert_eq!(books["unsettled_points"], "0.00");
    app.assert_books_verify().await;
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_refuses_another_body() {
    let w = world().await;
    let app = &w.app;
    let shop = shop_with_points(&w, "100").await;
    let offer = app.add_offer(&w.owner, shop, "洗剪吹", "10", json!({})).await;
    let send = |token: String, key: &'static str, body: Value| async move {
        let request = app.request(reqwest::Method::POST, "/redemptions/codes", Some(&token));
        request.header("Idempotency-Key", key).json(&body).send().await.unwrap()
    };
    let first = send(w.resident.clone(), "k-1", json!({"offer_id": offer})).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let repeat = send(w.resident.clone(), "k-1", json!({"offer_id": offer})).await;
    assert_eq!(repeat.status(), 201);
    assert_eq!(repeat.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    assert_eq!(repeat.json::<Value>().await.unwrap(), first, "the first answer again");
    assert_eq!(app.points_of(w.resident_id).await, pair("90.00", "10.00"), "one code, one hold");
    let other = send(w.resident.clone(), "k-1", json!({"offer_id": offer, "quantity": 2})).await;
    assert_eq!((other.status().as_u16(), error_code(other).await.as_str()), (409, "IDEMPOTENCY_KEY_REUSED"));
    // Keys are per user: another resident's "k-1" is their own.
    let neighbour = app.dev_login("demo-resident-3").await;
    app.award_points(w.demo.community, neighbour.user_id, "10").await;
    assert_eq!(send(neighbour.access.clone(), "k-1", json!({"offer_id": offer})).await.status(), 201);
    // A failure is not kept: the same key runs again once it can succeed.
    let poor = send(neighbour.access.clone(), "k-2", json!({"offer_id": offer})).await;
    assert_eq!(error_code(poor).await, "INSUFFICIENT_POINTS");
    app.award_points(w.demo.community, neighbour.user_id, "10").await;
    assert_eq!(send(neighbour.access.clone(), "k-2", json!({"offer_id": offer})).await.status(), 201);

    // The counter's retry with the same key is the first capture, not CODE_ALREADY_USED.
    let code = first["code"].as_str().unwrap();
    let capture = || async {
        let request = app.request(reqwest::Method::POST, "/redemptions", Some(&w.owner));
        request.header("Idempotency-Key", "counter-1").json(&json!({"code": code})).send().await.unwrap()
    };
    let (once, again) = (capture().await, capture().await);
    assert_eq!((once.status().as_u16(), again.status().as_u16()), (200, 200));
    assert_eq!(once.json::<Value>().await.unwrap(), again.json::<Value>().await.unwrap());
    app.assert_books_verify().await;
}

#[tokio::test]
async fn a_code_whose_hold_the_ledger_expired_first_is_still_expired_and_given_back() {
    let w = world().await;
    let app = &w.app;
    let shop = shop_with_points(&w, "100").await;
    let offer = app.add_offer(&w.owner, shop, "洗剪吹", "30", json!({"stock": 2})).await;
    app.code_for(&w.resident, offer).await;
    app.clock.advance(Duration::minutes(6));
    // The ledger's own expiry job (every instance runs it) voids the timed-out hold first.
    let txn = ehome_api::platform::db::begin_write(&app.db).await.unwrap();
    let voided = ehome_ledger::store::expire_holds(&txn, app.clock_now().timestamp_micros(), 100).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(voided.len(), 1);
    assert_eq!(app.points_of(w.resident_id).await, pair("100.00", "0.00"));
    assert_eq!(ehome_api::scenes::redemptions::jobs::run_once(&app.state).await.unwrap(), 1);
    let resident = app.dev_login("demo-resident-1").await.access;
    let mine = app.get_json("/me/redemptions", Some(&resident)).await;
    assert_eq!(mine["items"][0]["status"], "expired", "{mine}");
    let stock = app.get_json(&format!("/offers/{offer}"), Some(&resident)).await["stock"].clone();
    assert_eq!(stock, json!({"total": 2, "available": 2}));
    assert_eq!(app.points_of(w.resident_id).await, pair("100.00", "0.00"));
    app.assert_books_verify().await;
}
