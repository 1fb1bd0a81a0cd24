//! The same approval raced from two API instances on one database: every sign-up gets one original
//! record and one award, whoever wins, and the books verify.

use ehome_tests::{spawn_app, spawn_app_sharing};
use futures::future::join_all;

use super::setup::{approve, assert_books_verify, at_time, ended_activity, points_of, shown, sign_up};

const VOLUNTEERS: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approvals_racing_on_two_instances_award_once() {
    let app = spawn_app().await;
    let other = spawn_app_sharing(&app).await;
    let demo = app.seed_demo().await;
    let [committee, social] = at_time(&app, "2026-11-29T12:00:00+08:00", ["demo-committee", "demo-social"]).await;
    let activity =
        ended_activity(&app, &demo, "大扫除", "2026-11-28T09:00:00+08:00", "2026-11-28T11:00:00+08:00", 500).await;
    let mut volunteers = Vec::new();
    for i in 0..VOLUNTEERS {
        let session = app.dev_login(&format!("race-volunteer-{i}")).await;
        sign_up(&app, activity, session.user_id, Some("2026-11-28T09:00:00+08:00"), Some("2026-11-28T11:00:00+08:00"))
            .await;
        volunteers.push(session);
    }
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let instance = if i % 2 == 0 { &app } else { &other };
            let token = if i % 3 == 0 { social.access.clone() } else { committee.access.clone() };
            async move { approve(instance, &token, activity, None).await }
        })
        .collect();
    let answers = join_all(racers).await;
    let mut decided = 0;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        decided += body["records"].as_array().unwrap().len();
    }
    assert_eq!(decided, VOLUNTEERS, "each sign-up decided by exactly one racer");
    for volunteer in &volunteers {
        assert_eq!(points_of(&other, &volunteer.access).await, shown("10.00", "10.00", "2.00"));
        let history = app.get_json("/me/points/history", Some(&volunteer.access)).await;
        assert_eq!(history["items"].as_array().unwrap().len(), 1, "one award: {history}");
    }
    let review = app.get_json(&format!("/activities/{activity}/hours"), Some(&committee.access)).await;
    assert_eq!(review["activity"]["status"], "hours_approved");
    assert_books_verify(&app).await;
}
