//! Eligibility and its codes, changes with history, representatives, proxy ballots, receipts, results,
//! CSV, and `ehome polls verify` finding an edited ballot.

use ehome_api::cli::polls::{PollsCommand, run};
use ehome_tests::{error_code, spawn_app};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use super::{counted, create_poll, join, vote};

#[tokio::test]
async fn eligibility_is_refused_with_its_code() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let (poll, options) =
        create_poll(&app, &demo, json!({"scope": "buildings", "scope_ids": [demo.buildings[0]]})).await;
    let [newcomer, elsewhere, resident] = app.dev_logins(["demo-newcomer", "demo-resident-3", "demo-resident-1"]).await;
    assert_eq!(error_code(vote(&app, &newcomer.access, poll, &options[..1]).await).await, "NO_HOUSEHOLD");
    assert_eq!(error_code(vote(&app, &elsewhere.access, poll, &options[..1]).await).await, "OUT_OF_SCOPE");
    let admin = app.dev_login("demo-admin").await;
    let other = app.create_other_community(&admin.access).await;
    let home: Value = app
        .post_json(
            &format!("/buildings/{}/households", other.building),
            Some(&admin.access),
            &json!({"label": "9-101"}),
        )
        .await;
    let stranger = app.dev_login("other-community-resident").await;
    join(&app, other.community, home["id"].as_i64().unwrap(), stranger.user_id).await;
    assert_eq!(error_code(vote(&app, &stranger.access, poll, &options[..1]).await).await, "NOT_IN_COMMUNITY");
    assert_eq!(app.get(&format!("/polls/{poll}"), Some(&stranger.access)).await.status(), 404);
    // Choices are checked: two in a single-choice poll, an option of no poll.
    assert_eq!(error_code(vote(&app, &resident.access, poll, &options[..2]).await).await, "VALIDATION_FAILED");
    assert_eq!(error_code(vote(&app, &resident.access, poll, &[999_999]).await).await, "VALIDATION_FAILED");
    assert_eq!(vote(&app, &resident.access, poll, &options[..1]).await.status(), 201);
    // Before it opens and after it closes, no ballot.
    app.clock.advance(chrono::Duration::days(2));
    let resident = app.dev_login("demo-resident-1").await;
    assert_eq!(error_code(vote(&app, &resident.access, poll, &options[..1]).await).await, "POLL_NOT_OPEN");
}

#[tokio::test]
async fn a_change_counts_the_last_ballot_and_keeps_the_history() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let (poll, options) = create_poll(&app, &demo, json!({})).await;
    let resident = app.dev_login("demo-resident-1").await;
    let first: Value = vote(&app, &resident.access, poll, &[options[0]]).await.json().await.unwrap();
    assert_eq!(first["replaced"], false);
    let second: Value = vote(&app, &resident.access, poll, &[options[1]]).await.json().await.unwrap();
    assert_eq!(second["replaced"], true);
    assert_eq!(counted(&app, poll).await, 1);
    let receipt = |r: &Value| format!("/polls/{poll}/receipts/{}", r["receipt"].as_str().unwrap());
    let old: Value = app.get_json(&receipt(&first), Some(&resident.access)).await;
    let new: Value = app.get_json(&receipt(&second), Some(&resident.access)).await;
    assert_eq!((old["counted"].clone(), new["counted"].clone()), (json!(false), json!(true)));
    assert_eq!(
        app.get(&format!("/polls/{poll}/receipts/{}", "0".repeat(64)), Some(&resident.access)).await.status(),
        404
    );
    let results: Value = app.get_json(&format!("/polls/{poll}/results"), Some(&resident.access)).await;
    assert_eq!(results["options"][0]["votes"], 0);
    assert_eq!(results["options"][1]["votes"], 1);
    assert_eq!(results["turnout"]["voted"], 1);
    assert_eq!(results["turnout"]["eligible"], 20, "the demo's 20 households");
    assert_eq!(results["chain_seq"], 2);
    let detail: Value = app.get_json(&format!("/polls/{poll}"), Some(&resident.access)).await;
    assert_eq!(detail["my_ballot"], json!({"voted": true, "proxy": false, "changes": 1}));

    // A poll without changes refuses a second ballot of the household, from any member.
    let (fixed, options) = create_poll(&app, &demo, json!({"allow_change": false})).await;
    assert_eq!(vote(&app, &resident.access, fixed, &[options[0]]).await.status(), 201);
    let housemate = app.dev_login("housemate").await;
    join(&app, demo.community, demo.households[0][0], housemate.user_id).await;
    assert_eq!(error_code(vote(&app, &housemate.access, fixed, &[options[1]]).await).await, "ALREADY_VOTED");
    assert_eq!(counted(&app, fixed).await, 1);

    // Once a representative is named, only they cast the household's ballot.
    let leader = app.dev_login("demo-leader").await;
    let path = format!("/households/{}/representative", demo.households[0][0]);
    let named = app.put(&path, Some(&leader.access), &json!({"user_id": resident.user_id})).await;
    assert_eq!(named.status(), 200);
    let (third, options) = create_poll(&app, &demo, json!({})).await;
    assert_eq!(error_code(vote(&app, &housemate.access, third, &[options[0]]).await).await, "NOT_REPRESENTATIVE");
    assert_eq!(vote(&app, &resident.access, third, &[options[0]]).await.status(), 201);
    let stranger = app.dev_login("demo-newcomer").await;
    let refused = app.put(&path, Some(&leader.access), &json!({"user_id": stranger.user_id})).await;
    assert_eq!(error_code(refused).await, "VALIDATION_FAILED");
}

