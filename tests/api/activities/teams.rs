//! Teams: formed by the committee or a social worker with an approved volunteer as leader; the
//! leader manages members, who must be approved volunteers; a team's name is public text.

use ehome_tests::error_code;
use serde_json::{Value, json};

use super::demo;

#[tokio::test]
async fn teams_have_a_leader_and_approved_volunteers_as_members() {
    let names = ["demo-committee", "demo-resident-1", "demo-resident-2", "demo-resident-3"];
    let (app, demo, s) = demo(&names).await;
    let community = demo.community;
    let committee = &s["demo-committee"].access;
    let (leader, member, outsider) = (&s["demo-resident-1"], &s["demo-resident-2"], &s["demo-resident-3"]);
    app.approved_volunteer(community, leader, committee).await;
    app.approved_volunteer(community, member, committee).await;

    let not_volunteer =
        json!({"community_id": community, "name": "环境美化志愿服务团队", "leader_id": outsider.user_id});
    let response = app.post("/teams", Some(committee), &not_volunteer).await;
    assert_eq!(response.status(), 400, "the leader must be an approved volunteer");
    let body = json!({"community_id": community, "name": "环境美化志愿服务团队", "description": "每月一次楼道清洁",
        "leader_id": leader.user_id});
    let by_resident = app.post("/teams", Some(&member.access), &body).await;
    assert_eq!(by_resident.status(), 403);
    let response = app.post("/teams", Some(committee), &body).await;
    assert_eq!(response.status(), 201);
    let team: Value = response.json().await.unwrap();
    let team_id = team["id"].as_i64().unwrap();

    let members = format!("/teams/{team_id}/members");
    let refused = app.post(&members, Some(&outsider.access), &json!({"user_id": member.user_id})).await;
    assert_eq!(refused.status(), 403, "only the leader or an organiser manages members");
    let not_approved = app.post(&members, Some(&leader.access), &json!({"user_id": outsider.user_id})).await;
    assert_eq!((not_approved.status().as_u16(), error_code(not_approved).await.as_str()), (403, "NOT_A_VOLUNTEER"));
    let added = app.post(&members, Some(&leader.access), &json!({"user_id": member.user_id})).await;
    assert_eq!(added.status(), 200);
    let twice = app.post(&members, Some(&leader.access), &json!({"user_id": member.user_id})).await;
    assert_eq!(twice.status(), 200, "adding a member twice changes nothing");
    let detail: Value = twice.json().await.unwrap();
    let ids: Vec<i64> = detail["members"].as_array().unwrap().iter().map(|m| m["user_id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![leader.user_id, member.user_id]);

    let listed = app.get_json(&format!("/teams?community_id={community}"), Some(&outsider.access)).await;
    assert_eq!(listed["items"][0]["name"], "环境美化志愿服务团队");
    assert_eq!(listed["items"][0]["member_count"], 2);

    let leader_out = app.request(reqwest::Method::DELETE, &format!("{members}/{}", leader.user_id), Some(committee));
    assert_eq!(leader_out.send().await.unwrap().status(), 400, "the leader stays");
    let removed = app.request(reqwest::Method::DELETE, &format!("{members}/{}", member.user_id), Some(&leader.access));
    let removed = removed.send().await.unwrap();
    assert_eq!(removed.status(), 200);
    let detail = app.get_json(&format!("/teams/{team_id}"), Some(&member.access)).await;
    assert_eq!(detail["team"]["member_count"], 1);
}
