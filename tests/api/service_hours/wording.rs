//! The wallet's history in the resident's words for every kind of line: the activity for hours, 调整
//! for a correction, 兑换 for a redemption (held, then spent), 撤销 for a refund, 过期 for expiry. The
//! redemption, refund and expiry are posted through the points verbs, as their scenes will.

use chrono::NaiveDate;
use ehome_api::domain::{CommunityId, MerchantId, UserId};
use ehome_api::platform::clock::Clock;
use ehome_api::points::{self, Expiry, Points, RedemptionHold, ReversalReason};
use ehome_tests::spawn_app;
use sea_orm::TransactionTrait;

use super::setup::{approve, assert_books_verify, at_time, ended_activity, points_of, shown, sign_up};

fn pts(text: &str) -> Points {
    Points::parse(text).unwrap()
}

#[tokio::test]
async fn every_line_of_the_history_is_in_the_residents_words() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [committee, a] = at_time(&app, "2026-11-29T12:00:00+08:00", ["demo-committee", "words-a"]).await;
    let id =
        ended_activity(&app, &demo, "敬老院慰问", "2026-11-28T09:00:00+08:00", "2026-11-28T12:00:00+08:00", 1000).await;
    sign_up(&app, id, a.user_id, Some("2026-11-28T09:00:00+08:00"), Some("2026-11-28T12:00:00+08:00")).await;
    assert_eq!(approve(&app, &committee.access, id, None).await.0, 200);

    let (user, now) = (UserId(a.user_id), app.clock.now());
    let txn = app.db.begin().await.unwrap();
    let hold =
        RedemptionHold { user, merchant: MerchantId(1), amount: pts("8.00"), redemption_code: 1, timeout_seconds: 300 };
    let held = points::hold_for_redemption(&txn, &hold, now).await.unwrap();
    let spent = points::capture(&txn, held.id, None, now).await.unwrap();
    points::reverse(&txn, spent.id, ReversalReason::Refund { redemption: 1 }, now).await.unwrap();
    let date = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
    let expiry = Expiry { community: CommunityId(demo.community), user, amount: pts("2.00"), date };
    points::expire(&txn, &expiry, now).await.unwrap();
    txn.commit().await.unwrap();

    let history = app.get_json("/me/points/history", Some(&a.access)).await;
    let lines: Vec<(&str, &str)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["title"].as_str().unwrap(), l["amount"].as_str().unwrap()))
        .collect();
    assert_eq!(
        lines,
        [("过期", "-2.00"), ("撤销", "+8.00"), ("兑换", "-8.00"), ("兑换", "-8.00"), ("敬老院慰问", "+30.00")],
        "{history}"
    );
    // 30 earned, 8 spent and refunded, 2 expired.
    assert_eq!(points_of(&app, &a.access).await, shown("28.00", "30.00", "3.00"));
    assert_books_verify(&app).await;
}
