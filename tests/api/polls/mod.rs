//! 邻自治 polls through HTTP: eligibility and its refusals, ballots exactly once (also raced from two
//! instances), vote changes with their history, receipts, proxy ballots, results and CSV, secret polls
//! that never put a voter beside a choice, the chain verified and an edited ballot found, and the
//! group election deliberations use.

mod flow;
mod group;
mod races;
mod secret;

use chrono::{Duration, Utc};
use ehome_api::platform::clock::Clock;
use ehome_entities::{household_member, member_role};
use ehome_tests::{Session, TestApp, demo::Demo};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

/// A poll body open now for a day; `patch` overrides fields.
pub fn poll_body(app: &TestApp, community: i64, patch: Value) -> Value {
    let now = app.clock.now();
    let mut body = json!({
        "community_id": community,
        "title": "小区东门是否增设快递柜",
        "options": ["同意", "反对", "弃权"],
        "scope": "community",
        "eligibility": "household",
        "secrecy": "secret",
        "results_visibility": "live",
        "allow_change": true,
        "opens_at": (now - Duration::minutes(1)).to_rfc3339(),
        "closes_at": (now + Duration::days(1)).to_rfc3339(),
    });
    if let (Some(body), Some(patch)) = (body.as_object_mut(), patch.as_object()) {
        for (key, value) in patch {
            body.insert(key.clone(), value.clone());
        }
    }
    body
}

/// Creates a poll as the demo committee and returns it with its option ids.
pub async fn create_poll(app: &TestApp, demo: &Demo, patch: Value) -> (i64, Vec<i64>) {
    let committee = app.dev_login("demo-committee").await;
    let response = app.post("/polls", Some(&committee.access), &poll_body(app, demo.community, patch)).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let options = created["poll"]["options"].as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect();
    (created["poll"]["id"].as_i64().unwrap(), options)
}

pub async fn vote(app: &TestApp, token: &str, poll: i64, options: &[i64]) -> reqwest::Response {
    app.post(&format!("/polls/{poll}/ballots"), Some(token), &json!({"option_ids": options})).await
}

/// `per_household` new residents in every demo household (signed in, made members directly in the
/// database, as an approved join request would), household by household.
pub async fn residents(app: &TestApp, demo: &Demo, per_household: usize, tag: &str) -> Vec<Vec<Session>> {
    let mut out = Vec::new();
    for (b, homes) in demo.households.iter().enumerate() {
        for (h, home) in homes.iter().enumerate() {
            let mut members = Vec::new();
            for i in 0..per_household {
                let session = app.dev_login(&format!("{tag}-{b}-{h}-{i}")).await;
                join(app, demo.community, *home, session.user_id).await;
                members.push(session);
            }
            out.push(members);
        }
    }
    out
}

pub async fn join(app: &TestApp, community: i64, household: i64, user: i64) {
    household_member::ActiveModel {
        household_id: Set(household),
        community_id: Set(community),
        user_id: Set(user),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    member_role::ActiveModel {
        community_id: Set(community),
        user_id: Set(user),
        role: Set("resident".to_owned()),
        scope_id: Set(0),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
}

/// Counted ballots, straight from the database.
pub async fn counted(app: &TestApp, poll: i64) -> usize {
    use ehome_entities::poll_ballot;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    poll_ballot::Entity::find()
        .filter(poll_ballot::Column::PollId.eq(poll))
        .filter(poll_ballot::Column::Counted.eq(true))
        .all(&app.db)
        .await
        .unwrap()
        .len()
}
