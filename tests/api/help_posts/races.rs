//! Races through two API instances on one database: twenty neighbours claiming one post, a
//! confirmation racing a cancel, the dispute job on both instances at once and the committee's
//! three decisions; each ends with one outcome per post and books that verify.

use chrono::Duration;
use ehome_api::scenes::help_posts::jobs;
use ehome_tests::{error_code, spawn_app_sharing};
use futures::future::join_all;
use serde_json::json;

use super::{ok, post_need, step, world};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_claims_through_two_instances_have_one_winner() {
    let w = world().await;
    let other = spawn_app_sharing(&w.app).await;
    let id = post_need(&w.app, &w.poster, w.demo.community, "5").await;
    let crowd = w.app.many_residents(w.demo.community, "claimer", 20, "1").await;
    let claims = crowd.iter().enumerate().map(|(i, (_, token))| {
        let app = if i % 2 == 0 { &w.app } else { &other };
        async move {
            let response = app.post(&format!("/help-posts/{id}/claim"), Some(token), &json!({})).await;
            let status = response.status().as_u16();
            let code = if status == 200 { String::new() } else { error_code(response).await };
            (status, code)
        }
    });
    let outcomes = join_all(claims).await;
    let winners = outcomes.iter().filter(|(status, _)| *status == 200).count();
    let losers = outcomes.iter().filter(|(status, code)| *status == 409 && code == "ALREADY_CLAIMED").count();
    assert_eq!((winners, losers), (1, 19), "{outcomes:?}");
    let post = w.app.get_json(&format!("/help-posts/{id}"), Some(&w.poster)).await;
    assert!(crowd.iter().any(|(user, _)| post["helper_id"].as_i64() == Some(*user)), "{post}");
    w.app.assert_books_verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_confirmation_racing_a_cancel_has_one_outcome_and_consistent_books() {
    let w = world().await;
    let other = spawn_app_sharing(&w.app).await;
    let (mut paid, mut released) = (0, 0);
    for round in 0..6 {
        let id = post_need(&w.app, &w.poster, w.demo.community, "5").await;
        ok(&w.app, &w.helper, id, "claim", json!({})).await;
        // The helper marks it done and the poster confirms on one instance while the poster cancels
        // on the other: either the cancel comes first (nothing done, nothing paid) or the help does.
        let finish = async {
            let done = step(&w.app, &w.helper, id, "complete", json!({})).await.status().as_u16();
            let confirmed = step(&w.app, &w.poster, id, "confirm", json!({})).await.status().as_u16();
            (done, confirmed)
        };
        let cancel = async { step(&other, &w.poster, id, "cancel", json!({})).await.status().as_u16() };
        let ((done, confirmed), cancelled) = tokio::join!(finish, cancel);
        match (done, confirmed, cancelled) {
            (200, 200, 409) => paid += 5,
            (409, 409, 200) => released += 5,
            outcome => panic!("round {round}: both or neither outcome: {outcome:?}"),
        }
    }
    let expected_poster = format!("{}.00", 100 - paid);
    assert_eq!(w.app.points_of(w.poster_id).await, (expected_poster, "0.00".to_owned()), "released {released}");
    assert_eq!(w.app.points_of(w.helper_id).await, (format!("{paid}.00"), "0.00".to_owned()));
    w.app.assert_books_verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dispute_job_runs_once_on_two_instances_and_the_committee_pays_releases_or_splits() {
    let w = world().await;
    let other = spawn_app_sharing(&w.app).await;
    let mut posts = vec![];
    for _ in 0..3 {
        let id = post_need(&w.app, &w.poster, w.demo.community, "10").await;
        ok(&w.app, &w.helper, id, "claim", json!({})).await;
        ok(&w.app, &w.helper, id, "complete", json!({})).await;
        posts.push(id);
    }
    // An open post past its date, and one nobody has waited on long enough.
    let unclaimed = post_need(&w.app, &w.poster, w.demo.community, "3").await;
    w.app.clock.advance(Duration::days(8));
    let (a, b) = tokio::join!(jobs::run_once(&w.app.state), jobs::run_once(&other.state));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!((a.disputed + b.disputed, a.expired + b.expired), (3, 1), "{a:?} {b:?}");
    let again = jobs::run_once(&other.state).await.unwrap();
    assert_eq!((again.disputed, again.expired), (0, 0), "exactly once");

    let [committee, poster, helper] = w.app.dev_logins(["demo-committee", "demo-resident-1", "demo-resident-2"]).await;
    let expired = w.app.get_json(&format!("/help-posts/{unclaimed}"), Some(&poster.access)).await;
    assert_eq!(expired["status"], "expired");
    let queue = w
        .app
        .get_json(&format!("/communities/{}/help-posts/disputes", w.demo.community), Some(&committee.access))
        .await;
    assert_eq!(queue["items"].as_array().unwrap().len(), 3, "{queue}");
    let by_party = step(&w.app, &poster.access, posts[0], "decision", json!({"outcome": "release"})).await;
    assert_eq!(by_party.status(), 403, "the poster does not decide their own dispute");

    let decide = |id: i64, body: serde_json::Value| {
        let token = committee.access.clone();
        let app = &w.app;
        async move { ok(app, &token, id, "decision", body).await }
    };
    let split = decide(posts[0], json!({"outcome": "split", "amount": "4"})).await;
    assert_eq!((split["status"].as_str(), split["paid"].as_str()), (Some("resolved"), Some("4.00")));
    decide(posts[1], json!({"outcome": "pay"})).await;
    decide(posts[2], json!({"outcome": "release"})).await;
    let twice = step(&other, &committee.access, posts[2], "decision", json!({"outcome": "pay"})).await;
    assert_eq!(twice.status(), 409, "decided once");
    // Helper: 4 + 10; poster: 100 - 4 - 10 (the split's rest, the release and the expiry came back).
    assert_eq!(w.app.points_of(w.helper_id).await, ("14.00".to_owned(), "0.00".to_owned()));
    assert_eq!(w.app.points_of(w.poster_id).await, ("86.00".to_owned(), "0.00".to_owned()));
    let lines = w.app.get_json("/me/points/history?limit=100", Some(&helper.access)).await;
    assert!(lines["items"].as_array().unwrap().iter().all(|l| l["title"] == "邻里互助"), "{lines}");
    w.app.assert_books_verify().await;
}
