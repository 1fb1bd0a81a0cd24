//! The committee's care dashboard (recipients by risk, this week's visits, open alerts with their
//! age, response times per month; JSON and CSV; the committee only) and the cursor pages of the care
//! lists (recipients, visits, tasks), each caller seeing only what the care policy lets them.

use chrono::Duration;
use ehome_tests::{TestApp, error_code};
use serde_json::{Value, json};

use super::{Care, SECRET, alert_body, care, send_alert};

/// Registers another recipient in `household` as the social worker; returns its id.
async fn register(c: &Care, household: i64, risk: &str) -> i64 {
    let body = json!({"household_id": household, "name": "李爷爷", "circumstance": "living_alone",
        "risk_level": risk, "consent_by": "recipient"});
    let created = c.app.post("/care/recipients", Some(&c.social.access), &body).await;
    assert_eq!(created.status(), 201);
    created.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// Every id of a list, page by page of `limit`, checking each page's size.
async fn walk(app: &TestApp, path: &str, token: &str, limit: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut url = format!("{path}{sep}limit={limit}");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page = app.get_json(&url, Some(token)).await;
        let items = page["items"].as_array().unwrap_or_else(|| panic!("{url}: {page}"));
        assert!(items.len() <= limit, "{url}: {page}");
        ids.extend(items.iter().map(|item| item["id"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(items.len(), limit, "a page before the last is full");
                cursor = Some(next.to_owned());
            }
            None => return ids,
        }
    }
}

#[tokio::test]
async fn the_dashboard_counts_risk_visits_open_alerts_and_response_times_for_the_committee_only() {
    let c = care().await;
    let app = &c.app;
    let demo = app.demo().await;
    register(&c, demo.households[0][1], "high").await;
    // Three weeks on: the medium-risk recipient (weekly) and the high-risk one (every 3 days) are both
    // overdue; a visit to the first moves it on.
    app.clock.advance(Duration::days(20));
    // Signed in again: the tokens of three weeks ago have expired.
    let visitor = app.dev_login("demo-resident-1").await;
    let visit = json!({"mode": "in_person", "wellbeing": "fine"});
    let logged = app.post(&format!("/care/recipients/{}/visits", c.recipient), Some(&visitor.access), &visit).await;
    assert_eq!(logged.status(), 201);
    let now = app.now();
    let smoke = send_alert(app, &alert_body("smoke-1", "d-1", "smoke", now), now.timestamp(), SECRET).await;
    let smoke = smoke.json::<Value>().await.unwrap()["task_id"].as_i64().unwrap();
    let water = send_alert(app, &alert_body("water-1", "d-2", "no_water_24h", now), now.timestamp(), SECRET).await;
    let water = water.json::<Value>().await.unwrap()["task_id"].as_i64().unwrap();
    app.clock.advance(Duration::minutes(10));
    let ack = app.post(&format!("/care/tasks/{water}/acknowledge"), Some(&visitor.access), &json!({})).await;
    assert_eq!(ack.status(), 200);
    app.clock.advance(Duration::minutes(10));

    let committee = app.dev_login("demo-committee").await;
    let path = format!("/communities/{}/care/dashboard", c.community);
    let board = app.get_json(&format!("{path}?months=2"), Some(&committee.access)).await;
    assert_eq!(board["recipients"], json!({"total": 2, "by_risk": {"low": 0, "medium": 1, "high": 1}}), "{board}");
    let week = &board["week"];
    assert_eq!((week["due"].as_u64(), week["missed"].as_u64()), (Some(1), Some(1)), "{board}");
    assert_eq!((week["visited"].as_u64(), week["visits_logged"].as_u64()), (Some(1), Some(1)), "{board}");
    let alerts = board["open_alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 2, "{board}");
    let smoke_alert = alerts.iter().find(|a| a["task_id"] == smoke).unwrap();
    assert_eq!((smoke_alert["age_minutes"].as_i64(), smoke_alert["overdue"].as_bool()), (Some(20), Some(true)));
    let water_alert = alerts.iter().find(|a| a["task_id"] == water).unwrap();
    assert_eq!((water_alert["status"].as_str(), water_alert["overdue"].as_bool()), (Some("acknowledged"), Some(false)));
    let months = board["response_times"].as_array().unwrap();
    assert_eq!(months.len(), 2);
    let sum = |key: &str| months.iter().map(|m| m[key].as_u64().unwrap()).sum::<u64>();
    assert_eq!((sum("tasks"), sum("responded"), sum("within_sla")), (2, 1, 1), "{board}");
    let answered = months.iter().find(|m| m["responded"] == 1).unwrap();
    assert_eq!((answered["p50_seconds"].as_i64(), answered["p90_seconds"].as_i64()), (Some(600), Some(600)));

    let csv = app.get(&format!("{path}.csv"), Some(&committee.access)).await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("\u{FEFF}分类,项目,数值\r\n"), "{text}");
    assert!(text.contains("关爱对象,高风险,1\r\n") && text.contains(",逾期未访,1\r\n"), "{text}");
    assert!(text.contains(&format!("任务#{smoke} 烟感报警（处理中，已超时）,20\r\n")), "{text}");
    assert!(text.contains(",P50（分钟）,10.0\r\n"), "{text}");

    // The care team below the committee, residents: 403; an unknown community: 404; bad months: 400.
    let [grid, resident, social, visitor] =
        app.dev_logins(["demo-grid", "demo-resident-2", "demo-social", "demo-resident-1"]).await;
    for (who, token) in [("social", &social.access), ("visitor", &visitor.access), ("grid", &grid.access)] {
        assert_eq!(app.get(&path, Some(token)).await.status(), 403, "{who}");
    }
    let refused = app.get(&format!("{path}.csv"), Some(&resident.access)).await;
    assert_eq!((refused.status().as_u16(), error_code(refused).await.as_str()), (403, "FORBIDDEN"));
    assert_eq!(app.get("/communities/999999/care/dashboard", Some(&committee.access)).await.status(), 404);
    assert_eq!(app.get(&format!("{path}?months=0"), Some(&committee.access)).await.status(), 400);
    assert_eq!(app.get(&path, None).await.status(), 401);
}

#[tokio::test]
async fn care_lists_are_cursor_pages_of_what_each_caller_may_see() {
    let c = care().await;
    let app = &c.app;
    let demo = app.demo().await;
    let second = register(&c, demo.households[0][1], "low").await;
    let third = register(&c, demo.households[0][2], "high").await;
    let recipients = format!("/care/recipients?community_id={}", c.community);
    assert_eq!(walk(app, &recipients, &c.social.access, 2).await, vec![third, second, c.recipient], "newest first");
    assert_eq!(walk(app, &recipients, &c.visitor.access, 1).await, vec![c.recipient], "only the one they visit");
    let resident = app.dev_login("demo-resident-2").await;
    assert!(walk(app, &recipients, &resident.access, 5).await.is_empty());

    let visits = format!("/care/recipients/{}/visits", c.recipient);
    let mut logged = Vec::new();
    for hours_ago in [3, 2, 1] {
        let at = app.now() - Duration::hours(hours_ago);
        let body = json!({"mode": "phone", "wellbeing": "fine", "visited_at": at});
        let visit = app.post(&visits, Some(&c.visitor.access), &body).await;
        logged.push(visit.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    logged.reverse();
    assert_eq!(walk(app, &visits, &c.social.access, 2).await, logged, "the latest logged first");

    let now = app.now();
    let alerts = [("smoke-1", "p-1", "smoke"), ("water-1", "p-2", "no_water_24h"), ("water-1", "p-3", "battery_low")];
    for (device, event, kind) in alerts {
        let sent = send_alert(app, &alert_body(device, event, kind, now), now.timestamp(), SECRET).await;
        assert_eq!(sent.status(), 201);
    }
    let tasks = format!("/care/tasks?community_id={}", c.community);
    assert_eq!(walk(app, &tasks, &c.social.access, 2).await.len(), 3);
    assert_eq!(walk(app, &tasks, &c.visitor.access, 2).await.len(), 3, "their recipient's tasks");
    assert!(walk(app, &tasks, &resident.access, 2).await.is_empty());
    let bad = app.get(&format!("{tasks}&cursor=nonsense"), Some(&c.social.access)).await;
    assert_eq!(bad.status(), 400);
}
