//! Sign-ups: only approved volunteers in the audience, before the deadline; beyond capacity a
//! waitlist in arrival order; a cancellation promotes the first waiting volunteer and tells them.
//! Raced: 200 volunteers for 50 places through two instances.

use std::collections::HashSet;

use chrono::Duration;
use ehome_tests::{error_code, spawn_app_sharing};
use serde_json::{Value, json};

use super::demo;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_sign_ups_on_two_instances_fill_fifty_places_in_arrival_order() {
    let (app, demo, s) = demo(&["demo-committee"]).await;
    let other = spawn_app_sharing(&app).await;
    let committee = &s["demo-committee"].access;
    let id = app.published_activity(committee, demo.community, json!({"capacity": 50})).await;
    let volunteers = app.bulk_volunteers(demo.community, "racer", 200).await;

    let tasks: Vec<_> = volunteers
        .iter()
        .enumerate()
        .map(|(i, volunteer)| {
            let instance = if i % 2 == 0 { &app } else { &other };
            let token = volunteer.access.clone();
            async move {
                // Every racer tries twice: a repeat is refused, never a second place.
                let first = instance.sign_up(&token, id).await;
                let second = instance.sign_up(&token, id).await;
                (first.status().as_u16(), first.json::<Value>().await.unwrap(), second.status().as_u16())
            }
        })
        .collect();
    let answers = futures::future::join_all(tasks).await;
    assert!(answers.iter().all(|(first, _, second)| *first == 201 && *second == 409), "one place per person");
    let confirmed_answers = answers.iter().filter(|(_, body, _)| body["status"] == "confirmed").count();
    assert_eq!(confirmed_answers, 50);

    let roster = app.get_json(&format!("/activities/{id}/signups"), Some(committee)).await;
    let confirmed = roster["confirmed"].as_array().unwrap();
    let waiting = roster["waiting"].as_array().unwrap();
    assert_eq!((confirmed.len(), waiting.len()), (50, 150));
    let positions: Vec<i64> = waiting.iter().map(|w| w["position"].as_i64().unwrap()).collect();
    assert_eq!(positions, (1..=150).collect::<Vec<_>>());
    let arrivals = |rows: &[Value]| rows.iter().map(|r| r["arrival"].as_i64().unwrap()).collect::<Vec<_>>();
    let waiting_arrivals = arrivals(waiting);
    assert!(waiting_arrivals.windows(2).all(|w| w[0] < w[1]), "positions follow arrival");
    let last_confirmed = arrivals(confirmed).into_iter().max().unwrap();
    assert!(waiting_arrivals[0] > last_confirmed, "nobody waiting arrived before someone confirmed");
    let people: HashSet<i64> = confirmed.iter().chain(waiting).map(|r| r["user_id"].as_i64().unwrap()).collect();
    assert_eq!(people.len(), 200, "no person twice");
    // Each racer was told the position the roster shows: everyone ahead had committed before them.
    for (_, body, _) in answers.iter().filter(|(_, body, _)| body["status"] == "waiting") {
        let row = waiting.iter().find(|w| w["user_id"] == body["user_id"]).unwrap();
        assert_eq!(body["position"], row["position"]);
    }
    let shown = app.get_json(&format!("/activities/{id}"), Some(committee)).await;
    assert_eq!(shown["confirmed_count"], 50);
}

#[tokio::test]
async fn a_cancellation_promotes_the_first_waiting_volunteer_and_tells_them() {
    let (app, demo, s) = demo(&["demo-committee"]).await;
    let committee = &s["demo-committee"].access;
    let id = app.published_activity(committee, demo.community, json!({"capacity": 2})).await;
    let people = app.bulk_volunteers(demo.community, "queue", 4).await;
    let mut statuses = Vec::new();
    for person in &people {
        let body: Value = app.sign_up(&person.access, id).await.json().await.unwrap();
        statuses.push((body["status"].as_str().unwrap().to_owned(), body["position"].clone()));
    }
    assert_eq!(
        statuses,
        vec![
            ("confirmed".to_owned(), Value::Null),
            ("confirmed".to_owned(), Value::Null),
            ("waiting".to_owned(), json!(1)),
            ("waiting".to_owned(), json!(2)),
        ]
    );
    let mine = format!("/activities/{id}/signups/me");
    let cancelled = app.request(reqwest::Method::DELETE, &mine, Some(&people[0].access)).send().await.unwrap();
    assert_eq!(cancelled.status(), 200);
    let cancelled: Value = cancelled.json().await.unwrap();
    assert_eq!(cancelled["promoted"]["user_id"], json!(people[2].user_id));
    let seen = app.get_json(&format!("/activities/{id}"), Some(&people[2].access)).await;
    assert_eq!(seen["my_signup"]["status"], "confirmed");
    let seen = app.get_json(&format!("/activities/{id}"), Some(&people[3].access)).await;
    assert_eq!(seen["my_signup"]["position"], 1, "the next in line moves up");
    let inbox = app.get_json("/me/notifications", Some(&people[2].access)).await;
    assert!(inbox["items"][0]["body"].as_str().unwrap().contains("候补转为报名成功"), "{inbox}");

    // A waiting volunteer's cancellation frees no place; a confirmed one's with nobody waiting does.
    let gone = app.request(reqwest::Method::DELETE, &mine, Some(&people[3].access)).send().await.unwrap();
    assert_eq!(gone.json::<Value>().await.unwrap()["promoted"], Value::Null);
    assert_eq!(app.get_json(&format!("/activities/{id}"), Some(committee)).await["confirmed_count"], 2);
    app.request(reqwest::Method::DELETE, &mine, Some(&people[1].access)).send().await.unwrap();
    assert_eq!(app.get_json(&format!("/activities/{id}"), Some(committee)).await["confirmed_count"], 1);
    let again = app.request(reqwest::Method::DELETE, &mine, Some(&people[1].access)).send().await.unwrap();
    assert_eq!((again.status().as_u16(), error_code(again).await.as_str()), (409, "NOT_SIGNED_UP"));
    let back: Value = app.sign_up(&people[0].access, id).await.json().await.unwrap();
    assert_eq!(back["status"], "confirmed", "signing up again after cancelling takes a free place");
}

