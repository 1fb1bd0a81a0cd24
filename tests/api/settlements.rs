//! Issue 12, part 3 — settlement with shops through HTTP: a statement whose lines round half-even
//! differently from its total, the committee's approval and payment and what they post, a redemption
//! never on two statements (two drafts at once on two instances, the database's own refusal), who
//! may decide, a welfare supermarket settled without CNY, the per-merchant verify check catching a
//! tampered row, CSVs, the committee's alliance report, and the shop told of approval and payment.

use chrono::Utc;
use ehome_entities::settlement_line;
use ehome_tests::{Demo, TestApp, error_code, spawn_app, spawn_app_sharing};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set, Statement};
use serde_json::{Value, json};

mod notices;
mod report;

struct World {
    app: TestApp,
    demo: Demo,
    admin: String,
    committee: String,
    /// demo-resident-2: owns the shops these tests open and works their counter.
    owner: String,
    /// demo-resident-1, who redeems.
    resident: String,
    resident_id: i64,
}

async fn world() -> World {
    world_of(spawn_app().await).await
}

async fn world_of(app: TestApp) -> World {
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

impl World {
    async fn set_rate(&self, rate: &str) {
        let path = format!("/communities/{}/settlement-rate", self.demo.community);
        let response = self.app.put(&path, Some(&self.committee), &json!({"rate": rate})).await;
        assert_eq!(response.status(), 200, "set the rate {rate}");
    }

    /// `n` redemptions of `offer` of `shop` by the resident, captured by the owner at the counter.
    async fn redeemed(&self, shop: i64, offer: i64, n: usize) -> Vec<i64> {
        let mut ids = Vec::new();
        for _ in 0..n {
            let (id, code) = self.app.code_for(&self.resident, offer).await;
            let body = json!({"code": code, "merchant_id": shop});
            assert_eq!(self.app.post("/redemptions", Some(&self.owner), &body).await.status(), 200);
            ids.push(id);
        }
        ids
    }

    /// Today in Asia/Shanghai, as the period of a statement.
    fn today(&self) -> String {
        self.app.clock_now().with_timezone(&chrono_tz_shanghai()).date_naive().to_string()
    }

    async fn draft(&self, app: &TestApp, token: &str, shop: i64) -> reqwest::Response {
        let today = self.today();
        app.post(&format!("/merchants/{shop}/settlements"), Some(token), &json!({"from": today, "to": today})).await
    }

    async fn account(&self, code: &str) -> Value {
        self.app.get_json(&format!("/ledger/accounts/{code}"), Some(&self.admin)).await
    }
}

fn chrono_tz_shanghai() -> chrono::FixedOffset {
    // Asia/Shanghai has kept UTC+8 without daylight saving since 1991.
    chrono::FixedOffset::east_opt(8 * 3600).unwrap()
}

fn lines_of(statement: &Value) -> Vec<i64> {
    statement["lines"].as_array().unwrap().iter().map(|l| l["redemption_id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn lines_round_half_even_the_total_is_their_sum_and_approval_and_payment_post_the_batch() {
    let w = world().await;
    let app = &w.app;
    w.app.award_points(w.demo.community, w.resident_id, "100").await;
    let shop = app.open_shop(&w.owner, &w.committee, w.demo.community, "community", "阿芳理发").await;
    let offer = app.add_offer(&w.owner, shop, "修眉", "0.15", json!({})).await;
    let redeemed = w.redeemed(shop, offer, 3).await;

    let unset = w.draft(app, &w.owner, shop).await;
    assert_eq!((unset.status().as_u16(), error_code(unset).await.as_str()), (409, "SETTLEMENT_RATE_NOT_SET"));
    w.set_rate("0.1").await;
    let drafted = w.draft(app, &w.owner, shop).await;
    assert_eq!(drafted.status(), 201);
    let statement: Value = drafted.json().await.unwrap();
    // 0.15 points × ¥0.10 = ¥0.015 a line, rounded half-even to ¥0.02; three lines make ¥0.06, while
    // the total points (0.45) × ¥0.10 = ¥0.045 would have rounded to ¥0.04.
    assert_eq!(lines_of(&statement), redeemed);
    let amounts: Vec<&str> =
        statement["lines"].as_array().unwrap().iter().map(|l| l["cny"].as_str().unwrap()).collect();
    assert_eq!(amounts, ["0.02", "0.02", "0.02"]);
    assert_eq!((statement["points"].as_str(), statement["cny"].as_str()), (Some("0.45"), Some("0.06")));
    assert_eq!((statement["cny_exact"].as_str(), statement["rate"].as_str()), (Some("0.045"), Some("0.10")));
    assert_eq!(statement["status"], "draft");
    let id = statement["id"].as_i64().unwrap();
    let books = app.get_json(&format!("/merchants/{shop}/redemptions"), Some(&w.owner)).await;
    assert_eq!(books["unsettled_points"], "0.00", "a drafted redemption is no longer unsettled: {books}");

    // The CSV: UTF-8 with a BOM, a line per redemption, the total and the exact figure.
    let csv = app.get(&format!("/settlements/{id}/statement.csv"), Some(&w.committee)).await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    assert!(text.starts_with('\u{FEFF}'), "BOM for Excel");
    let rows: Vec<&str> = text.trim_start_matches('\u{FEFF}').lines().collect();
    assert_eq!(rows.len(), 1 + 3 + 2, "{text}");
    assert!(rows[1].ends_with(",0.15,0.02") && rows[4].contains("合计") && rows[4].ends_with(",0.45,0.06"), "{text}");
    assert!(rows[5].ends_with(",0.045"), "{text}");

    // Approval: one linked batch retires the points and records the CNY owed.
    let early =
        app.post(&format!("/settlements/{id}/paid"), Some(&w.committee), &json!({"bank_reference": "X1"})).await;
    assert_eq!((early.status().as_u16(), error_code(early).await.as_str()), (409, "INVALID_TRANSITION"));
    let approved = app.post(&format!("/settlements/{id}/approve"), Some(&w.committee), &json!({})).await;
    assert_eq!(approved.status(), 200);
    let approved: Value = approved.json().await.unwrap();
    assert_eq!(approved["status"], "approved");
    let again = app.post(&format!("/settlements/{id}/approve"), Some(&w.committee), &json!({})).await;
    assert_eq!((again.status().as_u16(), error_code(again).await.as_str()), (409, "INVALID_TRANSITION"));
    let c = w.demo.community;
    assert_eq!(w.account(&format!("merchant:{shop}:points")).await["balance_posted"], "0.00");
    assert_eq!(w.account(&format!("community:{c}:points:retired")).await["balance_posted"], "0.45");
    assert_eq!(w.account(&format!("community:{c}:cny:alliance_fund")).await["balance_posted"], "-0.06");
    let payable = w.account(&format!("merchant:{shop}:cny:payable")).await;
    assert_eq!((payable["asset"].as_str(), payable["balance_posted"].as_str()), (Some("CNY"), Some("0.06")));
    let points_transfer = approved["points_transfer_id"].as_str().unwrap();
    let transfer = app.get_json(&format!("/ledger/transfers/{points_transfer}"), Some(&w.admin)).await;
    assert_eq!(
        (transfer["code"].as_str(), transfer["metadata"]["settlement"].as_i64()),
        (Some("settlement"), Some(id))
    );

    // Payment: payable → bank, with the bank's reference; refused once paid.
    let bad =
        app.post(&format!("/settlements/{id}/paid"), Some(&w.committee), &json!({"bank_reference": "=1+1"})).await;
    assert_eq!(bad.status(), 400);
    let reference = json!({"bank_reference": "ICBC-20261127-0001"});
    let paid = app.post(&format!("/settlements/{id}/paid"), Some(&w.committee), &reference).await;
    assert_eq!(paid.status(), 200);
    let paid: Value = paid.json().await.unwrap();
    assert_eq!((paid["status"].as_str(), paid["bank_reference"].as_str()), (Some("paid"), Some("ICBC-20261127-0001")));
    assert_eq!(w.account(&format!("merchant:{shop}:cny:payable")).await["balance_posted"], "0.00");
    let bank = w.account(&format!("community:{c}:cny:bank")).await;
    assert_eq!(bank["credits_posted"], "0.06");
    let twice = app.post(&format!("/settlements/{id}/paid"), Some(&w.committee), &reference).await;
    assert_eq!(twice.status(), 409);
    let verified = app.post_json("/ledger/verify", Some(&w.admin), &json!({})).await;
    assert_eq!(verified["clean"], true, "{verified}");
    assert_eq!(verified["merchants"]["faults"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redemption_is_on_one_statement_even_when_two_drafts_race_on_two_instances() {
    let w = world().await;
    let other = spawn_app_sharing(&w.app).await;
    let app = &w.app;
    w.app.award_points(w.demo.community, w.resident_id, "100").await;
    w.set_rate("0.10").await;
    let shop = app.open_shop(&w.owner, &w.committee, w.demo.community, "community", "阿芳理发").await;
    let offer = app.add_offer(&w.owner, shop, "洗剪吹", "5", json!({})).await;
    let mut settled = Vec::new();
    for round in 0..4 {
        let mut redeemed = w.redeemed(shop, offer, 3).await;
        let (a, b) = tokio::join!(w.draft(app, &w.owner, shop), w.draft(&other, &w.committee, shop));
        let mut on_statements = Vec::new();
        let mut statuses = Vec::new();
        for response in [a, b] {
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            statuses.push(status);
            match status {
                201 => on_statements.extend(lines_of(&body)),
                409 => assert_eq!(body["error"]["code"], "NOTHING_TO_SETTLE", "{body}"),
                _ => panic!("round {round}: {status} {body}"),
            }
        }
        assert!(statuses.contains(&201), "round {round}: {statuses:?}");
        on_statements.sort_unstable();
        redeemed.sort_unstable();
        assert_eq!(on_statements, redeemed, "round {round}: each redemption on exactly one statement");
        settled.extend(redeemed);
    }
    let nothing = w.draft(app, &w.owner, shop).await;
    assert_eq!((nothing.status().as_u16(), error_code(nothing).await.as_str()), (409, "NOTHING_TO_SETTLE"));

    // The database refuses a second live line for a redemption, whatever the code does.
    let listed = app.get_json(&format!("/merchants/{shop}/settlements"), Some(&w.owner)).await;
    let statement = listed["items"][0]["id"].as_i64().unwrap();
    let duplicate = settlement_line::ActiveModel {
        settlement_id: Set(statement),
        redemption_id: Set(settled[0]),
        offer_id: Set(offer),
        quantity: Set(1),
        points_minor: Set(500),
        cny_minor: Set(50),
        captured_at: Set(Utc::now()),
        ..Default::default()
    };
    assert!(duplicate.insert(&app.db).await.is_err(), "the partial unique index refuses a second live line");

    // A redemption on a statement is not refunded; cancelling the draft frees its redemptions.
    let held = listed["items"][0]["id"].as_i64().unwrap();
    let detail = app.get_json(&format!("/settlements/{held}"), Some(&w.owner)).await;
    let on_it = lines_of(&detail);
    let refund = app.post(&format!("/redemptions/{}/refund", on_it[0]), Some(&w.committee), &json!({})).await;
    assert_eq!((refund.status().as_u16(), error_code(refund).await.as_str()), (409, "REDEMPTION_ON_STATEMENT"));
    let cancelled = app.post(&format!("/settlements/{held}/cancel"), Some(&w.owner), &json!({})).await;
    assert_eq!(cancelled.status(), 200);
    assert_eq!(app.get_json(&format!("/settlements/{held}"), Some(&w.owner)).await["status"], "cancelled");
    let again = w.draft(app, &w.owner, shop).await;
    assert_eq!(again.status(), 201);
    let mut redrafted = lines_of(&again.json().await.unwrap());
    redrafted.sort_unstable();
    let mut freed = on_it.clone();
    freed.sort_unstable();
    assert_eq!(redrafted, freed, "the cancelled draft's redemptions go on the next statement");
    w.app.assert_books_verify().await;
}

#[tokio::test]
async fn only_the_committee_approves_and_pays_and_never_for_a_shop_it_works_for() {
    let w = world().await;
    let app = &w.app;
    w.app.award_points(w.demo.community, w.resident_id, "100").await;
    let rate = app
        .put(&format!("/communities/{}/settlement-rate", w.demo.community), Some(&w.owner), &json!({"rate": "0.1"}))
        .await;
    assert_eq!(rate.status(), 403, "a shop owner does not set the rate");
    let bad = app
        .put(&format!("/communities/{}/settlement-rate", w.demo.community), Some(&w.committee), &json!({"rate": "-1"}))
        .await;
    assert_eq!(bad.status(), 400);
    w.set_rate("0.10").await;
    let seen = app.get_json(&format!("/communities/{}/settlement-rate", w.demo.community), Some(&w.owner)).await;
    assert_eq!(seen["rate"], "0.10");

    let shop = app.open_shop(&w.owner, &w.committee, w.demo.community, "community", "阿芳理发").await;
    let invite = app.post_json(&format!("/merchants/{shop}/staff-invites"), Some(&w.owner), &json!({})).await;
    let clerk = app.dev_login("settle-clerk").await.access;
    app.post("/staff-invites/accept", Some(&clerk), &json!({"code": invite["code"]})).await;
    let offer = app.add_offer(&w.owner, shop, "洗剪吹", "5", json!({})).await;
    w.redeemed(shop, offer, 1).await;
    let refused = w.draft(app, &clerk, shop).await;
    assert_eq!(refused.status(), 403, "staff do not draft");
    let statement: Value = w.draft(app, &w.owner, shop).await.json().await.unwrap();
    let id = statement["id"].as_i64().unwrap();
    for (who, token) in [("owner", &w.owner), ("staff", &clerk)] {
        let approve = app.post(&format!("/settlements/{id}/approve"), Some(token), &json!({})).await;
        assert_eq!(approve.status(), 403, "the {who} does not approve their own shop's statement");
    }
    let stranger = app.post(&format!("/settlements/{id}/approve"), Some(&w.resident), &json!({})).await;
    assert_eq!(stranger.status(), 404, "a resident does not see the statement");

    // A committee member who works for the shop is a party to its statement.
    let committee_id = app.user_id("demo-committee").await;
    let invite = app.post_json(&format!("/merchants/{shop}/staff-invites"), Some(&w.owner), &json!({})).await;
    app.post("/staff-invites/accept", Some(&w.committee), &json!({"code": invite["code"]})).await;
    let party = app.post(&format!("/settlements/{id}/approve"), Some(&w.committee), &json!({})).await;
    assert_eq!((party.status().as_u16(), error_code(party).await.as_str()), (403, "PARTY_TO_CASE"));
    let path = format!("/merchants/{shop}/staff/{committee_id}");
    assert_eq!(app.request(reqwest::Method::DELETE, &path, Some(&w.owner)).send().await.unwrap().status(), 204);
    let committee = app.dev_login("demo-committee").await.access;
    assert_eq!(app.post(&format!("/settlements/{id}/approve"), Some(&committee), &json!({})).await.status(), 200);
    let cancel = app.post(&format!("/settlements/{id}/cancel"), Some(&w.owner), &json!({})).await;
    assert_eq!((cancel.status().as_u16(), error_code(cancel).await.as_str()), (409, "INVALID_TRANSITION"));
}

#[tokio::test]
async fn a_welfare_supermarket_run_by_the_community_retires_points_without_cny() {
    let w = world().await;
    let app = &w.app;
    w.app.award_points(w.demo.community, w.resident_id, "100").await;
    let body = json!({"community_id": w.demo.community, "name": "社区志愿者福利超市", "kind": "welfare_supermarket",
        "business_category": "超市", "address": "社区服务中心", "contact_phone": "13912345678",
        "licence_number": "12330203MB1", "alliance_level": "community"});
    let applied = app.post_json("/merchants", Some(&w.owner), &body).await;
    let shop = applied["id"].as_i64().unwrap_or_else(|| panic!("{applied}"));
    let decided =
        app.post(&format!("/merchants/{shop}/transitions"), Some(&w.committee), &json!({"action": "approve"})).await;
    assert_eq!(decided.status(), 200);
    let offer = app.add_offer(&w.owner, shop, "大米5斤", "20", json!({})).await;
    w.redeemed(shop, offer, 2).await;
    // No rate is needed: nothing is paid.
    let drafted = w.draft(app, &w.committee, shop).await;
    assert_eq!(drafted.status(), 201);
    let statement: Value = drafted.json().await.unwrap();
    assert_eq!((statement["points"].as_str(), statement["cny"].as_str()), (Some("40.00"), Some("0.00")));
    assert_eq!((statement["pays_cny"].as_bool(), statement["rate"].is_null()), (Some(false), true));
    let id = statement["id"].as_i64().unwrap();
    let approved: Value =
        app.post(&format!("/settlements/{id}/approve"), Some(&w.committee), &json!({})).await.json().await.unwrap();
    assert_eq!((approved["status"].as_str(), approved["cny_transfer_id"].is_null()), (Some("approved"), true));
    assert_eq!(w.account(&format!("community:{}:points:retired", w.demo.community)).await["balance_posted"], "40.00");
    let missing = app.get(&format!("/ledger/accounts/merchant:{shop}:cny:payable"), Some(&w.admin)).await;
    assert_eq!(missing.status(), 404, "no CNY account is opened for a welfare supermarket");
    let paid = app.post(&format!("/settlements/{id}/paid"), Some(&w.committee), &json!({"bank_reference": "X"})).await;
    assert_eq!((paid.status().as_u16(), error_code(paid).await.as_str()), (409, "INVALID_TRANSITION"));
}

#[tokio::test]
async fn ledger_verify_reports_a_merchant_whose_redemptions_disagree_with_its_account() {
    let w = world().await;
    let app = &w.app;
    w.app.award_points(w.demo.community, w.resident_id, "100").await;
    w.set_rate("0.10").await;
    let shop = app.open_shop(&w.owner, &w.committee, w.demo.community, "community", "阿芳理发").await;
    let offer = app.add_offer(&w.owner, shop, "洗剪吹", "5", json!({})).await;
    let redeemed = w.redeemed(shop, offer, 3).await;
    let statement: Value = w.draft(app, &w.owner, shop).await.json().await.unwrap();
    let id = statement["id"].as_i64().unwrap();
    assert_eq!(app.post(&format!("/settlements/{id}/approve"), Some(&w.committee), &json!({})).await.status(), 200);
    w.redeemed(shop, offer, 1).await;
    let clean = app.post_json("/ledger/verify", Some(&w.admin), &json!({})).await;
    assert_eq!(clean["clean"], true, "{clean}");
    assert_eq!(cli_verify(app).await, format!("{:?}", std::process::ExitCode::SUCCESS));
    assert!(clean["merchants"]["merchants_checked"].as_i64().unwrap() >= 2, "{clean}");

    // A settled redemption's amount edited behind the ledger's back.
    let sql = format!("UPDATE redemptions SET amount_minor = amount_minor + 100 WHERE id = {}", redeemed[1]);
    app.db.execute_raw(Statement::from_string(app.db.get_database_backend(), sql)).await.unwrap();
    let tampered = app.post_json("/ledger/verify", Some(&w.admin), &json!({})).await;
    assert_eq!(tampered["clean"], false, "{tampered}");
    assert_eq!(cli_verify(app).await, format!("{:?}", std::process::ExitCode::from(1)), "ehome ledger verify fails");
    assert_eq!(tampered["report"]["faults"], json!([]), "the ledger itself is intact");
    assert_eq!(
        tampered["merchants"]["faults"],
        json!([{"merchant_id": shop, "captured": "21.00", "settled": "15.00", "outstanding": "5.00"}])
    );
}

/// `ehome ledger verify --json` against the test's database: its exit code, as text.
async fn cli_verify(app: &TestApp) -> String {
    use ehome_api::cli::ledger::{LedgerCommand, run};
    format!("{:?}", run(LedgerCommand::Verify { json: true }, &app.db).await.unwrap())
}
