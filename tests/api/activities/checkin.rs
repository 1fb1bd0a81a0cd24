//! Check-in on site: the organiser's rotating code (current and previous 30-second step pass, older
//! and wrong fail), the window from 30 minutes before the start, the radius flag, the rate limit on
//! attempts, idempotent repeats, the printable mini-program code, and the job's check-out at the end.

use chrono::Duration;
use ehome_api::scenes::activities::jobs::run_once;
use ehome_tests::{Endpoint, error_code, spawn_app_sharing};
use futures::StreamExt;
use serde_json::{Value, json};

use super::demo;

/// 天一广场, Ningbo, and a point about 550 m north of it.
const HERE: (f64, f64) = (29.8683, 121.5440);
const FAR: (f64, f64) = (29.8733, 121.5440);

async fn attend(app: &ehome_tests::TestApp, token: &str, id: i64, way: &str, body: Value) -> reqwest::Response {
    app.post(&format!("/activities/{id}/{way}"), Some(token), &body).await
}

#[tokio::test]
async fn rotating_codes_pass_for_the_current_and_previous_step_only() {
    let (app, demo, s) = demo(&["demo-committee", "demo-resident-1"]).await;
    app.freeze_clock_on_a_step();
    let committee = s["demo-committee"].access.clone();
    let extra = json!({"latitude": HERE.0, "longitude": HERE.1, "radius_m": 200});
    let id = app.published_activity(&committee, demo.community, extra).await;
    let people = app.bulk_volunteers(demo.community, "attendee", 4).await;
    for person in &people {
        assert_eq!(app.sign_up(&person.access, id).await.status(), 201);
    }
    let resident = &s["demo-resident-1"].access;
    assert_eq!(app.get(&format!("/activities/{id}/checkin-code"), Some(resident)).await.status(), 403);
    let code = app.checkin_code(&committee, id).await;
    assert_eq!(code.len(), 6);
    let early = attend(&app, &people[0].access, id, "checkin", json!({"code": code})).await;
    assert_eq!((early.status().as_u16(), error_code(early).await.as_str()), (409, "OUTSIDE_CHECKIN_WINDOW"));

    // 25 minutes before the start: the window is open.
    app.clock.advance(Duration::minutes(95));
    let tokens: Vec<String> = {
        let mut fresh = Vec::new();
        for i in 0..4 {
            fresh.push(app.dev_login(&format!("attendee-{i}")).await.access);
        }
        fresh
    };
    let committee = app.dev_login("demo-committee").await.access;
    let current = app.checkin_code(&committee, id).await;
    let here = json!({"code": current, "latitude": HERE.0, "longitude": HERE.1});
    let response = attend(&app, &tokens[0], id, "checkin", here.clone()).await;
    assert_eq!(response.status(), 200);
    let first: Value = response.json().await.unwrap();
    assert_eq!(first["checkin_flags"], json!([]));
    let again: Value = attend(&app, &tokens[0], id, "checkin", here).await.json().await.unwrap();
    assert_eq!(again["checked_in_at"], first["checked_in_at"], "checking in twice changes nothing");

    app.clock.advance(Duration::seconds(30));
    let previous = json!({"code": current, "latitude": FAR.0, "longitude": FAR.1});
    let response = attend(&app, &tokens[1], id, "checkin", previous).await;
    assert_eq!(response.status(), 200, "the previous step's code still passes");
    assert_eq!(response.json::<Value>().await.unwrap()["checkin_flags"], json!(["outside_radius"]));

    app.clock.advance(Duration::seconds(30));
    let older = attend(&app, &tokens[2], id, "checkin", json!({"code": current})).await;
    assert_eq!((older.status().as_u16(), error_code(older).await.as_str()), (422, "CHECKIN_CODE_INVALID"));
    let now_code = app.checkin_code(&committee, id).await;
    let wrong = if now_code == "000000" { "000001" } else { "000000" };
    let response = attend(&app, &tokens[2], id, "checkin", json!({"code": wrong})).await;
    assert_eq!(error_code(response).await, "CHECKIN_CODE_INVALID");
    let response = attend(&app, &tokens[2], id, "checkin", json!({"code": now_code})).await;
    assert_eq!(response.json::<Value>().await.unwrap()["checkin_flags"], json!(["no_location"]));

    let not_in = attend(&app, &tokens[3], id, "checkout", json!({"code": now_code})).await;
    assert_eq!((not_in.status().as_u16(), error_code(not_in).await.as_str()), (409, "NOT_CHECKED_IN"));
    let out =
        attend(&app, &tokens[0], id, "checkout", json!({"code": now_code, "latitude": HERE.0, "longitude": HERE.1}));
    let out: Value = out.await.json().await.unwrap();
    assert!(out["checked_out_at"].is_string(), "{out}");
    let outsider = app.dev_login("demo-resident-1").await.access;
    let response = attend(&app, &outsider, id, "checkin", json!({"code": now_code})).await;
    assert_eq!((response.status().as_u16(), error_code(response).await.as_str()), (409, "NOT_SIGNED_UP"));
}

