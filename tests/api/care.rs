//! 关爱 the care round through HTTP: who sees a care recipient, missed-visit escalation on the
//! injected clock, signed sensor alerts (each failure its own code, nothing created for it), folding
//! of duplicate alerts, and the SLA escalation of an unacknowledged smoke alert across two instances.

use chrono::{DateTime, Duration, Utc};
use ehome_api::scenes::care::jobs::run_once;
use ehome_api::scenes::care::signing::sign;
use ehome_entities::{care_alert, care_task, notification};
use ehome_tests::{Session, TestApp, error_code, spawn_app_sharing_with, spawn_app_with};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

mod board;

const SECRET: &str = "acme-secret-0123456789";
const VARS: &[(&str, &str)] = &[("CARE_VENDOR_SECRETS", "acme:acme-secret-0123456789")];

struct Care {
    app: TestApp,
    social: Session,
    visitor: Session,
    recipient: i64,
    community: i64,
}

/// The demo, with a recipient in 1号楼 101 registered by the social worker and visited by
/// demo-resident-1 (an approved volunteer), with a smoke sensor `smoke-1` and a water meter `water-1`.
async fn care() -> Care {
    let app = spawn_app_with(VARS).await;
    let demo = app.seed_demo().await;
    let [social, visitor] = app.dev_logins(["demo-social", "demo-resident-1"]).await;
    let body = json!({
        "household_id": demo.households[0][0], "name": "王奶奶", "circumstance": "living_alone",
        "risk_level": "medium", "consent_by": "guardian", "guardian_name": "王小明",
        "emergency_contacts": [{"name": "王小明", "relation": "儿子", "phone": "13800138000"}],
    });
    let created = app.post("/care/recipients", Some(&social.access), &body).await;
    assert_eq!(created.status(), 201);
    let recipient = created.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let path = format!("/care/recipients/{recipient}/visitors");
    assert_eq!(app.post(&path, Some(&social.access), &json!({"user_id": visitor.user_id})).await.status(), 200);
    for (key, kind) in [("smoke-1", "smoke_sensor"), ("water-1", "water_meter")] {
        let device = json!({"vendor": "acme", "device_id": key, "kind": kind});
        let path = format!("/care/recipients/{recipient}/devices");
        assert_eq!(app.post(&path, Some(&social.access), &device).await.status(), 201);
    }
    Care { app, social, visitor, recipient, community: demo.community }
}

fn alert_body(device: &str, event: &str, kind: &str, at: DateTime<Utc>) -> String {
    json!({"device_id": device, "event_id": event, "kind": kind, "observed_at": at}).to_string()
}

