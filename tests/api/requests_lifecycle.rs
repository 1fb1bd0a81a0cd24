//! 邻办事: the lifecycle end to end, and every forbidden transition for every role.

use chrono::Duration;
use ehome_api::scenes::requests::jobs::run_once;
use ehome_tests::{error_code, spawn_app};
use serde_json::{Value, json};

#[tokio::test]
async fn the_whole_lifecycle() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [resident, leader] = app.dev_logins(["demo-resident-1", "demo-leader"]).await;
    let repair = demo.category("repair");

    // Routed to the leader of the resident's building; the leader takes it through to resolution.
    let request = app.submit(&resident.access, repair, "1号楼楼道灯坏了").await;
    let id = request["id"].as_i64().unwrap();
    assert_eq!(request["status"], "submitted");
    assert_eq!(request["assignee_id"], leader.user_id);
    assert_eq!(request["assignee_level"], "building_leader");
    for (action, to) in [("accept", "accepted"), ("start", "in_progress"), ("resolve", "resolved")] {
        let response = app.act(&leader.access, id, action, Some("已安排电工")).await;
        assert_eq!(response.status(), 200, "{action}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["request"]["status"], to);
    }
    // The reporter reopens within 7 days; it is resolved again and confirmed, then rated.
    assert_eq!(app.act(&resident.access, id, "reopen", Some("灯又不亮了")).await.status(), 200);
    assert_eq!(app.act(&leader.access, id, "resolve", None).await.status(), 200);
    assert_eq!(app.act(&resident.access, id, "confirm", None).await.status(), 200);
    let rated = app
        .post(&format!("/requests/{id}/rating"), Some(&resident.access), &json!({"score": 5, "text": "很及时"}))
        .await;
    assert_eq!(rated.status(), 200);
    let again = app.post(&format!("/requests/{id}/rating"), Some(&resident.access), &json!({"score": 1})).await;
    assert_eq!(error_code(again).await, "ALREADY_RATED");

    // The timeline holds every step, in order, with who and in which role.
    let detail: Value = app.get_json(&format!("/requests/{id}"), Some(&resident.access)).await;
    let steps: Vec<(String, String)> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap().to_owned(), e["to_status"].as_str().unwrap_or("").to_owned()))
        .collect();
    let expected = [
        ("submitted", "submitted"),
        ("transition", "accepted"),
        ("transition", "in_progress"),
        ("transition", "resolved"),
        ("transition", "reopened"),
        ("transition", "resolved"),
        ("transition", "confirmed"),
        ("rated", ""),
    ];
    assert_eq!(steps, expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>());
    assert_eq!(detail["timeline"][1]["actor_role"], "building_leader");
    assert_eq!(detail["timeline"][4]["actor_role"], "reporter");

    // Reopen after the window: resolved, then 8 days pass.
    let late = app.submit(&resident.access, repair, "电梯按钮失灵").await["id"].as_i64().unwrap();
    assert_eq!(app.act(&leader.access, late, "resolve", None).await.status(), 200);
    app.clock.advance(Duration::days(8));
    // Access tokens follow the app's clock: sign in again eight days later.
    let [resident, leader, committee] = app.dev_logins(["demo-resident-1", "demo-leader", "demo-committee"]).await;
    let reopened = app.act(&resident.access, late, "reopen", None).await;
    assert_eq!(reopened.status(), 409);
    assert_eq!(error_code(reopened).await, "REOPEN_WINDOW_CLOSED");
    // ... and the job closes it as closed_timeout.
    let outcome = run_once(&app.state).await.unwrap();
    assert!(outcome.closed >= 1);
    assert_eq!(app.request_status(&resident.access, late).await, "closed_timeout");

    // Withdraw by the reporter; reject by the committee needs a reason.
    let withdrawn = app.submit(&resident.access, repair, "门禁卡无法使用").await["id"].as_i64().unwrap();
    assert_eq!(app.act(&resident.access, withdrawn, "withdraw", None).await.status(), 200);
    assert_eq!(app.request_status(&resident.access, withdrawn).await, "withdrawn");
    let rejected = app.submit(&resident.access, repair, "希望小区装游泳池").await["id"].as_i64().unwrap();
    let no_reason = app.act(&committee.access, rejected, "reject", None).await;
    assert_eq!(no_reason.status(), 400);
    assert_eq!(app.act(&committee.access, rejected, "reject", Some("不属于物业维修范围")).await.status(), 200);

    // Escalation by hand: leader → grid worker → committee → street, then no further.
    let grid_worker = app.dev_login("demo-grid").await;
    let escalated = app.submit(&resident.access, repair, "外墙瓷砖脱落有安全隐患").await["id"].as_i64().unwrap();
    let first: Value = app.act(&leader.access, escalated, "escalate", Some("需要网格协调")).await.json().await.unwrap();
    assert_eq!(first["request"]["assignee_level"], "grid_worker");
    assert_eq!(first["request"]["assignee_id"], grid_worker.user_id);
    assert_eq!(first["request"]["status"], "escalated");
    let second: Value =
        app.act(&grid_worker.access, escalated, "escalate", Some("需居委会处理")).await.json().await.unwrap();
    assert_eq!(second["request"]["assignee_level"], "committee");
    let third: Value = app.act(&committee.access, escalated, "escalate", Some("上报街道")).await.json().await.unwrap();
    assert_eq!(third["request"]["assignee_level"], "street");
    assert_eq!(app.act(&committee.access, escalated, "escalate", Some("再上报")).await.status(), 409);

    // The reporter was told of every status change, in the inbox.
    let inbox: Value = app.get_json("/me/notifications", Some(&resident.access)).await;
    assert!(inbox["unread"].as_u64().unwrap() >= 10, "{inbox}");
    assert!(inbox["items"][0]["body"].as_str().unwrap().contains("状态更新"));
}

