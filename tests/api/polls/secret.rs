//! A secret poll: who voted is recorded apart from what, and no response of any poll route — to the
//! voter, their housemates, the building leader, the committee or an admin — puts a voter beside a
//! choice. Every poll route in the route table is called, so a new route is covered or this fails.

use std::collections::BTreeSet;

use ehome_api::platform::config::Environment;
use ehome_tests::spawn_app;
use serde_json::{Value, json};

use super::{create_poll, vote};

/// Keys that would name a person on a ballot, and keys that would carry an individual's choice.
const VOTER_KEYS: &[&str] = &["cast_by", "cast_by_name", "voter_key", "voter_tag", "user_id", "household_id"];
const CHOICE_KEYS: &[&str] = &["option_ids", "choices", "choice", "ballots"];

fn keys(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                out.insert(key.clone());
                keys(inner, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| keys(item, out)),
        _ => {}
    }
}

fn assert_unlinked(what: &str, body: &str) {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        // The CSV: only totals, no names.
        assert!(!body.contains("demo-"), "{what}: {body}");
        return;
    };
    let mut found = BTreeSet::new();
    keys(&value, &mut found);
    let voter: Vec<_> = VOTER_KEYS.iter().filter(|k| found.contains(**k)).collect();
    let choice: Vec<_> = CHOICE_KEYS.iter().filter(|k| found.contains(**k)).collect();
    assert!(choice.is_empty(), "{what} carries an individual's choice {choice:?}: {body}");
    assert!(voter.is_empty() || what.contains("representative"), "{what} names a voter {voter:?}: {body}");
}

#[tokio::test]
async fn no_poll_route_links_a_voter_and_a_choice() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let (poll, options) = create_poll(&app, &demo, json!({"secrecy": "secret"})).await;
    let [one, two, three, leader, committee, admin] = app
        .dev_logins([
            "demo-resident-1",
            "demo-resident-2",
            "demo-resident-3",
            "demo-leader",
            "demo-committee",
            "demo-admin",
        ])
        .await;
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let mut check = |method: &str, template: &str, what: String, body: String| {
        seen.insert((method.to_owned(), format!("/api/v1{template}")));
        assert_unlinked(&what, &body);
    };
    let mut receipts = Vec::new();
    for (session, choice) in [(&one, 0), (&two, 1), (&three, 1), (&one, 2)] {
        let response = vote(&app, &session.access, poll, &[options[choice]]).await;
        assert_eq!(response.status(), 201);
        let body = response.text().await.unwrap();
        receipts.push(serde_json::from_str::<Value>(&body).unwrap()["receipt"].as_str().unwrap().to_owned());
        check("POST", "/polls/{id}/ballots", "ballot".into(), body);
    }
    let proxy = json!({"household_id": demo.households[0][2], "option_ids": [options[0]], "note": "纸质选票"});
    let response = app.post(&format!("/polls/{poll}/proxy-ballots"), Some(&leader.access), &proxy).await;
    assert_eq!(response.status(), 201);
    check("POST", "/polls/{id}/proxy-ballots", "proxy ballot".into(), response.text().await.unwrap());
    let created = app.post("/polls", Some(&committee.access), &super::poll_body(&app, demo.community, json!({}))).await;
    check("POST", "/polls", "create".into(), created.text().await.unwrap());
    let path = format!("/households/{}/representative", demo.households[0][0]);
    let named = app.put(&path, Some(&leader.access), &json!({"user_id": one.user_id})).await;
    assert_eq!(named.status(), 200);
    check("PUT", "/households/{id}/representative", "representative".into(), named.text().await.unwrap());

    for session in [&one, &two, &three, &leader, &committee, &admin] {
        let gets = [
            ("/polls", format!("/polls?community_id={}", demo.community)),
            ("/polls/{id}", format!("/polls/{poll}")),
            ("/polls/{id}/results", format!("/polls/{poll}/results")),
            ("/polls/{id}/results.csv", format!("/polls/{poll}/results.csv")),
        ];
        for (template, path) in gets {
            let response = app.get(&path, Some(&session.access)).await;
            assert_eq!(response.status(), 200, "{path}");
            check("GET", template, path.clone(), response.text().await.unwrap());
        }
        for receipt in &receipts {
            let path = format!("/polls/{poll}/receipts/{receipt}");
            let response = app.get(&path, Some(&session.access)).await;
            assert_eq!(response.status(), 200);
            check("GET", "/polls/{id}/receipts/{hash}", path, response.text().await.unwrap());
        }
    }
    let table: BTreeSet<(String, String)> = ehome_api::routes::route_table(Environment::Dev)
        .into_iter()
        .filter(|(_, path)| path.starts_with("/api/v1/polls") || path.ends_with("/representative"))
        .collect();
    let missed: Vec<_> = table.difference(&seen).collect();
    assert!(missed.is_empty(), "poll routes not checked: {missed:?}");
}
