use ehome_tests::{error_code, spawn_app};
use serde_json::{Value, json};

#[tokio::test]
async fn household_claims_are_decided_by_that_buildings_leader_only() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [committee, leader, newcomer] = app.dev_logins(["demo-committee", "demo-leader", "demo-newcomer"]).await;
    let (community, buildings) = (demo.community, &demo.buildings);
    let (building1_homes, building2_homes) = (&demo.households[0], &demo.households[1]);

    // A second leader, of building 2, appointed by the committee.
    let other_leader = app.dev_login("leader-of-building-2").await;
    let appointed = app
        .put(
            &format!("/communities/{community}/members/{}/roles", other_leader.user_id),
            Some(&committee.access),
            &json!({"roles": [{"role": "building_leader", "scope_ids": [buildings[1]]}]}),
        )
        .await;
    assert_eq!(appointed.status(), 200);

    // The newcomer binds a phone so we can check masking, then claims a home in building 1.
    app.wechat.add_phone_code("phone-1", "13812345678");
    let bound: Value = app.post_json("/me/phone", Some(&newcomer.access), &json!({"code": "phone-1"})).await;
    assert_eq!(bound["phone"], "13812345678", "the owner sees the whole number");

    let claim = app
        .post(
            &format!("/households/{}/join-requests", building1_homes[2]),
            Some(&newcomer.access),
            &json!({"note": "我是新搬来的"}),
        )
        .await;
    assert_eq!(claim.status(), 201);
    let claim: Value = claim.json().await.unwrap();
    let claim_id = claim["id"].as_i64().unwrap();

    let duplicate = app
        .post(&format!("/households/{}/join-requests", building1_homes[3]), Some(&newcomer.access), &json!({}))
        .await;
    assert_eq!(duplicate.status(), 409);
    assert_eq!(error_code(duplicate).await, "JOIN_REQUEST_EXISTS");

    // The leader sees it with the phone masked; the other leader does not see it.
    let listed: Value =
        app.get_json(&format!("/communities/{community}/join-requests?status=pending"), Some(&leader.access)).await;
    let mine = listed["items"].as_array().unwrap().iter().find(|r| r["id"] == claim_id).expect("listed for its leader");
    assert_eq!(mine["applicant"]["phone"], "138****5678");
    let other_list: Value =
        app.get_json(&format!("/communities/{community}/join-requests"), Some(&other_leader.access)).await;
    assert!(other_list["items"].as_array().unwrap().iter().all(|r| r["id"] != claim_id));
    let resident = app.dev_login("demo-resident-2").await;
    assert_eq!(app.get(&format!("/communities/{community}/join-requests"), Some(&resident.access)).await.status(), 403);

    // The leader of another building and a plain resident may not decide it.
    let refused = app.post(&format!("/join-requests/{claim_id}/approve"), Some(&other_leader.access), &json!({})).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(error_code(refused).await, "FORBIDDEN");
    assert_eq!(
        app.post(&format!("/join-requests/{claim_id}/approve"), Some(&resident.access), &json!({})).await.status(),
        403
    );
    assert_eq!(
        app.post(&format!("/join-requests/{claim_id}/reject"), Some(&newcomer.access), &json!({})).await.status(),
        403
    );

    // Its own leader approves; a second decision is a conflict.
    let approved = app
        .post(&format!("/join-requests/{claim_id}/approve"), Some(&leader.access), &json!({"note": "核实无误"}))
        .await;
    assert_eq!(approved.status(), 200);
    let approved: Value = approved.json().await.unwrap();
    assert_eq!(approved["status"], "approved");
    let again = app.post(&format!("/join-requests/{claim_id}/reject"), Some(&leader.access), &json!({})).await;
    assert_eq!(again.status(), 409);
    assert_eq!(error_code(again).await, "JOIN_REQUEST_NOT_PENDING");

    let me: Value = app.get_json("/me", Some(&newcomer.access)).await;
    assert_eq!(me["households"][0]["household_id"], building1_homes[2]);
    assert!(me["roles"].as_array().unwrap().iter().any(|r| r["role"] == "resident" && r["community_id"] == community));

    // One household per community: a further claim is refused.
    let second_home = app
        .post(&format!("/households/{}/join-requests", building2_homes[0]), Some(&newcomer.access), &json!({}))
        .await;
    assert_eq!(second_home.status(), 409);
    assert_eq!(error_code(second_home).await, "ALREADY_MEMBER");

    // Rejection by the right leader (of building 2) for someone else's claim.
    let stranger = app.dev_login("stranger").await;
    let claim: Value = app
        .post_json(&format!("/households/{}/join-requests", building2_homes[1]), Some(&stranger.access), &json!({}))
        .await;
    let claim_id = claim["id"].as_i64().unwrap();
    assert_eq!(
        app.post(&format!("/join-requests/{claim_id}/reject"), Some(&leader.access), &json!({})).await.status(),
        403
    );
    let rejected: Value = app
        .post_json(
            &format!("/join-requests/{claim_id}/reject"),
            Some(&other_leader.access),
            &json!({"note": "查无此人"}),
        )
        .await;
    assert_eq!(rejected["status"], "rejected");
    let stranger_me: Value = app.get_json("/me", Some(&stranger.access)).await;
    assert!(stranger_me["households"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn roles_are_validated_against_the_community() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [committee, target, admin] = app.dev_logins(["demo-committee", "future-volunteer", "demo-admin"]).await;
    let (community, buildings) = (demo.community, &demo.buildings);
    let path = format!("/communities/{community}/members/{}/roles", target.user_id);

    for (body, code) in [
        (json!({"roles": [{"role": "building_leader"}]}), "INVALID_ROLE"),
        (json!({"roles": [{"role": "volunteer", "scope_ids": [buildings[0]]}]}), "INVALID_ROLE"),
        (json!({"roles": [{"role": "building_leader", "scope_ids": [999999]}]}), "INVALID_ROLE"),
        (json!({"roles": [{"role": "emperor"}]}), "VALIDATION_FAILED"),
    ] {
        let response = app.put(&path, Some(&committee.access), &body).await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(error_code(response).await, code, "{body}");
    }

    // A new community elsewhere: a building there is not a scope here.
    let other = app.create_other_community(&admin.access).await;
    let foreign = app
        .put(
            &path,
            Some(&committee.access),
            &json!({"roles": [{"role": "building_leader", "scope_ids": [other.building]}]}),
        )
        .await;
    assert_eq!(foreign.status(), 400);
    // The committee of one community cannot touch another's roles.
    let elsewhere = app
        .put(
            &format!("/communities/{}/members/{}/roles", other.community, target.user_id),
            Some(&committee.access),
            &json!({"roles": []}),
        )
        .await;
    assert_eq!(elsewhere.status(), 403);

    let set = app.put(&path, Some(&committee.access), &json!({"roles": [{"role": "volunteer"}, {"role": "building_leader", "scope_ids": [buildings[2], buildings[3]]}]})).await;
    assert_eq!(set.status(), 200);
    let read: Value = app.get_json(&path, Some(&target.access)).await;
    let roles = read["roles"].as_array().unwrap();
    assert_eq!(roles.len(), 2);
    assert!(
        roles.iter().any(|r| r["role"] == "building_leader" && r["scope_ids"] == json!([buildings[2], buildings[3]]))
    );
}
