//! 100 members of 20 households vote at once through two instances: exactly 20 ballots count, whether
//! the poll refuses a second ballot (each household's first wins) or allows changes (the last wins).

use ehome_api::scenes::polls::service;
use ehome_tests::{spawn_app, spawn_app_sharing};
use serde_json::json;

use super::{counted, create_poll, residents};

async fn race(allow_change: bool) {
    let app = spawn_app().await;
    let other = spawn_app_sharing(&app).await;
    let demo = app.seed_demo().await;
    let households = residents(&app, &demo, 5, if allow_change { "change" } else { "fixed" }).await;
    assert_eq!(households.len(), 20);
    let (poll, options) = create_poll(&app, &demo, json!({"allow_change": allow_change})).await;
    let mut tasks = Vec::new();
    for (h, members) in households.iter().enumerate() {
        for (m, member) in members.iter().enumerate() {
            let (instance, token) =
                (if (h + m) % 2 == 0 { app.address.clone() } else { other.address.clone() }, member.access.clone());
            let option = options[(h + m) % options.len()];
            let client = app.client.clone();
            tasks.push(tokio::spawn(async move {
                let response = client
                    .post(format!("{instance}/api/v1/polls/{poll}/ballots"))
                    .bearer_auth(token)
                    .json(&json!({"option_ids": [option]}))
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let body: serde_json::Value = response.json().await.unwrap();
                (status, body["error"]["code"].as_str().unwrap_or("").to_owned())
            }));
        }
    }
    let answers: Vec<(u16, String)> = futures::future::join_all(tasks).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(answers.len(), 100);
    let accepted = answers.iter().filter(|(status, _)| *status == 201).count();
    for (status, code) in &answers {
        assert!(
            *status == 201 || (*status == 409 && (code == "ALREADY_VOTED" || code == "BALLOT_RACE")),
            "every request is answered with a ballot or a clear refusal: {status} {code}"
        );
    }
    if !allow_change {
        assert_eq!(accepted, 20, "each household's first ballot, and only that, is accepted");
    }
    assert_eq!(counted(&app, poll).await, 20, "exactly one counted ballot per household");
    let (_, found) = service::verify(&app.db, poll, |_| {}).await.unwrap();
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    assert_eq!(found.counted, 20);
    assert_eq!(found.ballots as usize, accepted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_members_of_twenty_households_on_two_instances_count_twenty() {
    race(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_changes_on_two_instances_still_count_one_per_household() {
    race(true).await;
}