#[tokio::test]
async fn a_proxy_ballot_and_a_phone_ballot_the_first_counts() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let (poll, options) = create_poll(&app, &demo, json!({"secrecy": "open"})).await;
    let [leader, first, second] = app.dev_logins(["demo-leader", "demo-resident-1", "demo-resident-2"]).await;
    let proxy = |household: i64| json!({"household_id": household, "option_ids": [options[0]], "note": "王奶奶口述，纸质选票存档"});
    let path = format!("/polls/{poll}/proxy-ballots");
    // 102 (demo-resident-2's): paper first, then the phone is refused.
    let recorded = app.post(&path, Some(&leader.access), &proxy(demo.households[0][1])).await;
    assert_eq!(recorded.status(), 201);
    assert_eq!(error_code(vote(&app, &second.access, poll, &[options[1]]).await).await, "PROXY_CONFLICT");
    // 101 (demo-resident-1's): phone first, then the paper is refused.
    assert_eq!(vote(&app, &first.access, poll, &[options[1]]).await.status(), 201);
    assert_eq!(
        error_code(app.post(&path, Some(&leader.access), &proxy(demo.households[0][0])).await).await,
        "PROXY_CONFLICT"
    );
    // Another building's household is not this leader's to record; a resident records nobody's.
    assert_eq!(
        error_code(app.post(&path, Some(&leader.access), &proxy(demo.households[1][0])).await).await,
        "FORBIDDEN"
    );
    assert_eq!(
        error_code(app.post(&path, Some(&first.access), &proxy(demo.households[0][2])).await).await,
        "FORBIDDEN"
    );
    assert_eq!(counted(&app, poll).await, 2);

    // An open poll's results name the ballots, per building, proxies marked with the leader.
    let results: Value = app.get_json(&format!("/polls/{poll}/results"), Some(&first.access)).await;
    let ballots = results["ballots"].as_array().unwrap();
    assert_eq!(ballots.len(), 2);
    let paper = ballots.iter().find(|b| b["proxy"] == true).unwrap();
    assert_eq!(paper["cast_by"], leader.user_id);
    assert_eq!(paper["proxy_note"], "王奶奶口述，纸质选票存档");
    let first_building = &results["buildings"][0];
    assert_eq!(first_building["turnout"], json!({"voted": 2, "eligible": 5}));
    let csv = app.get(&format!("/polls/{poll}/results.csv"), Some(&first.access)).await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("\u{FEFF}section,building,option,votes,voted,eligible\r\n"), "{text}");
    assert!(text.contains("building,1号楼,同意,1,2,5\r\n"), "{text}");
}

#[tokio::test]
async fn results_after_close_stay_hidden_until_then() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let (poll, options) = create_poll(&app, &demo, json!({"results_visibility": "after_close"})).await;
    let resident = app.dev_login("demo-resident-1").await;
    assert_eq!(vote(&app, &resident.access, poll, &[options[2]]).await.status(), 201);
    let committee = app.dev_login("demo-committee").await;
    for path in [format!("/polls/{poll}/results"), format!("/polls/{poll}/results.csv")] {
        assert_eq!(error_code(app.get(&path, Some(&committee.access)).await).await, "RESULTS_HIDDEN");
    }
    let detail: Value = app.get_json(&format!("/polls/{poll}"), Some(&committee.access)).await;
    assert_eq!(detail["turnout"], json!({"voted": 1, "eligible": 20}));
    app.clock.advance(chrono::Duration::days(2));
    let [committee, resident] = app.dev_logins(["demo-committee", "demo-resident-1"]).await;
    let results: Value = app.get_json(&format!("/polls/{poll}/results"), Some(&committee.access)).await;
    assert_eq!((results["final_count"].clone(), results["options"][2]["votes"].clone()), (json!(true), json!(1)));
    let listed: Value = app.get_json(&format!("/polls?community_id={}", demo.community), Some(&resident.access)).await;
    assert_eq!(listed["items"][0]["phase"], "closed");
}

#[tokio::test]
async fn verify_recounts_and_finds_an_edited_ballot() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let (poll, options) = create_poll(&app, &demo, json!({})).await;
    for (openid, choice) in
        [("demo-resident-1", 0), ("demo-resident-2", 1), ("demo-resident-3", 1), ("demo-resident-1", 1)]
    {
        let session = app.dev_login(openid).await;
        assert_eq!(vote(&app, &session.access, poll, &[options[choice]]).await.status(), 201);
    }
    let verify = |id| run(PollsCommand::Verify { id, json: true }, &app.db);
    assert_eq!(format!("{:?}", verify(poll).await.unwrap()), format!("{:?}", std::process::ExitCode::SUCCESS));
    let (_, found) = ehome_api::scenes::polls::service::verify(&app.db, poll, |_| {}).await.unwrap();
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    assert_eq!((found.ballots, found.counted), (4, 3));
    assert_eq!(found.tally.get(&options[1]), Some(&3));

    // Someone with the database edits a counted ballot's choice: the chain no longer holds.
    let sql = format!("UPDATE poll_ballots SET choices = '{}' WHERE poll_id = {poll} AND seq = 2", options[0]);
    app.db.execute_unprepared(&sql).await.unwrap();
    let (_, found) = ehome_api::scenes::polls::service::verify(&app.db, poll, |_| {}).await.unwrap();
    assert!(found.problems.iter().any(|p| p.contains("edited")), "{:?}", found.problems);
    assert_eq!(format!("{:?}", verify(poll).await.unwrap()), format!("{:?}", std::process::ExitCode::from(1)));
}