#[tokio::test]
async fn code_attempts_are_rate_limited_per_volunteer() {
    let (app, demo, s) = demo(&["demo-committee"]).await;
    let committee = &s["demo-committee"].access;
    let extra = json!({"starts_at": app.now() + Duration::minutes(10), "ends_at": app.now() + Duration::hours(1)});
    let id = app.published_activity(committee, demo.community, extra).await;
    let people = app.bulk_volunteers(demo.community, "guesser", 2).await;
    for person in &people {
        app.sign_up(&person.access, id).await;
    }
    let code = app.checkin_code(committee, id).await;
    let wrong = if code == "999999" { "999998" } else { "999999" };
    for _ in 0..10 {
        let response = attend(&app, &people[0].access, id, "checkin", json!({"code": wrong})).await;
        assert_eq!(response.status(), 422);
    }
    let limited = attend(&app, &people[0].access, id, "checkin", json!({"code": code})).await;
    assert_eq!(limited.status(), 429, "even the right code waits once the attempts are spent");
    let other = attend(&app, &people[1].access, id, "checkin", json!({"code": code})).await;
    assert_eq!(other.status(), 200, "the limit is per volunteer");
}

#[tokio::test]
async fn the_job_checks_out_at_the_scheduled_end_once_and_flags_it() {
    let (app, demo, s) = demo(&["demo-committee"]).await;
    let second = spawn_app_sharing(&app).await;
    let committee = &s["demo-committee"].access;
    let starts_at = app.now() + Duration::minutes(10);
    let ends_at = starts_at + Duration::hours(1);
    let id =
        app.published_activity(committee, demo.community, json!({"starts_at": starts_at, "ends_at": ends_at})).await;
    let people = app.bulk_volunteers(demo.community, "stayer", 3).await;
    for person in &people {
        app.sign_up(&person.access, id).await;
    }
    let code = app.checkin_code(committee, id).await;
    for person in &people[..2] {
        assert_eq!(attend(&app, &person.access, id, "checkin", json!({"code": code})).await.status(), 200);
    }
    assert_eq!(attend(&app, &people[0].access, id, "checkout", json!({"code": code})).await.status(), 200);
    assert_eq!(run_once(&app.state).await.unwrap().checked_out, 0, "not before the end");

    app.clock.advance(Duration::minutes(71));
    let (a, b) = tokio::join!(run_once(&app.state), run_once(&second.state));
    assert_eq!(a.unwrap().checked_out + b.unwrap().checked_out, 1, "the one still checked in, once");
    let committee = app.dev_login("demo-committee").await.access;
    let roster = app.get_json(&format!("/activities/{id}/signups"), Some(&committee)).await;
    let row =
        |user: i64| roster["confirmed"].as_array().unwrap().iter().find(|r| r["user_id"] == user).unwrap().clone();
    let stayed = row(people[1].user_id);
    assert_eq!(stayed["checkout_flags"], json!(["auto_checkout"]));
    let expected_end = chrono::DateTime::parse_from_rfc3339(stayed["checked_out_at"].as_str().unwrap()).unwrap();
    assert_eq!(expected_end.timestamp(), ends_at.timestamp());
    assert_eq!(row(people[0].user_id)["checkout_flags"], json!([]), "a volunteer who checked out keeps their time");
    assert_eq!(row(people[2].user_id)["checked_out_at"], Value::Null, "never checked in: nothing to check out");
    let late = attend(&app, &app.dev_login("stayer-2").await.access, id, "checkin", json!({"code": "123456"})).await;
    assert_eq!(error_code(late).await, "OUTSIDE_CHECKIN_WINDOW");
}

