//! 邻互助 service hours through HTTP: the organiser's review, bulk approval with its awards, adjust
//! and decline, the party rule, caps across a Shanghai midnight, the award rolled back with the
//! approval, the wallet's words, the certificate and the statistics. Races and leaderboards are in
//! the submodules.

use ehome_tests::{error_code, spawn_app};
use serde_json::{Value, json};

mod board;
mod journey;
mod races;
pub mod setup;
mod wording;

use setup::{
    approve, assert_books_verify, assert_hledger_accepts_the_export, at_time, ended_activity, points_of, shown,
    sign_up, volunteer,
};

/// 28 November 2026, 09:00–12:00 in Shanghai, 10 points an hour.
const MORNING: (&str, &str) = ("2026-11-28T09:00:00+08:00", "2026-11-28T12:00:00+08:00");
const LATER: &str = "2026-11-29T12:00:00+08:00";

fn codes(items: &Value) -> Vec<(i64, String)> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["signup_id"].as_i64().unwrap(), r["status"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn bulk_approval_awards_quarter_hours_once_and_flags_short_attendance() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [committee, a, b, c] = at_time(&app, LATER, ["demo-committee", "hours-a", "hours-b", "hours-c"]).await;
    let activity = ended_activity(&app, &demo, "清扫楼道", MORNING.0, MORNING.1, 1000).await;
    // Early in, late out: the whole window, 3 h. 9:07–10:50 is 1 h 43 min: 1.5 h, under 60%. C never came.
    let sa =
        sign_up(&app, activity, a.user_id, Some("2026-11-28T08:40:00+08:00"), Some("2026-11-28T12:30:00+08:00")).await;
    let sb =
        sign_up(&app, activity, b.user_id, Some("2026-11-28T09:07:00+08:00"), Some("2026-11-28T10:50:00+08:00")).await;
    let sc = sign_up(&app, activity, c.user_id, None, None).await;

    let review = app.get_json(&format!("/activities/{activity}/hours"), Some(&committee.access)).await;
    let items = review["items"].as_array().unwrap_or_else(|| panic!("{review}"));
    let line = |signup: i64| items.iter().find(|i| i["signup_id"] == signup).unwrap().clone();
    assert_eq!((line(sa)["minutes"].as_i64(), line(sa)["hours"].as_str()), (Some(180), Some("3.00")));
    assert_eq!(line(sb)["minutes"], 90);
    assert_eq!(line(sb)["flags"], json!(["short_attendance"]));
    assert_eq!(line(sc)["flags"], json!(["short_attendance", "no_checkin"]));
    assert_eq!(line(sa)["decided"], false);
    // A volunteer is not an organiser.
    let refused = app.get(&format!("/activities/{activity}/hours"), Some(&a.access)).await;
    assert_eq!(refused.status(), 403);

    let (status, approved) = approve(&app, &committee.access, activity, None).await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["hours_approved"], true);
    let records = approved["records"].as_array().unwrap();
    assert_eq!(records.len(), 3);
    let record = |signup: i64| records.iter().find(|r| r["signup_id"] == signup).unwrap().clone();
    assert_eq!((record(sa)["points"].as_str(), record(sa)["credited_hours"].as_str()), (Some("30.00"), Some("3.00")));
    assert!(record(sa)["transfer_id"].is_string());
    assert_eq!(record(sb)["points"], "15.00");
    assert_eq!((record(sc)["points"].as_str(), record(sc)["transfer_id"].is_null()), (Some("0.00"), true));

    // Never stale: the balance right after the award.
    assert_eq!(points_of(&app, &a.access).await, shown("30.00", "30.00", "3.00"));
    assert_eq!(points_of(&app, &b.access).await, shown("15.00", "15.00", "1.50"));
    // Approving again decides nothing new and awards nothing: the activity is closed for approval.
    let (status, again) = approve(&app, &committee.access, activity, None).await;
    assert_eq!((status, again["records"].as_array().map(Vec::len)), (200, Some(0)), "{again}");
    assert_eq!(points_of(&app, &a.access).await, shown("30.00", "30.00", "3.00"));

    // The volunteer was told, and reads their record.
    let inbox = app.get_json("/me/notifications", Some(&a.access)).await;
    assert!(inbox.to_string().contains("服务时长已确认"), "{inbox}");
    let mine = app.get_json("/me/hours", Some(&a.access)).await;
    assert_eq!(mine["total_hours"], "3.00");
    assert_eq!(mine["items"][0]["activity_title"], "清扫楼道");
    assert_eq!(mine["items"][0]["kind"], "original");
    assert_books_verify(&app).await;
}

