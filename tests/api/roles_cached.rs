//! Each instance keeps a caller's roles between requests (`authz::Actor::of`); a change through the
//! API — or the operator's CLI — replaces the user's role token in Redis before it answers, so the very
//! next request on any instance decides with the new roles.

use ehome_tests::{Session, TestApp, two_instances_on_redis};
use serde_json::{Value, json};

/// Two instances on one database and one Redis, the demo community loaded, with roles kept a minute
/// (so only the role token, never the entry's age, can make an instance reload).
async fn two_instances() -> (TestApp, TestApp, i64) {
    let (first, second) = two_instances_on_redis(&[("ACTOR_CACHE_TTL_MS", "60000")]).await;
    let community = first.seed_demo().await.community;
    (first, second, community)
}

async fn set_roles(app: &TestApp, committee: &Session, community: i64, member: i64, roles: Value) {
    let path = format!("/communities/{community}/members/{member}/roles");
    let response = app.put(&path, Some(&committee.access), &json!({ "roles": roles })).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// The committee's join-request list: 200 for a committee member, 403 for a resident.
async fn queue_status(app: &TestApp, who: &Session, community: i64) -> u16 {
    app.get(&format!("/communities/{community}/join-requests"), Some(&who.access)).await.status().as_u16()
}

#[tokio::test]
async fn a_role_granted_or_removed_on_one_instance_decides_the_next_request_on_the_other() {
    let (one, two, community) = two_instances().await;
    let committee = one.dev_login("demo-committee").await;
    let member = two.dev_login("demo-resident-1").await;
    // Instance two keeps the resident's roles: asked twice, refused twice.
    for _ in 0..2 {
        assert_eq!(queue_status(&two, &member, community).await, 403);
    }

    set_roles(&one, &committee, community, member.user_id, json!([{"role": "committee"}])).await;
    assert_eq!(queue_status(&two, &member, community).await, 200, "the grant is seen at once on the other instance");
    assert_eq!(queue_status(&two, &member, community).await, 200);

    set_roles(&one, &committee, community, member.user_id, json!([{"role": "resident"}])).await;
    assert_eq!(queue_status(&two, &member, community).await, 403, "the removal is seen at once on the other instance");
    assert_eq!(queue_status(&one, &member, community).await, 403, "and on the instance that made it");
}

#[tokio::test]
async fn the_operator_s_cli_revocation_is_seen_by_a_serving_instance_at_once() {
    let (one, two, community) = two_instances().await;
    let committee = one.dev_login("demo-committee").await;
    assert_eq!(queue_status(&two, &committee, community).await, 200);
    assert_eq!(queue_status(&two, &committee, community).await, 200);
    let revoke = ehome_api::cli::admin::AdminAction::Revoke {
        user: committee.user_id.to_string(),
        community,
        role: "committee".to_owned(),
        scope_ids: vec![],
    };
    // The CLI is another process with the same settings: it reaches the instances through Redis only.
    ehome_api::cli::admin::run(revoke, &one.db, &one.state.cache).await.unwrap();
    assert_eq!(queue_status(&two, &committee, community).await, 403);
}
