//! What the hours scene reads of this one, through `activities::service` on the test app's database:
//! an activity's facts and attendance, who may organise it, the one status change it makes (once,
//! however many racers), the volunteers' profiles and the committee's figures.

use chrono::Duration;
use ehome_api::authz::Actor;
use ehome_api::domain::{ActivityId, CommunityId, UserId};
use ehome_api::identity::auth::AuthUser;
use ehome_api::platform::error::ApiError;
use ehome_api::scenes::activities::error::ActivityError;
use ehome_api::scenes::activities::lifecycle::Status;
use ehome_api::scenes::activities::service;
use serde_json::{Value, json};

use super::demo;

#[tokio::test]
async fn the_hours_scene_reads_attendance_and_approves_hours_once() {
    let (app, demo, s) = demo(&["demo-committee", "demo-resident-1", "demo-leader"]).await;
    let community = demo.community;
    let committee = &s["demo-committee"].access;
    let leader = &s["demo-resident-1"];
    let team = json!({"community_id": community, "name": "环境美化队", "leader_id": leader.user_id});
    let team: Value = app.post_json("/teams", Some(committee), &team).await;
    let starts_at = app.now() + Duration::minutes(10);
    let extra = json!({"team_id": team["id"], "starts_at": starts_at, "ends_at": starts_at + Duration::hours(2),
        "points_per_hour": "8.00"});
    let id = app.published_activity(&leader.access, community, extra).await;
    let people = app.bulk_volunteers(community, "hours", 2).await;
    for person in &people {
        app.sign_up(&person.access, id).await;
    }
    let code = app.checkin_code(committee, id).await;
    let checkin = app.post(&format!("/activities/{id}/checkin"), Some(&people[0].access), &json!({"code": code})).await;
    assert_eq!(checkin.status(), 200);

    let facts = service::activity_for_hours(&app.db, ActivityId(id)).await.unwrap();
    assert_eq!(facts.community_id, CommunityId(community));
    assert_eq!(facts.team_leader_id, Some(UserId(leader.user_id)));
    assert_eq!(facts.points_per_hour_minor, 800);
    assert_eq!(facts.status, Status::Published);
    assert_eq!(facts.starts_at.timestamp(), starts_at.timestamp());
    let load = |user: i64| Actor::load(&app.db, AuthUser { id: UserId(user) });
    assert!(service::may_organise(&load(leader.user_id).await.unwrap(), &facts).await, "the team's leader");
    assert!(service::may_organise(&load(s["demo-committee"].user_id).await.unwrap(), &facts).await);
    assert!(!service::may_organise(&load(s["demo-leader"].user_id).await.unwrap(), &facts).await);

    let attendance = service::attendance(&app.db, ActivityId(id)).await.unwrap();
    assert_eq!(attendance.len(), 2);
    assert_eq!(attendance[0].user_id, UserId(people[0].user_id));
    assert!(attendance[0].checked_in_at.is_some() && attendance[1].checked_in_at.is_none());

    let now = app.now();
    let early = service::mark_hours_approved(&app.db, ActivityId(id), now).await;
    assert!(matches!(early, Err(ApiError::Activities(ActivityError::InvalidTransition { .. }))), "not ended yet");
    assert_eq!(app.activity_action(committee, id, "start").await.status(), 200);
    assert_eq!(app.activity_action(committee, id, "end").await.status(), 200);
    let (a, b) = tokio::join!(
        service::mark_hours_approved(&app.db, ActivityId(id), now),
        service::mark_hours_approved(&app.db, ActivityId(id), now)
    );
    assert_eq!([a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(), 1, "approved once");
    let facts = service::activity_for_hours(&app.db, ActivityId(id)).await.unwrap();
    assert_eq!(facts.status, Status::HoursApproved);

    let counted = app.post(&format!("/activities/{id}/beneficiaries"), Some(committee), &json!({"count": 12})).await;
    assert_eq!(counted.status(), 200);
    let from = now - Duration::days(1);
    let figures =
        service::activity_figures(&app.db, CommunityId(community), from, from + Duration::days(2)).await.unwrap();
    assert_eq!((figures.activities_held, figures.people_served, figures.teams), (1, 12, 1));
    let profiles = service::volunteer_profiles(&app.db, CommunityId(community)).await.unwrap();
    assert!(profiles[&UserId(leader.user_id)].leaderboard_consent);
    assert_eq!(profiles.len(), 3, "the demo's volunteer and the two made here");
}
