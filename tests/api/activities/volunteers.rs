//! Registration (skills from the community's list, private real name, consent) and approval, which
//! grants the `volunteer` role; nobody approves their own registration.

use ehome_tests::error_code;
use serde_json::{Value, json};

use super::demo;

#[tokio::test]
async fn registration_and_approval_grant_the_volunteer_role() {
    let (app, demo, s) = demo(&["demo-resident-2", "demo-social", "demo-committee", "demo-newcomer"]).await;
    let (resident, social) = (&s["demo-resident-2"], &s["demo-social"].access);
    let community = demo.community;

    let settings = app.get_json(&format!("/communities/{community}/volunteering"), Some(&resident.access)).await;
    let keys: Vec<&str> = settings["skills"].as_array().unwrap().iter().map(|s| s["key"].as_str().unwrap()).collect();
    assert!(keys.contains(&"elderly_care") && keys.contains(&"waste_sorting"), "{settings}");
    assert_eq!(settings["points_per_hour"], "10.00");

    let unknown = json!({"community_id": community, "skills": ["juggling"]});
    let response = app.post("/volunteers", Some(&resident.access), &unknown).await;
    assert_eq!((response.status().as_u16(), error_code(response).await.as_str()), (400, "VALIDATION_FAILED"));
    let outsider = json!({"community_id": community, "skills": ["environment"]});
    let response = app.post("/volunteers", Some(&s["demo-newcomer"].access), &outsider).await;
    assert_eq!(response.status(), 403, "only members of the community register there");

    let body = json!({"community_id": community, "skills": ["elderly_care", "repairs"], "available_times": "周末上午",
        "real_name": "李四", "leaderboard_consent": true});
    let response = app.post("/volunteers", Some(&resident.access), &body).await;
    assert_eq!(response.status(), 201);
    let registered: Value = response.json().await.unwrap();
    assert_eq!(registered["status"], "pending");
    assert_eq!(registered["skills"], json!(["elderly_care", "repairs"]));
    assert_eq!(registered["real_name"], "李四");
    let again = app.post("/volunteers", Some(&resident.access), &body).await;
    assert_eq!((again.status().as_u16(), error_code(again).await.as_str()), (409, "ALREADY_VOLUNTEER"));

    let listing = app.get(&format!("/volunteers?community_id={community}"), Some(&resident.access)).await;
    assert_eq!(listing.status(), 403, "a resident does not list volunteers");
    let pending = app.get_json(&format!("/volunteers?community_id={community}&status=pending"), Some(social)).await;
    let ids: Vec<i64> = pending["items"].as_array().unwrap().iter().map(|v| v["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![registered["id"].as_i64().unwrap()]);
    assert_eq!(pending["items"][0]["real_name"], "李四", "organisers read the real name");

    let path = format!("/volunteers/{}/decision", registered["id"]);
    let response = app.post(&path, Some(social), &json!({"decision": "approve", "note": "欢迎加入"})).await;
    assert_eq!(response.status(), 200);
    let approved: Value = response.json().await.unwrap();
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["decided_by"], json!(s["demo-social"].user_id));
    let twice = app.post(&path, Some(&s["demo-committee"].access), &json!({"decision": "decline"})).await;
    assert_eq!((twice.status().as_u16(), error_code(twice).await.as_str()), (409, "VOLUNTEER_NOT_PENDING"));

    let roles = app
        .get_json(&format!("/communities/{community}/members/{}/roles", resident.user_id), Some(&resident.access))
        .await;
    assert!(roles["roles"].as_array().unwrap().iter().any(|r| r["role"] == "volunteer"), "{roles}");
    let mine = app.get_json("/volunteers/me", Some(&resident.access)).await;
    assert_eq!(mine["items"][0]["status"], "approved");

    let own = format!("/volunteers/{}", registered["id"]);
    let change = json!({"leaderboard_consent": false, "skills": ["companionship"]});
    let by_other = app.patch(&own, Some(social), &change).await;
    assert_eq!(by_other.status(), 403, "only the volunteer changes their registration");
    let unknown = app.patch(&own, Some(&resident.access), &json!({"skills": ["juggling"]})).await;
    assert_eq!(unknown.status(), 400);
    let changed: Value = app.patch(&own, Some(&resident.access), &change).await.json().await.unwrap();
    assert_eq!(
        (changed["leaderboard_consent"].clone(), changed["skills"].clone(), changed["status"].clone()),
        (json!(false), json!(["companionship"]), json!("approved")),
        "consent withdrawn, the approval stands"
    );
    assert_eq!(changed["real_name"], "李四", "absent fields stay");
}

#[tokio::test]
async fn a_declined_volunteer_gets_no_role_and_nobody_approves_themself() {
    let (app, demo, s) = demo(&["demo-resident-3", "demo-committee", "demo-social"]).await;
    let community = demo.community;
    let body = json!({"community_id": community, "skills": ["civility"]});
    let own: Value = app.post_json("/volunteers", Some(&s["demo-committee"].access), &body).await;
    let path = format!("/volunteers/{}/decision", own["id"]);
    let refused = app.post(&path, Some(&s["demo-committee"].access), &json!({"decision": "approve"})).await;
    assert_eq!((refused.status().as_u16(), error_code(refused).await.as_str()), (403, "PARTY_TO_CASE"));
    let by_other = app.post(&path, Some(&s["demo-social"].access), &json!({"decision": "approve"})).await;
    assert_eq!(by_other.status(), 200, "another organiser decides it");

    let resident = &s["demo-resident-3"];
    let registered: Value = app.post_json("/volunteers", Some(&resident.access), &body).await;
    let path = format!("/volunteers/{}/decision", registered["id"]);
    let declined =
        app.post(&path, Some(&s["demo-social"].access), &json!({"decision": "decline", "note": "名额已满"})).await;
    assert_eq!(declined.status(), 200);
    let roles = app
        .get_json(&format!("/communities/{community}/members/{}/roles", resident.user_id), Some(&resident.access))
        .await;
    assert!(!roles["roles"].as_array().unwrap().iter().any(|r| r["role"] == "volunteer"), "{roles}");
    let again = app.post("/volunteers", Some(&resident.access), &body).await;
    assert_eq!(again.status(), 201, "a declined resident may register again");
}
