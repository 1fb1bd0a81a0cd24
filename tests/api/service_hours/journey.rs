//! The whole way through the activities scene's routes: volunteers sign up, check in with the
//! rotating code, check out (or are checked out by the job at the end), the activity ends, and the
//! organiser's approval turns attendance into hours and points.

use chrono::Duration;
use ehome_api::scenes::activities::jobs::run_once;
use ehome_tests::spawn_app;
use serde_json::json;

use super::setup::{approve, assert_books_verify, points_of, shown};

#[tokio::test]
async fn attendance_checked_in_through_the_routes_becomes_hours_and_points() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    app.freeze_clock_on_a_step();
    let committee = app.dev_login("demo-committee").await.access;
    // Starts in 10 minutes, lasts 2 hours, 10.00 points an hour.
    let starts_at = app.now() + Duration::minutes(10);
    let extra = json!({"starts_at": starts_at, "ends_at": starts_at + Duration::hours(2), "points_per_hour": "10.00"});
    let id = app.published_activity(&committee, demo.community, extra).await;
    let people = app.bulk_volunteers(demo.community, "journey", 3).await;
    for person in &people {
        assert_eq!(app.sign_up(&person.access, id).await.status(), 201);
    }
    // Hours are reviewed once the activity has ended.
    let (status, early) = approve(&app, &committee, id, None).await;
    assert_eq!((status, early["error"]["code"].as_str()), (409, Some("HOURS_NOT_OPEN")));
    // Checking in before the start counts from the start.
    let code = app.checkin_code(&committee, id).await;
    for person in &people[..2] {
        let response =
            app.post(&format!("/activities/{id}/checkin"), Some(&person.access), &json!({"code": code})).await;
        assert_eq!(response.status(), 200);
    }
    // 55 minutes in, the second volunteer leaves: 45 minutes, under 60% of two hours.
    app.clock.advance(Duration::minutes(65));
    let committee = app.dev_login("demo-committee").await.access;
    let leaver = app.dev_login("journey-1").await.access;
    let code = app.checkin_code(&committee, id).await;
    let response = app.post(&format!("/activities/{id}/checkout"), Some(&leaver), &json!({"code": code})).await;
    assert_eq!(response.status(), 200);
    // Past the end: the job ends the activity and checks the first volunteer out at the scheduled end.
    app.clock.advance(Duration::minutes(70));
    let outcome = run_once(&app.state).await.unwrap();
    assert_eq!(outcome.checked_out, 1);
    let committee = app.dev_login("demo-committee").await.access;
    let review = app.get_json(&format!("/activities/{id}/hours"), Some(&committee)).await;
    assert_eq!(review["activity"]["status"], "ended", "{review}");
    let line = |user: i64| review["items"].as_array().unwrap().iter().find(|l| l["user_id"] == user).unwrap().clone();
    assert_eq!(line(people[0].user_id)["minutes"], 120);
    assert_eq!(line(people[0].user_id)["flags"], json!(["auto_checkout"]));
    assert_eq!(line(people[1].user_id)["minutes"], 45);
    assert_eq!(line(people[1].user_id)["flags"], json!(["short_attendance"]));
    assert_eq!(line(people[2].user_id)["minutes"], 0);

    let (status, approved) = approve(&app, &committee, id, None).await;
    assert_eq!((status, approved["hours_approved"].as_bool()), (200, Some(true)), "{approved}");
    let stayer = app.dev_login("journey-0").await.access;
    assert_eq!(points_of(&app, &stayer).await, shown("20.00", "20.00", "2.00"));
    let leaver = app.dev_login("journey-1").await.access;
    assert_eq!(points_of(&app, &leaver).await, shown("7.50", "7.50", "0.75"));
    let detail = app.get_json(&format!("/activities/{id}"), Some(&committee)).await;
    assert!(detail.to_string().contains("hours_approved"), "{detail}");
    assert_books_verify(&app).await;
}