#[tokio::test]
async fn the_printable_code_comes_from_getwxacodeunlimit_with_the_activity_in_its_scene() {
    let (app, demo, s) = demo(&["demo-committee", "demo-resident-1"]).await;
    let committee = &s["demo-committee"].access;
    let id = app.published_activity(committee, demo.community, json!({})).await;
    let refused = app.get(&format!("/activities/{id}/wxacode"), Some(&s["demo-resident-1"].access)).await;
    assert_eq!(refused.status(), 403);
    let response = app.get(&format!("/activities/{id}/wxacode"), Some(committee)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
    let sent = app.wechat.requests(Endpoint::QrCode);
    assert_eq!(sent.last().unwrap().body.as_ref().unwrap()["scene"], format!("a={id}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_check_ins_on_two_instances_answers_all_and_records_each_once() {
    let (app, demo, s) = demo(&["demo-committee"]).await;
    let other = spawn_app_sharing(&app).await;
    let committee = &s["demo-committee"].access;
    let extra = json!({"capacity": 120, "starts_at": app.now() + Duration::minutes(10),
        "ends_at": app.now() + Duration::hours(2)});
    let id = app.published_activity(committee, demo.community, extra).await;
    let people = app.bulk_volunteers(demo.community, "burst", 120).await;
    for person in &people {
        assert_eq!(app.sign_up(&person.access, id).await.status(), 201);
    }
    let code = app.checkin_code(committee, id).await;
    // Every volunteer's phone sends its check-in twice at once, one to each instance; 64 requests in
    // flight at a time, so that a loaded test machine does not turn the burst into client timeouts.
    let tries = people.iter().flat_map(|person| [(&app, person), (&other, person)]).map(|(instance, person)| {
        let body = json!({"code": code});
        async move {
            // A phone retries when the connection drops before an answer (a loaded test machine can
            // close an idle pooled connection just as it is reused); checking in again is harmless.
            let path = format!("/activities/{id}/checkin");
            let mut attempt = 0;
            let response = loop {
                attempt += 1;
                match instance.request(reqwest::Method::POST, &path, Some(&person.access)).json(&body).send().await {
                    Ok(response) => break response,
                    Err(err) if attempt < 3 => eprintln!("check-in retried after {err}"),
                    Err(err) => panic!("check-in failed three times: {err}"),
                }
            };
            let status = response.status().as_u16();
            (person.user_id, status, response.json::<Value>().await.unwrap()["checked_in_at"].clone())
        }
    });
    let answers: Vec<_> = futures::stream::iter(tries).buffer_unordered(64).collect().await;
    assert!(answers.iter().all(|(_, status, _)| *status == 200), "every check-in answered");
    for person in &people {
        let times: Vec<&Value> =
            answers.iter().filter(|(user, _, _)| *user == person.user_id).map(|(_, _, at)| at).collect();
        assert_eq!(times[0], times[1], "one check-in time per volunteer, whichever instance answered");
    }
    let roster = app.get_json(&format!("/activities/{id}/signups"), Some(committee)).await;
    let checked_in = roster["confirmed"].as_array().unwrap().iter().filter(|r| r["checked_in_at"].is_string()).count();
    assert_eq!(checked_in, 120);
}
