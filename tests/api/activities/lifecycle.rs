//! The activity lifecycle: drafted and edited by an organiser, published, started and ended by hand
//! or by the job at the scheduled times (once, however many instances run it), cancelled only before
//! it starts; residents see what is coming at their own building first.

use chrono::Duration;
use ehome_api::scenes::activities::jobs::run_once;
use ehome_tests::{error_code, spawn_app_sharing};
use serde_json::{Value, json};

use super::demo;

#[tokio::test]
async fn an_activity_moves_from_draft_to_ended_and_records_who_it_served() {
    let (app, demo, s) = demo(&["demo-committee", "demo-resident-1", "demo-social"]).await;
    let community = demo.community;
    let (committee, resident) = (&s["demo-committee"].access, &s["demo-resident-1"].access);

    let refused = app.post("/activities", Some(resident), &app.activity_body(community, json!({}))).await;
    assert_eq!(refused.status(), 403, "a resident organises nothing");
    let past = app.activity_body(community, json!({"starts_at": app.now() - Duration::hours(1)}));
    assert_eq!(app.post("/activities", Some(committee), &past).await.status(), 400);

    let draft = app.draft_activity(committee, community, json!({"points_per_hour": "12.50"})).await;
    let id = draft["id"].as_i64().unwrap();
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["points_per_hour"], "12.50");
    assert!(draft.get("checkin_secret").is_none(), "the secret never leaves the server");
    let default_rate = app.draft_activity(committee, community, json!({})).await;
    assert_eq!(default_rate["points_per_hour"], "10.00", "the community's default rate");
    assert_eq!(app.get(&format!("/activities/{id}"), Some(resident)).await.status(), 404, "a draft is the organisers'");

    let edited =
        app.patch(&format!("/activities/{id}"), Some(committee), &json!({"title": "楼道清洁日（第二期）"})).await;
    assert_eq!(edited.status(), 200);
    assert_eq!(edited.json::<Value>().await.unwrap()["title"], "楼道清洁日（第二期）");
    assert_eq!(app.activity_action(committee, id, "start").await.status(), 409, "a draft does not start");
    assert_eq!(app.activity_action(&s["demo-social"].access, id, "publish").await.status(), 200);
    let late_edit = app.patch(&format!("/activities/{id}"), Some(committee), &json!({"capacity": 5})).await;
    assert_eq!((late_edit.status().as_u16(), error_code(late_edit).await.as_str()), (409, "INVALID_TRANSITION"));
    let seen = app.get_json(&format!("/activities/{id}"), Some(resident)).await;
    assert_eq!(seen["status"], "published");
    let system =
        app.post(&format!("/activities/{id}/transitions"), Some(committee), &json!({"action": "end_due"})).await;
    assert_eq!(system.status(), 400, "the jobs' actions are not for people");

    let early = app.post(&format!("/activities/{id}/beneficiaries"), Some(committee), &json!({"count": 30})).await;
    assert_eq!(early.status(), 409, "people served are counted at or after the end");
    assert_eq!(app.activity_action(committee, id, "start").await.status(), 200);
    assert_eq!(app.activity_action(committee, id, "cancel").await.status(), 409, "a started activity is not cancelled");
    assert_eq!(app.activity_action(committee, id, "end").await.status(), 200);
    let counted = app.post(&format!("/activities/{id}/beneficiaries"), Some(committee), &json!({"count": 30})).await;
    assert_eq!(counted.status(), 200);
    assert_eq!(counted.json::<Value>().await.unwrap()["beneficiaries"], 30);
    let by_resident = app.post(&format!("/activities/{id}/beneficiaries"), Some(resident), &json!({"count": 3})).await;
    assert_eq!(by_resident.status(), 403);

    let other = app.published_activity(committee, community, json!({})).await;
    assert_eq!(app.activity_action(committee, other, "cancel").await.status(), 200);
    assert_eq!(app.get_json(&format!("/activities/{other}"), Some(resident)).await["status"], "cancelled");
}

