//! What the hours tests start from: ended activities of the demo community with confirmed sign-ups
//! and their check-in and check-out times, and registered volunteers. Written as rows of the
//! activities scene's tables (its contract, migration 000008), so that these tests pin the hours
//! scene's rules to exact times; the activities scene's own tests drive the same rows through its
//! routes.

use chrono::{DateTime, Utc};
use ehome_api::platform::clock::Clock;
use ehome_entities::{activity, activity_signup, volunteer};
use ehome_tests::{Demo, Session, TestApp};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::Value;

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// An activity of the demo community organised by the committee member, already `ended`.
pub async fn ended_activity(app: &TestApp, demo: &Demo, title: &str, starts: &str, ends: &str, rate_minor: i64) -> i64 {
    let now = app.clock.now();
    let row = activity::ActiveModel {
        community_id: Set(demo.community),
        organiser_id: Set(demo.user("demo-committee")),
        team_id: Set(None),
        title: Set(title.to_owned()),
        description: Set(format!("{title}：志愿服务")),
        place: Set(None),
        grid_id: Set(None),
        building_id: Set(None),
        latitude: Set(None),
        longitude: Set(None),
        radius_m: Set(None),
        starts_at: Set(at(starts)),
        ends_at: Set(at(ends)),
        signup_deadline: Set(at(starts)),
        capacity: Set(1000),
        audience: Set("community".to_owned()),
        audience_id: Set(None),
        points_per_hour_minor: Set(rate_minor),
        cover_url: Set(None),
        beneficiaries: Set(Some(12)),
        status: Set("ended".to_owned()),
        checkin_secret: Set("test-secret".to_owned()),
        confirmed_count: Set(0),
        signup_arrivals: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    row.insert(&app.db).await.unwrap().id
}

/// A confirmed sign-up with its check-in and check-out (RFC 3339, or none).
pub async fn sign_up(
    app: &TestApp,
    activity_id: i64,
    user_id: i64,
    checked_in: Option<&str>,
    checked_out: Option<&str>,
) -> i64 {
    let now = app.clock.now();
    let row = activity_signup::ActiveModel {
        activity_id: Set(activity_id),
        user_id: Set(user_id),
        status: Set("confirmed".to_owned()),
        arrival: Set(user_id),
        checked_in_at: Set(checked_in.map(at)),
        checkin_flags: Set(None),
        checked_out_at: Set(checked_out.map(at)),
        checkout_flags: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    row.insert(&app.db).await.unwrap().id
}

/// An approved volunteer of the demo community.
pub async fn volunteer(app: &TestApp, demo: &Demo, user_id: i64, consent: bool, real_name: Option<&str>) {
    let now = app.clock.now();
    volunteer::ActiveModel {
        community_id: Set(demo.community),
        user_id: Set(user_id),
        status: Set("approved".to_owned()),
        skills: Set("[]".to_owned()),
        available_times: Set(None),
        real_name: Set(real_name.map(str::to_owned)),
        leaderboard_consent: Set(consent),
        note: Set(None),
        decided_by: Set(Some(demo.user("demo-committee"))),
        decided_at: Set(Some(now)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
}

/// Sets the app's clock (shared by instances) and signs these users in at that time.
pub async fn at_time<const N: usize>(app: &TestApp, now: &str, openids: [&str; N]) -> [Session; N] {
    app.clock.set(at(now));
    app.dev_logins(openids).await
}

/// `GET /me/points` as (available, lifetime earned, lifetime hours).
pub async fn points_of(app: &TestApp, token: &str) -> (String, String, String) {
    let body = app.get_json("/me/points", Some(token)).await;
    let text = |key: &str| body[key].as_str().unwrap_or_else(|| panic!("{key} in {body}")).to_owned();
    assert_eq!(body["expiring_90_days"], "0.00");
    (text("available"), text("lifetime_earned"), text("lifetime_hours"))
}

pub fn shown(available: &str, earned: &str, hours: &str) -> (String, String, String) {
    (available.to_owned(), earned.to_owned(), hours.to_owned())
}

/// Approves all (or the named) sign-ups of an activity; returns the status and the answer.
pub async fn approve(app: &TestApp, token: &str, activity_id: i64, signups: Option<&[i64]>) -> (u16, Value) {
    let body = match signups {
        Some(ids) => serde_json::json!({ "signup_ids": ids }),
        None => serde_json::json!({}),
    };
    let response = app.post(&format!("/activities/{activity_id}/hours/approve"), Some(token), &body).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

pub async fn assert_books_verify(app: &TestApp) {
    let report = ehome_ledger::verify(&app.db, &mut |_, _| {}).await.unwrap();
    assert!(report.faults.is_empty(), "ledger verify: {:?}", report.faults);
}

/// The books as an hledger journal (`GET /ledger/export`) pass `hledger check`, when hledger is
/// installed (`scripts/ensure-ledger-tools.sh`); skipped, and said so, when it is not.
pub async fn assert_hledger_accepts_the_export(app: &TestApp) {
    let admin = app.dev_login("demo-admin").await.access;
    let response = app.get("/ledger/export?format=hledger", Some(&admin)).await;
    assert_eq!(response.status(), 200);
    let journal = response.text().await.unwrap();
    assert!(journal.contains("volunteer_award") || journal.contains("POINTS"), "{journal}");
    if std::process::Command::new("hledger").arg("--version").output().is_err() {
        eprintln!("hledger is not installed: the journal's check is skipped");
        return;
    }
    let path = std::env::temp_dir().join(format!("ehome-hours-{}.journal", uuid::Uuid::new_v4()));
    std::fs::write(&path, journal).unwrap();
    let checked = std::process::Command::new("hledger").arg("check").arg("-f").arg(&path).output().unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(checked.status.success(), "hledger check: {}", String::from_utf8_lossy(&checked.stderr));
}