#[tokio::test]
async fn adjustments_award_the_difference_or_take_part_back_and_declines_keep_a_reason() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [committee, a, b, c] = at_time(&app, LATER, ["demo-committee", "adj-a", "adj-b", "adj-c"]).await;
    let activity = ended_activity(&app, &demo, "助老探访", MORNING.0, MORNING.1, 1000).await;
    let full = (Some(MORNING.0), Some(MORNING.1));
    let sa = sign_up(&app, activity, a.user_id, full.0, full.1).await;
    let sb = sign_up(&app, activity, b.user_id, full.0, full.1).await;
    let sc = sign_up(&app, activity, c.user_id, full.0, full.1).await;
    let adjust = |signup: i64, minutes: i64| {
        let path = format!("/activities/{activity}/hours/{signup}/adjust");
        let body = json!({"minutes": minutes, "reason": "签到记录有误，按实际时长更正"});
        let token = committee.access.clone();
        let app = &app;
        async move { app.post(&path, Some(&token), &body).await }
    };
    // Nothing to adjust before a decision.
    assert_eq!(error_code(adjust(sa, 120).await).await, "HOURS_NOT_DECIDED");

    // The volunteer's inbox, read (and so kept by the instance) before the decision…
    let before = app.get_json("/me/notifications", Some(&b.access)).await;
    let decline = app
        .post(
            &format!("/activities/{activity}/hours/{sb}/decline"),
            Some(&committee.access),
            &json!({"reason": "未实际参加"}),
        )
        .await;
    assert_eq!(decline.status(), 201);
    let declined: Value = decline.json().await.unwrap();
    assert_eq!(
        (declined["records"][0]["status"].as_str(), declined["hours_approved"].as_bool()),
        (Some("declined"), Some(false))
    );
    assert_eq!(declined["records"][0]["reason"], "未实际参加");
    // …shows the decline on the next read, with its reason.
    let after = app.get_json("/me/notifications", Some(&b.access)).await;
    assert_eq!(after["unread"].as_i64(), before["unread"].as_i64().map(|n| n + 1), "{after}");
    assert_eq!(after["items"][0]["kind"], "hours_declined", "{after}");
    let twice = app
        .post(
            &format!("/activities/{activity}/hours/{sb}/decline"),
            Some(&committee.access),
            &json!({"reason": "重复"}),
        )
        .await;
    assert_eq!(error_code(twice).await, "HOURS_ALREADY_DECIDED");

    let (status, approved) = approve(&app, &committee.access, activity, Some(&[sa, sc])).await;
    assert_eq!((status, approved["hours_approved"].as_bool()), (200, Some(true)), "{approved}");
    let original = approved["records"].as_array().unwrap().iter().find(|r| r["signup_id"] == sa).unwrap()["id"].clone();

    // Down to 2 h: 10 points back along the award, which the adjustment names.
    let down = adjust(sa, 120).await;
    assert_eq!(down.status(), 201);
    let down: Value = down.json().await.unwrap();
    let lowered = &down["records"][0];
    assert_eq!((lowered["kind"].as_str(), lowered["corrects_id"].clone()), (Some("adjustment"), original.clone()));
    assert_eq!((lowered["points"].as_str(), lowered["points_change"].as_str()), (Some("20.00"), Some("-10.00")));
    assert_eq!(points_of(&app, &a.access).await, shown("20.00", "20.00", "2.00"));
    // Up to 4 h: capped at the activity's 3 h; the difference awarded.
    let up: Value = adjust(sa, 240).await.json().await.unwrap();
    assert_eq!(up["records"][0]["credited_minutes"], 180);
    assert_eq!(up["records"][0]["points_change"], "10.00");
    assert!(up["records"][0]["flags"].as_array().unwrap().contains(&json!("activity_cap")));
    assert_eq!(points_of(&app, &a.access).await, shown("30.00", "30.00", "3.00"));
    // A declined sign-up adjusted later earns its hours.
    let revived: Value = adjust(sb, 60).await.json().await.unwrap();
    assert_eq!(revived["records"][0]["points_change"], "10.00");
    assert_eq!(points_of(&app, &b.access).await, shown("10.00", "10.00", "1.00"));
    // Bad minutes.
    assert_eq!(error_code(adjust(sa, 50).await).await, "VALIDATION_FAILED");

    // Every record stays: the original and both adjustments, newest first.
    let mine = app.get_json("/me/hours", Some(&a.access)).await;
    let kinds: Vec<&str> = mine["items"].as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["adjustment", "adjustment", "original"]);
    let first = app.get_json("/me/hours?limit=2", Some(&a.access)).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let next = first["next_cursor"].as_str().unwrap().to_owned();
    let rest = app.get_json(&format!("/me/hours?limit=2&cursor={next}"), Some(&a.access)).await;
    assert_eq!((rest["items"][0]["kind"].as_str(), rest["next_cursor"].is_null()), (Some("original"), true));
    // The wallet's words: the activity for the award, 调整 for each correction.
    let history = app.get_json("/me/points/history", Some(&a.access)).await;
    let lines: Vec<(String, String)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["title"].as_str().unwrap().to_owned(), l["amount"].as_str().unwrap().to_owned()))
        .collect();
    let expected = [("调整", "+10.00"), ("调整", "-10.00"), ("助老探访", "+30.00")];
    assert_eq!(lines, expected.map(|(t, a)| (t.to_owned(), a.to_owned())));
    let page = app.get_json("/me/points/history?limit=1", Some(&a.access)).await;
    let next = page["next_cursor"].as_str().unwrap().to_owned();
    let second = app.get_json(&format!("/me/points/history?limit=1&cursor={next}"), Some(&a.access)).await;
    assert_eq!(second["items"][0]["amount"], "-10.00");
    let review = app.get_json(&format!("/activities/{activity}/hours"), Some(&committee.access)).await;
    assert_eq!(codes(&review["items"][0]["records"]).len(), 3);
    assert_books_verify(&app).await;
    assert_hledger_accepts_the_export(&app).await;
}

