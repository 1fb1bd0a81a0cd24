//! The community's confirmation bonus (off by default, set by the committee, paid from issuance in
//! the confirming transaction), what each side is told on claim, done and confirmation, and a help
//! post's hours where activity hours are counted: the leaderboard (a board built before the
//! confirmation is added to), the certificate and the volunteering statistics, flagged 邻里互助.

use serde_json::{Value, json};

use super::{history, line, ok, post_need, world};

async fn help_notices(app: &ehome_tests::TestApp, token: &str) -> Vec<Value> {
    let inbox = app.get_json("/me/notifications?limit=100", Some(token)).await;
    inbox["items"].as_array().unwrap().iter().filter(|n| n["kind"] == "help_post").cloned().collect()
}

#[tokio::test]
async fn a_confirmation_pays_the_communitys_bonus_tells_each_side_and_counts_the_hours_everywhere() {
    let w = world().await;
    let app = &w.app;
    let community = w.demo.community;
    let settings = format!("/communities/{community}/help-posts/settings");
    assert_eq!(app.get_json(&settings, Some(&w.poster)).await["confirmation_bonus"], "0.00", "off by default");
    assert_eq!(app.put(&settings, Some(&w.poster), &json!({"confirmation_bonus": "5"})).await.status(), 403);
    let too_much = app.put(&settings, Some(&w.committee), &json!({"confirmation_bonus": "100.01"})).await;
    assert_eq!(too_much.status(), 400);
    let set = app.put(&settings, Some(&w.committee), &json!({"confirmation_bonus": "5"})).await;
    assert_eq!(set.status(), 200);
    assert_eq!(app.get_json(&settings, Some(&w.neighbour)).await["confirmation_bonus"], "5.00");

    // A board read before the confirmation is built (empty); the confirmation adds to it.
    let board_path = format!("/communities/{community}/leaderboard?period=month");
    assert_eq!(app.get_json(&board_path, Some(&w.poster)).await["items"], json!([]));

    let id = post_need(app, &w.poster, community, "10").await;
    ok(app, &w.helper, id, "claim", json!({})).await;
    let told = help_notices(app, &w.poster).await;
    assert_eq!(told.len(), 1, "the poster hears of the claim: {told:?}");
    assert!(told[0]["body"].as_str().unwrap().contains("帮忙买菜"), "{told:?}");
    ok(app, &w.helper, id, "complete", json!({})).await;
    let told = help_notices(app, &w.poster).await;
    assert_eq!(told.len(), 2, "and of the help done: {told:?}");
    assert!(told[0]["body"].as_str().unwrap().contains("请确认"), "{told:?}");
    assert!(help_notices(app, &w.helper).await.is_empty(), "the helper has not been told anything yet");

    let confirmed = ok(app, &w.poster, id, "confirm", json!({"minutes": 90})).await;
    assert_eq!((confirmed["paid"].as_str(), confirmed["bonus"].as_str()), (Some("10.00"), Some("5.00")));
    assert_eq!(app.points_of(w.helper_id).await, ("15.00".to_owned(), "0.00".to_owned()));
    let helper_told = help_notices(app, &w.helper).await;
    assert_eq!(helper_told.len(), 1, "{helper_told:?}");
    assert!(helper_told[0]["body"].as_str().unwrap().contains("15.00"), "{helper_told:?}");
    let lines = history(app, &w.helper).await;
    assert_eq!(lines[..2], [line("邻里互助", "credited", "+5.00"), line("邻里互助", "credited", "+10.00")]);

    // The hours: on the board built before, flagged apart; on the certificate; in the statistics.
    let board = app.get_json(&board_path, Some(&w.poster)).await;
    let first = &board["items"][0];
    assert_eq!((first["hours"].as_str(), first["neighbour_aid_hours"].as_str()), (Some("1.50"), Some("1.50")));
    let certificate = app.get("/me/hours/certificate.csv", Some(&w.helper)).await.text().await.unwrap();
    assert!(certificate.contains(&format!(",邻里互助 #{id},")), "{certificate}");
    assert!(certificate.contains(",1.50,邻里互助\r\n") && certificate.contains(",合计,,1.50,\r\n"), "{certificate}");
    let day = app.get_json("/me/hours", Some(&w.helper)).await["neighbour_aid_items"][0]["service_day"].clone();
    let day = day.as_str().unwrap();
    let query = format!("period=day&from={day}&to={day}");
    let stats = app.get_json(&format!("/communities/{community}/stats?{query}"), Some(&w.committee)).await;
    let totals = &stats["volunteering"]["totals"];
    assert_eq!((totals["hours_served"].as_str(), totals["neighbour_aid_hours"].as_str()), (Some("1.50"), Some("1.50")));
    assert_eq!(totals["volunteers_active"], 1, "{stats}");
    let csv = app.get(&format!("/communities/{community}/volunteering.csv?{query}"), Some(&w.committee)).await;
    assert!(csv.text().await.unwrap().contains("合计,0,1,1.50,1.50,0\r\n"));

    // Turned off again, a later confirmation pays the reward alone.
    app.put(&settings, Some(&w.committee), &json!({"confirmation_bonus": "0"})).await;
    let second = post_need(app, &w.poster, community, "1").await;
    ok(app, &w.helper, second, "claim", json!({})).await;
    ok(app, &w.helper, second, "complete", json!({})).await;
    let plain = ok(app, &w.poster, second, "confirm", json!({})).await;
    assert_eq!((plain["paid"].as_str(), plain["bonus"].as_str()), (Some("1.00"), Some("0.00")));
    assert_eq!(app.points_of(w.helper_id).await.0, "16.00");
    app.assert_books_verify().await;
}
