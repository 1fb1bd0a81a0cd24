//! The election deliberations run for a stakeholder group: a poll restricted to named people, one
//! secret ballot each, and its winners read after close.

use chrono::Duration;
use ehome_api::domain::{CommunityId, UserId};
use ehome_api::platform::clock::Clock;
use ehome_api::platform::content::PublicText;
use ehome_api::scenes::polls::service::{self, GroupElection};
use ehome_tests::{error_code, spawn_app};
use serde_json::Value;

use super::vote;

#[tokio::test]
async fn a_group_elects_its_representatives_by_named_ballots() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [a, b, c, outsider] = app.dev_logins(["group-a", "group-b", "group-c", "demo-resident-1"]).await;
    let now = app.clock.now();
    let text = |s: &str| PublicText::from_project(s.to_owned());
    let election = GroupElection {
        community: CommunityId(demo.community),
        created_by: UserId(demo.user("demo-committee")),
        group_ref: "deliberation_group:1".to_owned(),
        title: text("1号楼住户代表推选"),
        candidates: vec![
            (UserId(a.user_id), text("甲")),
            (UserId(b.user_id), text("乙")),
            (UserId(c.user_id), text("丙")),
        ],
        electors: vec![UserId(a.user_id), UserId(b.user_id), UserId(c.user_id)],
        seats: 2,
        opens_at: now - Duration::minutes(1),
        closes_at: now + Duration::hours(2),
    };
    let poll = service::create_group_poll(&app.db, election, now).await.unwrap();
    let detail: Value = app.get_json(&format!("/polls/{}", poll.id), Some(&a.access)).await;
    let options: Vec<i64> =
        detail["poll"]["options"].as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect();
    assert_eq!(detail["turnout"]["eligible"], 3);
    assert_eq!(vote(&app, &a.access, poll.id, &[options[1], options[2]]).await.status(), 201);
    assert_eq!(vote(&app, &b.access, poll.id, &[options[1]]).await.status(), 201);
    assert_eq!(vote(&app, &c.access, poll.id, &[options[0], options[1]]).await.status(), 201);
    assert_eq!(error_code(vote(&app, &outsider.access, poll.id, &[options[0]]).await).await, "NOT_AN_ELECTOR");
    assert_eq!(
        error_code(vote(&app, &a.access, poll.id, &options).await).await,
        "VALIDATION_FAILED",
        "three for two seats"
    );

    let early = service::group_poll_result(&app.db, poll.id, app.clock.now()).await.unwrap();
    assert!(!early.closed && early.winners.is_empty() && early.tallies.is_empty(), "nothing before close");
    assert_eq!(early.ballots_counted, 3);
    app.clock.advance(Duration::hours(3));
    let result = service::group_poll_result(&app.db, poll.id, app.clock.now()).await.unwrap();
    assert!(result.closed);
    assert_eq!(result.winners[0], UserId(b.user_id), "乙 has three votes");
    assert_eq!(result.winners.len(), 2);
    assert!(result.tie_at_cut, "甲 and 丙 have one vote each for the second seat");
}