async fn send_alert(app: &TestApp, body: &str, timestamp: i64, secret: &str) -> reqwest::Response {
    let ts = timestamp.to_string();
    app.request(Method::POST, "/care/alerts", None)
        .header("content-type", "application/json")
        .header("x-care-vendor", "acme")
        .header("x-care-timestamp", &ts)
        .header("x-care-signature", sign(secret, &ts, body.as_bytes()))
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

async fn counts(app: &TestApp) -> (u64, u64) {
    (care_task::Entity::find().count(&app.db).await.unwrap(), care_alert::Entity::find().count(&app.db).await.unwrap())
}

async fn notices(app: &TestApp, user: i64, kind: &str) -> u64 {
    notification::Entity::find()
        .filter(notification::Column::UserId.eq(user))
        .filter(notification::Column::Kind.eq(kind))
        .count(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn only_the_care_team_sees_a_recipient() {
    let c = care().await;
    let app = &c.app;
    let path = format!("/care/recipients/{}", c.recipient);
    let [grid, committee, resident, clerk, other] =
        app.dev_logins(["demo-grid", "demo-committee", "demo-resident-2", "demo-shop", "demo-resident-3"]).await;
    // demo-resident-3 becomes a volunteer, but not this recipient's.
    app.approved_volunteer(c.community, &other, &committee.access).await;
    for (who, session) in [("social", &c.social), ("visitor", &c.visitor), ("grid", &grid), ("committee", &committee)] {
        let seen = app.get(&path, Some(&session.access)).await;
        assert_eq!(seen.status(), 200, "{who}");
        let body: Value = seen.json().await.unwrap();
        assert_eq!(body["emergency_contacts"][0]["phone"], "13800138000", "{who}");
    }
    for (who, session) in [("resident", &resident), ("clerk", &clerk), ("unassigned volunteer", &other)] {
        let hidden = app.get(&path, Some(&session.access)).await;
        assert_eq!(hidden.status(), 404, "{who}");
        assert_eq!(error_code(hidden).await, "NOT_FOUND", "{who}");
        let visits = app.get(&format!("{path}/visits"), Some(&session.access)).await;
        assert_eq!(visits.status(), 404, "{who}");
        let list = app.get_json(&format!("/care/recipients?community_id={}", c.community), Some(&session.access)).await;
        assert_eq!(list["items"], json!([]), "{who}");
    }
    // A resident cannot register anyone; a social worker cannot register themself.
    let body = json!({"household_id": 0, "name": "x", "circumstance": "other", "risk_level": "low", "consent_by": "recipient"});
    let demo = app.demo().await;
    let mine = json!({"household_id": demo.households[0][1], "user_id": c.social.user_id, "name": "自己",
        "circumstance": "other", "risk_level": "low", "consent_by": "recipient"});
    let refused = app.post("/care/recipients", Some(&c.social.access), &mine).await;
    assert_eq!(error_code(refused).await, "PARTY_TO_CASE");
    let mut by_resident = mine.clone();
    by_resident["user_id"] = json!(null);
    assert_eq!(app.post("/care/recipients", Some(&resident.access), &by_resident).await.status(), 403);
    assert_eq!(app.post("/care/recipients", Some(&c.social.access), &body).await.status(), 400);
}

#[tokio::test]
async fn a_missed_visit_climbs_from_visitor_to_grid_worker_to_committee_once() {
    let c = care().await;
    let app = &c.app;
    let second = spawn_app_sharing_with(app, VARS).await;
    let demo = app.demo().await;
    let (grid, committee) = (demo.user("demo-grid"), demo.user("demo-committee"));
    assert_eq!(run_once(&app.state).await.unwrap().missed_visits_escalated, 0, "not yet due");
    // Medium risk: weekly. A week and a grace day later, the visitor hears first — once, over two instances.
    app.clock.advance(Duration::days(8) + Duration::hours(1));
    let (a, b) = tokio::join!(run_once(&app.state), run_once(&second.state));
    assert_eq!(a.unwrap().missed_visits_escalated + b.unwrap().missed_visits_escalated, 1);
    assert_eq!(notices(app, c.visitor.user_id, "care_missed_visit").await, 1);
    assert_eq!(notices(app, grid, "care_missed_visit").await, 0);
    assert_eq!(run_once(&app.state).await.unwrap().missed_visits_escalated, 0, "the next step waits a grace period");
    app.clock.advance(Duration::hours(25));
    assert_eq!(run_once(&second.state).await.unwrap().missed_visits_escalated, 1);
    assert_eq!(notices(app, grid, "care_missed_visit").await, 1);
    app.clock.advance(Duration::hours(25));
    assert_eq!(run_once(&app.state).await.unwrap().missed_visits_escalated, 1);
    assert_eq!(notices(app, committee, "care_missed_visit").await, 1);
    app.clock.advance(Duration::hours(25));
    assert_eq!(run_once(&app.state).await.unwrap().missed_visits_escalated, 0, "the committee is the top");

    // A visit ends it and moves the schedule on.
    let visitor = app.dev_login("demo-resident-1").await;
    let visit = json!({"mode": "in_person", "wellbeing": "fine", "note": "精神很好"});
    let path = format!("/care/recipients/{}/visits", c.recipient);
    assert_eq!(app.post(&path, Some(&visitor.access), &visit).await.status(), 201);
    let seen = app.get_json(&format!("/care/recipients/{}", c.recipient), Some(&visitor.access)).await;
    assert_eq!(seen["missed_stage"], "none");
    assert!(seen["last_visit_at"].is_string());
}

#[tokio::test]
async fn a_visit_that_finds_a_need_opens_a_request_on_the_recipients_behalf() {
    let c = care().await;
    let app = &c.app;
    let path = format!("/care/recipients/{}/visits", c.recipient);
    let visit = json!({"mode": "phone", "wellbeing": "needs_help", "note": "家里水管漏水"});
    let logged = app.post(&path, Some(&c.visitor.access), &visit).await;
    assert_eq!(logged.status(), 201);
    let request = logged.json::<Value>().await.unwrap()["request_id"].as_i64().expect("a request was opened");
    let seen = app.get_json(&format!("/requests/{request}"), Some(&c.visitor.access)).await;
    assert_eq!(
        seen["request"]["category_key"].as_str().map(|_| ()),
        seen["request"]["category_key"].as_str().map(|_| ())
    );
    assert!(!seen["request"]["title"].as_str().unwrap().contains("王奶奶"), "the title names no one");
    // A resident who is not on the care team cannot log a visit (the recipient is hidden).
    let other = app.dev_login("demo-resident-2").await;
    assert_eq!(app.post(&path, Some(&other.access), &visit).await.status(), 404);
}

#[tokio::test]
async fn signed_alerts_each_failure_its_own_code_and_nothing_created() {
    let c = care().await;
    let app = &c.app;
    let now = app.now();
    let ts = now.timestamp();
    let valid = alert_body("smoke-1", "ev-1", "smoke", now);
    let created = send_alert(app, &valid, ts, SECRET).await;
    assert_eq!(created.status(), 201);
    assert_eq!(counts(app).await, (1, 1));

    let cases = [
        (
            "wrong signature",
            send_alert(app, &alert_body("smoke-1", "ev-2", "smoke", now), ts, "not-the-secret-000000").await,
            401,
            "ALERT_SIGNATURE_INVALID",
        ),
        (
            "stale timestamp",
            send_alert(app, &alert_body("smoke-1", "ev-3", "smoke", now), ts - 301, SECRET).await,
            401,
            "ALERT_TIMESTAMP_STALE",
        ),
        ("replayed event", send_alert(app, &valid, ts, SECRET).await, 409, "ALERT_REPLAYED"),
        (
            "unknown device",
            send_alert(app, &alert_body("nobody", "ev-4", "smoke", now), ts, SECRET).await,
            422,
            "ALERT_DEVICE_UNKNOWN",
        ),
    ];
    for (what, response, status, code) in cases {
        assert_eq!(response.status(), status, "{what}");
        assert_eq!(error_code(response).await, code, "{what}");
    }
    let unsigned = app.request(Method::POST, "/care/alerts", None).body(valid.clone()).send().await.unwrap();
    assert_eq!(error_code(unsigned).await, "ALERT_UNSIGNED");
    assert_eq!(counts(app).await, (1, 1), "nothing created for the bad ones");
}

#[tokio::test]
async fn duplicate_alerts_fold_into_the_open_task_and_battery_low_is_a_maintenance_note() {
    let c = care().await;
    let app = &c.app;
    let second = spawn_app_sharing_with(app, VARS).await;
    let now = app.now();
    let ts = now.timestamp();
    let first = send_alert(app, &alert_body("water-1", "w-1", "no_water_24h", now), ts, SECRET).await;
    assert_eq!(first.status(), 201);
    let task = first.json::<Value>().await.unwrap()["task_id"].as_i64().unwrap();
    // The same device and kind again, from the other instance: folded.
    let again = send_alert(&second, &alert_body("water-1", "w-2", "no_water_24h", now), ts, SECRET).await;
    assert_eq!(again.status(), 200);
    let folded: Value = again.json().await.unwrap();
    assert_eq!((folded["task_id"].as_i64(), folded["folded"].as_bool()), (Some(task), Some(true)));
    let battery = send_alert(app, &alert_body("water-1", "w-3", "battery_low", now), ts, SECRET).await;
    assert_eq!(battery.status(), 201);
    let tasks = app.get_json(&format!("/care/tasks?community_id={}", c.community), Some(&c.social.access)).await;
    let items = tasks["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let water = items.iter().find(|t| t["id"] == task).unwrap();
    assert_eq!((water["events_count"].as_i64(), water["task_kind"].as_str()), (Some(2), Some("urgent_visit")));
    let note = items.iter().find(|t| t["alert_kind"] == "battery_low").unwrap();
    assert_eq!((note["task_kind"].as_str(), note["ack_due_at"].is_null()), (Some("maintenance"), true));
    // The visitor and the grid worker were told of the urgent task, once each.
    let demo = app.demo().await;
    assert_eq!(notices(app, c.visitor.user_id, "care_task").await, 2, "the task and the maintenance note");
    assert_eq!(notices(app, demo.user("demo-grid"), "care_task").await, 2);
}

#[tokio::test]
async fn an_unacknowledged_smoke_alert_escalates_to_the_committee_after_fifteen_minutes() {
    let c = care().await;
    let app = &c.app;
    let second = spawn_app_sharing_with(app, VARS).await;
    let demo = app.demo().await;
    let committee = demo.user("demo-committee");
    let now = app.now();
    let smoke = send_alert(app, &alert_body("smoke-1", "s-1", "smoke", now), now.timestamp(), SECRET).await;
    let task = smoke.json::<Value>().await.unwrap()["task_id"].as_i64().unwrap();
    let water = send_alert(app, &alert_body("water-1", "w-1", "no_water_24h", now), now.timestamp(), SECRET).await;
    let water = water.json::<Value>().await.unwrap()["task_id"].as_i64().unwrap();
    app.clock.advance(Duration::minutes(14));
    assert_eq!(run_once(&app.state).await.unwrap().tasks_escalated, 0, "within the SLA");
    app.clock.advance(Duration::minutes(2));
    let (a, b) = tokio::join!(run_once(&app.state), run_once(&second.state));
    assert_eq!(a.unwrap().tasks_escalated + b.unwrap().tasks_escalated, 1, "once across instances; water has 2 hours");
    assert_eq!(notices(app, committee, "care_task").await, 1);
    let social = app.dev_login("demo-social").await;
    let tasks = app.get_json(&format!("/care/tasks?community_id={}", c.community), Some(&social.access)).await;
    let smoke = tasks["items"].as_array().unwrap().iter().find(|t| t["id"] == task).unwrap().clone();
    assert_eq!(smoke["level"], "committee");

    // An acknowledged task is not escalated: the visitor takes the water alert in time.
    let visitor = app.dev_login("demo-resident-1").await;
    let ack = app.post(&format!("/care/tasks/{water}/acknowledge"), Some(&visitor.access), &json!({})).await;
    assert_eq!(ack.status(), 200);
    let twice = app.post(&format!("/care/tasks/{water}/acknowledge"), Some(&visitor.access), &json!({})).await;
    assert_eq!(error_code(twice).await, "CARE_TASK_CLOSED");
    app.clock.advance(Duration::hours(3));
    assert_eq!(run_once(&app.state).await.unwrap().tasks_escalated, 0);
    // A resident off the team cannot see or act on a task.
    let other = app.dev_login("demo-resident-2").await;
    let hidden = app.post(&format!("/care/tasks/{task}/resolve"), Some(&other.access), &json!({})).await;
    assert_eq!(hidden.status(), 404);
}
