//! Settlement's part of the matrix: the community's rate, and a draft statement of a shop owned by
//! demo-resident-2 (not a caller) for a redemption by a resident who is not a caller either. Only the
//! committee and an admin decide, read the statement or the report; a statement is hidden (404) from
//! everyone else. In order, the admin approves and pays the statement; the committee then finds it
//! decided (409), and a cancel finds it no longer a draft (409).

use ehome_tests::{Demo, TestApp};
use reqwest::Method;
use serde_json::json;

use super::{Case, SIGNED_IN, case, hidden};

pub struct Settlements {
    shop: i64,
    statement: i64,
    /// Today in Asia/Shanghai, the period of the statement and the report.
    pub today: String,
}

impl Settlements {
    pub fn for_template(&self, template: &str) -> Option<i64> {
        match template {
            "/api/v1/merchants/{id}/settlements" => Some(self.shop),
            t if t.starts_with("/api/v1/settlements/") => Some(self.statement),
            _ => None,
        }
    }

    pub fn query_for(&self, template: &str) -> Option<String> {
        template
            .starts_with("/api/v1/communities/{id}/alliance-report")
            .then(|| format!("?from={}&to={}", self.today, self.today))
    }
}

pub async fn fixture(app: &TestApp, demo: &Demo, committee: &str, owner: &str) -> Settlements {
    let rate = json!({"rate": "0.10"});
    let set = app.put(&format!("/communities/{}/settlement-rate", demo.community), Some(committee), &rate).await;
    assert_eq!(set.status(), 200);
    let shop = app.open_shop(owner, committee, demo.community, "community", "矩阵结算店").await;
    let offer = app.add_offer(owner, shop, "矩阵结算优惠", "2", json!({})).await;
    let (_, resident) = app.many_residents(demo.community, "matrix-settle", 1, "10").await.remove(0);
    let (_, code) = app.code_for(&resident, offer).await;
    let captured = app.post("/redemptions", Some(owner), &json!({"code": code, "merchant_id": shop})).await;
    assert_eq!(captured.status(), 200);
    let today = (app.clock_now() + chrono::Duration::hours(8)).format("%Y-%m-%d").to_string();
    let period = json!({"from": today, "to": today});
    let drafted = app.post_json(&format!("/merchants/{shop}/settlements"), Some(owner), &period).await;
    let statement = drafted["id"].as_i64().unwrap_or_else(|| panic!("draft: {drafted}"));
    Settlements { shop, statement, today }
}

pub fn cases(members: &[&'static str], today: &str) -> Vec<Case> {
    let committee: &[&'static str] = &["demo-admin", "demo-committee"];
    let others: Vec<&'static str> = SIGNED_IN.iter().copied().filter(|c| !committee.contains(c)).collect();
    let period = json!({"from": today, "to": today});
    vec![
        case(Method::GET, "/api/v1/communities/{id}/settlement-rate", json!(null), members),
        case(Method::PUT, "/api/v1/communities/{id}/settlement-rate", json!({"rate": "0.10"}), committee),
        case(Method::POST, "/api/v1/merchants/{id}/settlements", period, committee),
        case(Method::GET, "/api/v1/merchants/{id}/settlements", json!(null), committee),
        hidden(case(Method::GET, "/api/v1/settlements/{id}", json!(null), committee), &others),
        hidden(case(Method::GET, "/api/v1/settlements/{id}/statement.csv", json!(null), committee), &others),
        hidden(case(Method::POST, "/api/v1/settlements/{id}/approve", json!({}), committee), &others),
        hidden(
            case(Method::POST, "/api/v1/settlements/{id}/paid", json!({"bank_reference": "ICBC-1"}), committee),
            &others,
        ),
        hidden(case(Method::POST, "/api/v1/settlements/{id}/cancel", json!({}), committee), &others),
        case(Method::GET, "/api/v1/communities/{id}/alliance-report", json!(null), committee),
        case(Method::GET, "/api/v1/communities/{id}/alliance-report.csv", json!(null), committee),
    ]
}