#[tokio::test]
async fn an_organiser_may_not_decide_their_own_hours() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [committee, social, a] = at_time(&app, LATER, ["demo-committee", "demo-social", "own-a"]).await;
    let activity = ended_activity(&app, &demo, "垃圾分类宣传", MORNING.0, MORNING.1, 1000).await;
    let own = sign_up(&app, activity, committee.user_id, Some(MORNING.0), Some(MORNING.1)).await;
    let other = sign_up(&app, activity, a.user_id, Some(MORNING.0), Some(MORNING.1)).await;
    let (status, refused) = approve(&app, &committee.access, activity, Some(&[own])).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (403, Some("PARTY_TO_CASE")));
    let path = format!("/activities/{activity}/hours/{own}/decline");
    assert_eq!(
        error_code(app.post(&path, Some(&committee.access), &json!({"reason": "x"})).await).await,
        "PARTY_TO_CASE"
    );
    // Approving all leaves the organiser's own hours to someone else.
    let (_, approved) = approve(&app, &committee.access, activity, None).await;
    assert_eq!(codes(&approved["records"]), [(other, "approved".to_owned())]);
    assert_eq!(approved["hours_approved"], false);
    let (status, theirs) = approve(&app, &social.access, activity, None).await;
    assert_eq!((status, theirs["hours_approved"].as_bool()), (200, Some(true)), "{theirs}");
    assert_eq!(codes(&theirs["records"]), [(own, "approved".to_owned())]);
    // A resident of the community is not an organiser.
    let (status, _) = approve(&app, &a.access, activity, None).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn the_daily_cap_counts_shanghai_days_across_midnight() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [committee, a] = at_time(&app, "2026-11-30T12:00:00+08:00", ["demo-committee", "cap-a"]).await;
    // 7 h on the 28th, then 22:00 on the 28th to 02:00 on the 29th (14:00 to 18:00 UTC, one UTC day).
    let day =
        ended_activity(&app, &demo, "社区义诊", "2026-11-28T09:00:00+08:00", "2026-11-28T16:00:00+08:00", 1000).await;
    let night =
        ended_activity(&app, &demo, "夜间巡逻", "2026-11-28T22:00:00+08:00", "2026-11-29T02:00:00+08:00", 1000).await;
    sign_up(&app, day, a.user_id, Some("2026-11-28T09:00:00+08:00"), Some("2026-11-28T16:00:00+08:00")).await;
    sign_up(&app, night, a.user_id, Some("2026-11-28T22:00:00+08:00"), Some("2026-11-29T02:00:00+08:00")).await;
    let (_, first) = approve(&app, &committee.access, day, None).await;
    assert_eq!(first["records"][0]["credited_minutes"], 420);
    let (_, second) = approve(&app, &committee.access, night, None).await;
    let record = &second["records"][0];
    // The 28th has room for one of its two hours; the 29th takes both of its own.
    assert_eq!((record["minutes"].as_i64(), record["credited_minutes"].as_i64()), (Some(240), Some(180)), "{record}");
    assert!(record["flags"].as_array().unwrap().contains(&json!("daily_cap")));
    assert_eq!(record["points"], "30.00");
    assert_eq!(points_of(&app, &a.access).await, shown("100.00", "100.00", "10.00"));
}

