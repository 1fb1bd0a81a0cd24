//! What the one shape of every scene promises, seen from outside: the state machine decides every
//! transition (a reassignment records the level the new assignee handles it at, and escalation climbs
//! from there), and the domain reads the injected clock (a join request's times move with it).

use chrono::{DateTime, Duration, Utc};
use ehome_api::scenes::requests::jobs::run_once;
use ehome_tests::spawn_app;
use serde_json::{Value, json};

#[tokio::test]
async fn a_reassignment_records_the_new_assignees_level_and_escalation_climbs_from_it() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let resident = app.dev_login("demo-resident-1").await;
    let committee = app.dev_login("demo-committee").await;
    let grid = app.dev_login("demo-grid").await;
    let repair = demo.category("repair");
    let request = app.submit(&resident.access, repair, "单元门禁坏了").await;
    let id = request["id"].as_i64().unwrap();
    assert_eq!(request["assignee_level"], "building_leader");

    let reassigned = app
        .post(
            &format!("/requests/{id}/transitions"),
            Some(&committee.access),
            &json!({"action": "reassign", "assignee_id": grid.user_id}),
        )
        .await;
    assert_eq!(reassigned.status(), 200);
    let detail: Value = reassigned.json().await.unwrap();
    assert_eq!(detail["request"]["assignee_id"], grid.user_id);
    assert_eq!(detail["request"]["assignee_level"], "grid_worker", "the level follows the assignee");

    // A user without a handler role covering the request cannot be given it.
    let neighbour = app.dev_login("demo-resident-2").await;
    let refused = app
        .post(
            &format!("/requests/{id}/transitions"),
            Some(&committee.access),
            &json!({"action": "reassign", "assignee_id": neighbour.user_id}),
        )
        .await;
    assert_eq!(refused.status(), 400);

    // Overdue, the job escalates one level above the grid worker: the committee.
    app.clock.advance(Duration::hours(200));
    let outcome = run_once(&app.state).await.unwrap();
    assert_eq!(outcome.escalated, 1);
    let committee = app.dev_login("demo-committee").await;
    let detail: Value = app.get(&format!("/requests/{id}"), Some(&committee.access)).await.json().await.unwrap();
    assert_eq!(detail["request"]["assignee_level"], "committee");
    assert_eq!(detail["request"]["status"], "escalated");
    let last = detail["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["actor_role"], "system");
    assert_eq!(last["kind"], "escalated");
    assert!(last["note"].as_str().unwrap().contains("居委会"), "{last}");

    // A system action cannot come from a request body.
    let system = app.act(&committee.access, id, "escalate_overdue", Some("手动")).await;
    assert_eq!(system.status(), 400);
}

#[tokio::test]
async fn join_requests_read_the_injected_clock() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let at = DateTime::parse_from_rfc3339("2030-02-01T09:00:00Z").unwrap().with_timezone(&Utc);
    app.clock.set(at);
    let newcomer = app.dev_login("demo-newcomer").await;
    let claim: Value = app
        .post(&format!("/households/{}/join-requests", demo.households[0][3]), Some(&newcomer.access), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let created: DateTime<Utc> = claim["created_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(created, at);

    app.clock.advance(Duration::days(3));
    // Access tokens follow the injected clock too: the committee signs in again three days later.
    let committee = app.dev_login("demo-committee").await;
    let decided: Value = app
        .post(&format!("/join-requests/{}/approve", claim["id"]), Some(&committee.access), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let decided_at: DateTime<Utc> = decided["decided_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(decided_at, at + Duration::days(3));
}

#[tokio::test]
async fn racing_first_uses_answer_once_and_never_500() {
    let app = spawn_app().await;
    app.seed_demo().await;
    // Ten first sign-ins of one new openid at once: one user, ten sessions.
    let body = json!({"openid": "brand-new-neighbour"});
    let logins =
        (0..10).map(|_| async { app.post("/auth/dev-login", None, &body).await.json::<Value>().await.unwrap() });
    let answers = futures::future::join_all(logins).await;
    let ids: std::collections::BTreeSet<i64> =
        answers.iter().map(|a| a["user"]["id"].as_i64().unwrap_or_else(|| panic!("signed in: {a}"))).collect();
    assert_eq!(ids.len(), 1, "one user for one openid");

    // A new community's default categories, first listed by ten callers at once.
    let admin = app.dev_login("demo-admin").await;
    let other = app.create_other_community(&admin.access).await;
    let path = format!("/communities/{}/categories", other.community);
    let lists = (0..10).map(|_| app.get(&path, Some(&admin.access)));
    for response in futures::future::join_all(lists).await {
        assert_eq!(response.status(), 200);
    }
    let listed: Value = app.get(&path, Some(&admin.access)).await.json().await.unwrap();
    let keys: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap()).collect();
    let distinct: std::collections::BTreeSet<&str> = keys.iter().copied().collect();
    assert_eq!(keys.len(), distinct.len(), "each default category once: {keys:?}");
}