#[tokio::test]
async fn every_forbidden_transition_for_every_role() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let callers = [
        "demo-admin",
        "demo-committee",
        "demo-leader",
        "demo-grid",
        "demo-social",
        "demo-resident-1",
        "demo-resident-2",
        "demo-shop",
    ];
    let mut tokens = std::collections::HashMap::new();
    for caller in callers {
        tokens.insert(caller, app.dev_login(caller).await.access);
    }
    let reporter = "demo-resident-1";
    let repair = demo.category("repair");
    let handlers = ["demo-admin", "demo-committee", "demo-leader", "demo-grid"];
    let supervisors = ["demo-admin", "demo-committee", "demo-grid"];
    let moderators = ["demo-admin", "demo-committee"];
    let actions =
        ["accept", "start", "resolve", "confirm", "reopen", "reject", "escalate", "withdraw", "reassign", "release"];
    // Drive one request into each status, then try every action as every caller against it.
    let paths: &[(&str, &[(&str, &str)])] = &[
        ("submitted", &[]),
        ("accepted", &[("demo-leader", "accept")]),
        ("in_progress", &[("demo-leader", "accept"), ("demo-leader", "start")]),
        ("resolved", &[("demo-leader", "resolve")]),
        ("confirmed", &[("demo-leader", "resolve"), (reporter, "confirm")]),
        ("rejected", &[("demo-committee", "reject")]),
        ("withdrawn", &[(reporter, "withdraw")]),
    ];
    for (index, (status, steps)) in paths.iter().enumerate() {
        for caller in callers {
            for action in actions {
                let id = app.submit(&tokens[reporter], repair, &format!("第{index}类问题{caller}{action}")).await["id"]
                    .as_i64()
                    .unwrap();
                for (who, step) in *steps {
                    assert_eq!(
                        app.act(&tokens[who], id, step, Some("理由")).await.status(),
                        200,
                        "{step} to reach {status}"
                    );
                }
                let mut body = json!({"action": action, "note": "理由"});
                if action == "reassign" {
                    body["assignee_id"] = json!(demo.user("demo-social"));
                }
                let response = app.post(&format!("/requests/{id}/transitions"), Some(&tokens[caller]), &body).await;
                let code = response.status().as_u16();
                let kind_allowed = match action {
                    "accept" | "start" | "resolve" | "reject" | "escalate" => handlers.contains(&caller),
                    "confirm" | "reopen" | "withdraw" => caller == reporter,
                    "reassign" => supervisors.contains(&caller),
                    _ => moderators.contains(&caller),
                };
                // Every caller holds a role in the demo community, so published requests are visible
                // to all of them (visibility itself is tested in requests_flow).
                let visible = true;
                let state_allowed = match (action, *status) {
                    ("accept", "submitted") => true,
                    ("start", "accepted") => true,
                    ("resolve" | "reject" | "escalate" | "withdraw" | "reassign", s) => {
                        ["submitted", "accepted", "in_progress"].contains(&s)
                    }
                    ("confirm" | "reopen", "resolved") => true,
                    _ => false, // release: nothing is held here
                };
                let expected: &[u16] = if !visible {
                    &[404]
                } else if !kind_allowed {
                    &[403]
                } else if !state_allowed {
                    &[409]
                } else {
                    &[200]
                };
                assert!(expected.contains(&code), "{action} on {status} by {caller}: {code}, expected {expected:?}");
            }
        }
    }
}