/// Makes every insert into `notifications` fail: the approval writes the volunteer's notice after
/// the award, so the award has posted when the transaction fails.
async fn break_notifications(app: &ehome_tests::TestApp, broken: bool) {
    use sea_orm::{ConnectionTrait, DatabaseBackend};
    let db = &app.db;
    let statements: &[&str] = match (db.get_database_backend(), broken) {
        (DatabaseBackend::Postgres, true) => &[
            "CREATE FUNCTION forced_fault() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'forced fault'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER forced_fault BEFORE INSERT ON notifications FOR EACH ROW EXECUTE FUNCTION forced_fault()",
        ],
        (DatabaseBackend::Postgres, false) => &["DROP TRIGGER forced_fault ON notifications"],
        (_, true) => &[
            "CREATE TRIGGER forced_fault BEFORE INSERT ON notifications BEGIN SELECT RAISE(ABORT, 'forced fault'); END",
        ],
        (_, false) => &["DROP TRIGGER forced_fault"],
    };
    for statement in statements {
        db.execute_unprepared(statement).await.unwrap();
    }
}

#[tokio::test]
async fn a_failure_after_the_award_rolls_back_the_award_with_the_approval() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [committee, a] = at_time(&app, LATER, ["demo-committee", "fault-a"]).await;
    let activity = ended_activity(&app, &demo, "绿化养护", MORNING.0, MORNING.1, 1000).await;
    sign_up(&app, activity, a.user_id, Some(MORNING.0), Some(MORNING.1)).await;
    break_notifications(&app, true).await;
    let (status, _) = approve(&app, &committee.access, activity, None).await;
    assert_eq!(status, 500);
    assert_eq!(points_of(&app, &a.access).await, shown("0.00", "0.00", "0.00"));
    let history = app.get_json("/me/points/history", Some(&a.access)).await;
    assert_eq!(history["items"], json!([]));
    let review = app.get_json(&format!("/activities/{activity}/hours"), Some(&committee.access)).await;
    assert_eq!(review["items"][0]["decided"], false);
    assert_eq!(review["activity"]["status"], "ended");
    break_notifications(&app, false).await;
    let (status, approved) = approve(&app, &committee.access, activity, None).await;
    assert_eq!((status, approved["hours_approved"].as_bool()), (200, Some(true)));
    assert_eq!(points_of(&app, &a.access).await, shown("30.00", "30.00", "3.00"));
    assert_books_verify(&app).await;
}