#[tokio::test]
async fn a_team_leader_organises_their_team_s_activities_only() {
    let (app, demo, s) = demo(&["demo-committee", "demo-resident-1"]).await;
    let community = demo.community;
    let (committee, leader) = (&s["demo-committee"].access, &s["demo-resident-1"]);
    app.approved_volunteer(community, leader, committee).await;
    let team = json!({"community_id": community, "name": "助老服务队", "leader_id": leader.user_id});
    let team: Value = app.post_json("/teams", Some(committee), &team).await;
    let without_team = app.post("/activities", Some(&leader.access), &app.activity_body(community, json!({}))).await;
    assert_eq!(without_team.status(), 403);
    let extra = json!({"team_id": team["id"], "audience": "team"});
    let draft = app.draft_activity(&leader.access, community, extra).await;
    assert_eq!(draft["audience_id"], team["id"], "a team audience defaults to the activity's team");
    let id = draft["id"].as_i64().unwrap();
    assert_eq!(app.activity_action(&leader.access, id, "publish").await.status(), 200);
}

#[tokio::test]
async fn the_job_starts_and_ends_activities_once_on_two_instances() {
    let (app, demo, s) = demo(&["demo-committee"]).await;
    let other = spawn_app_sharing(&app).await;
    let committee = &s["demo-committee"].access;
    let id = app.published_activity(committee, demo.community, json!({})).await;
    assert_eq!(run_once(&app.state).await.unwrap().started, 0, "not before its start");
    app.clock.advance(Duration::hours(2) + Duration::minutes(1));
    let (a, b) = tokio::join!(run_once(&app.state), run_once(&other.state));
    assert_eq!(a.unwrap().started + b.unwrap().started, 1, "started once");
    let committee = app.dev_login("demo-committee").await.access;
    assert_eq!(app.get_json(&format!("/activities/{id}"), Some(&committee)).await["status"], "in_progress");
    app.clock.advance(Duration::hours(2));
    let (a, b) = tokio::join!(run_once(&app.state), run_once(&other.state));
    assert_eq!(a.unwrap().ended + b.unwrap().ended, 1, "ended once");
    let committee = app.dev_login("demo-committee").await.access;
    assert_eq!(app.get_json(&format!("/activities/{id}"), Some(&committee)).await["status"], "ended");
}

#[tokio::test]
async fn residents_see_upcoming_activities_at_their_building_first() {
    let (app, demo, s) = demo(&["demo-committee", "demo-resident-3"]).await;
    let community = demo.community;
    let committee = &s["demo-committee"].access;
    // demo-resident-3 lives in 2号楼 (第一网格); 3号楼 is in 第二网格.
    let (grid_1, building_2, building_3) = (demo.grids[0], demo.buildings[1], demo.buildings[2]);
    let soon = app.now() + Duration::hours(1);
    let elsewhere = app
        .published_activity(
            committee,
            community,
            json!({"building_id": building_3, "starts_at": soon,
            "ends_at": soon + Duration::hours(1)}),
        )
        .await;
    let in_grid = app.published_activity(committee, community, json!({"grid_id": grid_1})).await;
    let at_home = app
        .published_activity(
            committee,
            community,
            json!({"building_id": building_2,
        "starts_at": app.now() + Duration::hours(5), "ends_at": app.now() + Duration::hours(6)}),
        )
        .await;
    let draft = app.draft_activity(committee, community, json!({"building_id": building_2})).await;

    let listed = app.get_json("/activities", Some(&s["demo-resident-3"].access)).await;
    let ids: Vec<i64> = listed["items"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![at_home, in_grid, elsewhere], "own building, then own grid, then by start");
    assert!(!ids.contains(&draft["id"].as_i64().unwrap()));
    let first = app.get_json("/activities?limit=1", Some(&s["demo-resident-3"].access)).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = app.get_json(&format!("/activities?limit=5&cursor={cursor}"), Some(&s["demo-resident-3"].access)).await;
    let rest: Vec<i64> = rest["items"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect();
    assert_eq!(rest, vec![in_grid, elsewhere]);
    let drafts = app.get_json(&format!("/activities?community_id={community}&status=draft"), Some(committee)).await;
    assert_eq!(drafts["items"].as_array().unwrap().len(), 1, "organisers list their drafts");
}
