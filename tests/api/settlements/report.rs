//! The committee's alliance report: redemptions per merchant and offer in a period, and the points
//! issued, redeemed and expired with what is outstanding (the liability), as JSON and CSV.

use ehome_api::domain::{CommunityId, UserId};
use ehome_api::points::{self, Expiry, Points};
use serde_json::{Value, json};

use super::world;

#[tokio::test]
async fn the_alliance_report_counts_redemptions_per_merchant_and_offer_and_the_liability() {
    let w = world().await;
    let app = &w.app;
    let community = w.demo.community;
    let path = |suffix: &str| {
        let today = w.today();
        format!("/communities/{community}/alliance-report{suffix}?from={today}&to={today}")
    };
    let before = app.get_json(&path(""), Some(&w.committee)).await;
    let issued_before: f64 = before["at_end"]["issued"].as_str().unwrap().parse().unwrap();
    let outstanding_before: f64 = before["at_end"]["outstanding"].as_str().unwrap().parse().unwrap();
    let held_by_resident = || async {
        let (available, on_hold) = app.points_of(w.resident_id).await;
        available.parse::<f64>().unwrap() + on_hold.parse::<f64>().unwrap()
    };
    let resident_before = held_by_resident().await;

    w.app.award_points(community, w.resident_id, "100").await;
    let haircut = app.open_shop(&w.owner, &w.committee, community, "community", "阿芳理发").await;
    let cut = app.add_offer(&w.owner, haircut, "洗剪吹", "10", json!({})).await;
    let brows = app.add_offer(&w.owner, haircut, "修眉", "2.50", json!({})).await;
    let grocer = app.open_shop(&w.owner, &w.committee, community, "community", "便民超市").await;
    let rice = app.add_offer(&w.owner, grocer, "大米", "20", json!({})).await;
    w.redeemed(haircut, cut, 2).await;
    w.redeemed(haircut, brows, 1).await;
    let refunded = w.redeemed(grocer, rice, 1).await[0];
    let refund = app.post(&format!("/redemptions/{refunded}/refund"), Some(&w.committee), &json!({})).await;
    assert_eq!(refund.status(), 200);
    // Points expire (issue 12's expiry job is built apart; its verb posts what the job will).
    let expiry = Expiry {
        community: CommunityId(community),
        user: UserId(w.resident_id),
        amount: Points::parse("5").unwrap(),
        date: w.app.clock_now().date_naive(),
    };
    let txn = ehome_api::platform::db::begin_write(&app.db).await.unwrap();
    points::expire(&txn, &expiry, app.clock_now()).await.unwrap();
    txn.commit().await.unwrap();

    assert_eq!(app.get(&path(""), Some(&w.owner)).await.status(), 403, "the report is the committee's");
    let report = app.get_json(&path(""), Some(&w.committee)).await;
    let offers = report["offers"].as_array().unwrap();
    let find =
        |offer: i64| offers.iter().find(|o| o["offer_id"] == offer).cloned().unwrap_or_else(|| panic!("{report}"));
    assert_eq!((find(cut)["redemptions"].as_i64(), find(cut)["points"].as_str()), (Some(2), Some("20.00")));
    assert_eq!((find(brows)["merchant"].as_str(), find(brows)["points"].as_str()), (Some("阿芳理发"), Some("2.50")));
    assert_eq!((find(rice)["refunds"].as_i64(), find(rice)["refunded_points"].as_str()), (Some(1), Some("20.00")));
    let merchants = report["merchants"].as_array().unwrap();
    let shop = merchants.iter().find(|m| m["merchant_id"] == haircut).unwrap();
    assert_eq!(
        (shop["redemptions"].as_i64(), shop["quantity"].as_i64(), shop["points"].as_str()),
        (Some(3), Some(3), Some("22.50"))
    );

    // Redeemed counts captures less refunds; outstanding is issued less redeemed less expired.
    assert_eq!(report["period"]["redeemed"], "22.50", "{report}");
    assert_eq!(report["period"]["expired"], "5.00", "read from community:{{c}}:points:expired");
    let issued: f64 = report["at_end"]["issued"].as_str().unwrap().parse().unwrap();
    assert!((issued - issued_before - 100.0).abs() < 1e-9, "{report}");
    let figure = |key: &str| -> f64 { report["at_end"][key].as_str().unwrap().parse().unwrap() };
    let outstanding = figure("issued") - figure("redeemed") - figure("expired");
    assert!((figure("outstanding") - outstanding).abs() < 1e-9, "{report}");
    // The liability moved exactly as the only resident who earned, spent and lost points here.
    let resident_moved = held_by_resident().await - resident_before;
    assert!((resident_moved - 72.5).abs() < 1e-9, "100 awarded − 22.50 redeemed − 5 expired: {resident_moved}");
    assert!((figure("outstanding") - outstanding_before - resident_moved).abs() < 1e-9, "{report}");

    let csv = app.get(&path(".csv"), Some(&w.committee)).await;
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("\u{FEFF}类别,商家编号,商家,优惠编号,优惠"), "{text}");
    assert!(text.contains(&format!("offer,{haircut},阿芳理发,{cut},洗剪吹,2,2,20.00,0,0.00\r\n")), "{text}");
    assert!(text.contains(&format!("merchant,{grocer},便民超市,,,1,1,20.00,1,20.00\r\n")), "{text}");
    assert!(text.contains("period_redeemed,,,,"), "{text}");
    let value: Value = json!(report["at_end"]["outstanding"]);
    assert!(text.contains(&format!(",{}", value.as_str().unwrap())), "{text}");
}