#[tokio::test]
async fn the_certificate_lists_activities_dates_and_hours_under_the_real_name() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [committee, a] = at_time(&app, LATER, ["demo-committee", "cert-a"]).await;
    volunteer(&app, &demo, a.user_id, true, Some("王小明")).await;
    let first = ended_activity(&app, &demo, "=清扫楼道", MORNING.0, MORNING.1, 1000).await;
    let second =
        ended_activity(&app, &demo, "<b>助老</b>", "2026-11-29T09:00:00+08:00", "2026-11-29T10:30:00+08:00", 1000)
            .await;
    sign_up(&app, first, a.user_id, Some(MORNING.0), Some(MORNING.1)).await;
    sign_up(&app, second, a.user_id, Some("2026-11-29T09:00:00+08:00"), Some("2026-11-29T10:30:00+08:00")).await;
    approve(&app, &committee.access, first, None).await;
    approve(&app, &committee.access, second, None).await;
    let response = app.get("/me/hours/certificate.csv", Some(&a.access)).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = response.text().await.unwrap();
    let expected = "\u{FEFF}姓名,活动,日期,服务时长（小时）,类型\r\n王小明,'=清扫楼道,2026-11-28,3.00,志愿活动\r\n\
                    王小明,<b>助老</b>,2026-11-29,1.50,志愿活动\r\n王小明,合计,,4.50,\r\n";
    assert_eq!(csv, expected);
    let html = app.get("/me/hours/certificate.html", Some(&a.access)).await.text().await.unwrap();
    assert!(html.contains("王小明") && html.contains("4.50") && html.contains("2026-11-29"), "{html}");
    assert!(html.contains("&lt;b&gt;助老&lt;/b&gt;") && !html.contains("<b>助老"), "escaped: {html}");
    assert_eq!(app.get("/me/hours/certificate.html", None).await.status(), 401);
}

#[tokio::test]
async fn statistics_count_activities_volunteers_hours_people_served_and_teams() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [committee, a, b] = at_time(&app, LATER, ["demo-committee", "stats-a", "stats-b"]).await;
    let activity = ended_activity(&app, &demo, "环境整治", MORNING.0, MORNING.1, 1000).await;
    sign_up(&app, activity, a.user_id, Some(MORNING.0), Some(MORNING.1)).await;
    sign_up(&app, activity, b.user_id, Some(MORNING.0), Some("2026-11-28T10:00:00+08:00")).await;
    let query = "period=day&from=2026-11-27&to=2026-11-29";
    let before = app.get_json(&format!("/communities/{}/stats?{query}", demo.community), Some(&committee.access)).await;
    assert_eq!(before["volunteering"]["totals"]["hours_served"], "0.00", "{before}");
    // The answer is kept (`requests::kept`), and the approval replaces it before it answers.
    approve(&app, &committee.access, activity, None).await;
    let stats = app.get_json(&format!("/communities/{}/stats?{query}", demo.community), Some(&committee.access)).await;
    let v = &stats["volunteering"];
    assert_eq!(v["totals"]["activities_held"], 1, "{stats}");
    assert_eq!(v["totals"]["volunteers_active"], 2);
    assert_eq!(v["totals"]["hours_served"], "4.00");
    assert_eq!(v["totals"]["people_served"], 12);
    assert_eq!(v["teams"], 0);
    assert_eq!(v["series"].as_array().unwrap().len(), 3);
    assert_eq!(v["series"][1]["figures"]["hours_served"], "4.00");
    assert!(stats["totals"]["reported"].is_number(), "the requests figures stay: {stats}");
    let csv =
        app.get(&format!("/communities/{}/volunteering.csv?{query}", demo.community), Some(&committee.access)).await;
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    assert!(text.contains("2026-11-28,1,2,4.00,0.00,12\r\n") && text.contains("合计,1,2,4.00,0.00,12\r\n"), "{text}");
    let refused = app.get(&format!("/communities/{}/volunteering.csv", demo.community), Some(&a.access)).await;
    assert_eq!(refused.status(), 403);
}