#[tokio::test]
async fn only_approved_volunteers_in_the_audience_sign_up_before_the_deadline() {
    let (app, demo, s) = demo(&["demo-committee", "demo-resident-2", "demo-resident-3"]).await;
    let community = demo.community;
    let committee = &s["demo-committee"].access;
    // demo-resident-2 lives in 1号楼, demo-resident-3 in 2号楼.
    let (at_1, at_2) = (&s["demo-resident-2"], &s["demo-resident-3"]);
    let building_1 = demo.buildings[0];
    let id =
        app.published_activity(committee, community, json!({"audience": "building", "building_id": building_1})).await;
    let not_yet = app.sign_up(&at_1.access, id).await;
    assert_eq!((not_yet.status().as_u16(), error_code(not_yet).await.as_str()), (403, "NOT_A_VOLUNTEER"));
    app.approved_volunteer(community, at_1, committee).await;
    app.approved_volunteer(community, at_2, committee).await;
    let elsewhere = app.sign_up(&at_2.access, id).await;
    assert_eq!((elsewhere.status().as_u16(), error_code(elsewhere).await.as_str()), (403, "NOT_IN_AUDIENCE"));
    assert_eq!(app.sign_up(&at_1.access, id).await.status(), 201);
    let roster = app.get(&format!("/activities/{id}/signups"), Some(&at_1.access)).await;
    assert_eq!(roster.status(), 403, "the roster is the organisers'");

    let deadline = app.now() + Duration::minutes(30);
    let closing = app.published_activity(committee, community, json!({"signup_deadline": deadline})).await;
    app.clock.advance(Duration::minutes(31));
    let token = app.dev_login("demo-resident-2").await.access;
    let late = app.sign_up(&token, closing).await;
    assert_eq!((late.status().as_u16(), error_code(late).await.as_str()), (409, "SIGNUP_CLOSED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancellations_racing_sign_ups_keep_the_count_and_the_queue() {
    let (app, demo, s) = demo(&["demo-committee"]).await;
    let other = spawn_app_sharing(&app).await;
    let committee = &s["demo-committee"].access;
    let id = app.published_activity(committee, demo.community, json!({"capacity": 10})).await;
    let people = app.bulk_volunteers(demo.community, "churn", 40).await;
    for person in &people[..20] {
        assert_eq!(app.sign_up(&person.access, id).await.status(), 201);
    }
    // Five confirmed volunteers cancel while twenty newcomers sign up, across both instances.
    let mine = format!("/activities/{id}/signups/me");
    let cancels =
        people[..5].iter().enumerate().map(|(i, person)| {
            let instance = if i % 2 == 0 { &app } else { &other };
            let mine = mine.clone();
            async move {
                instance.request(reqwest::Method::DELETE, &mine, Some(&person.access)).send().await.unwrap().status()
            }
        });
    let joins = people[20..].iter().enumerate().map(|(i, person)| {
        let instance = if i % 2 == 0 { &other } else { &app };
        async move { instance.sign_up(&person.access, id).await.status() }
    });
    let (cancelled, joined) = tokio::join!(futures::future::join_all(cancels), futures::future::join_all(joins));
    assert!(cancelled.iter().all(|s| *s == 200) && joined.iter().all(|s| *s == 201));

    let roster = app.get_json(&format!("/activities/{id}/signups"), Some(committee)).await;
    let confirmed = roster["confirmed"].as_array().unwrap();
    let waiting = roster["waiting"].as_array().unwrap();
    assert_eq!((confirmed.len(), waiting.len()), (10, 25), "a freed place is never left empty while someone waits");
    let user = |row: &Value| row["user_id"].as_i64().unwrap();
    let promoted: Vec<i64> = people[10..15].iter().map(|p| p.user_id).collect();
    assert!(promoted.iter().all(|id| confirmed.iter().any(|row| user(row) == *id)), "the first five waiting moved up");
    let arrivals: Vec<i64> = waiting.iter().map(|r| r["arrival"].as_i64().unwrap()).collect();
    assert!(arrivals.windows(2).all(|w| w[0] < w[1]), "the queue stays in arrival order");
    assert_eq!(app.get_json(&format!("/activities/{id}"), Some(committee)).await["confirmed_count"], 10);
}
