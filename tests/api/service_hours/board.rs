//! Leaderboards: hours, not points; opted-out volunteers anonymous; a board rebuilt from the
//! database equals the one kept up incrementally; answered from the database when the cache is not
//! built.

use std::sync::Arc;

use ehome_api::domain::{CommunityId, UserId};
use ehome_api::platform::cache::{Cache, UnreachableCache};
use ehome_api::platform::clock::Clock;
use ehome_api::scenes::service_hours::leaderboard::{self, Period, Standing};
use ehome_tests::spawn_app;
use indicatif::ProgressBar;
use serde_json::Value;

use super::setup::{approve, at_time, ended_activity, sign_up, volunteer};

fn lines(board: &Value) -> Vec<(Option<i64>, String, String)> {
    board["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{board}"))
        .iter()
        .map(|i| {
            (i["user_id"].as_i64(), i["name"].as_str().unwrap().to_owned(), i["hours"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn opted_out_volunteers_are_anonymous_and_a_rebuilt_board_equals_the_incremental_one() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [committee, a, b] = at_time(&app, "2026-11-29T12:00:00+08:00", ["demo-committee", "board-a", "board-b"]).await;
    volunteer(&app, &demo, a.user_id, true, Some("不公开的真名")).await;
    volunteer(&app, &demo, b.user_id, false, None).await;
    let first =
        ended_activity(&app, &demo, "第一场", "2026-11-28T09:00:00+08:00", "2026-11-28T12:00:00+08:00", 100).await;
    sign_up(&app, first, a.user_id, Some("2026-11-28T09:00:00+08:00"), Some("2026-11-28T12:00:00+08:00")).await;
    sign_up(&app, first, b.user_id, Some("2026-11-28T09:00:00+08:00"), Some("2026-11-28T10:00:00+08:00")).await;
    assert_eq!(approve(&app, &committee.access, first, None).await.0, 200);
    let path = format!("/communities/{}/leaderboard?period=month&by=hours", demo.community);
    // The first read builds the board from the database.
    let board = app.get_json(&path, Some(&committee.access)).await;
    // Shown by nickname (a dev sign-in's default), never by the private real name.
    assert_eq!(
        lines(&board),
        [(Some(a.user_id), "邻居".to_owned(), "3.00".to_owned()), (None, "匿名志愿者".to_owned(), "1.00".to_owned())]
    );
    assert!(!board.to_string().contains("不公开的真名"), "real names stay private");
    // The second activity is counted incrementally after its approval commits.
    let second =
        ended_activity(&app, &demo, "第二场", "2026-11-29T08:00:00+08:00", "2026-11-29T11:00:00+08:00", 100).await;
    sign_up(&app, second, b.user_id, Some("2026-11-29T08:00:00+08:00"), Some("2026-11-29T11:00:00+08:00")).await;
    assert_eq!(approve(&app, &committee.access, second, None).await.0, 200);
    let incremental = app.get_json(&path, Some(&committee.access)).await;
    assert_eq!(lines(&incremental)[0], (None, "匿名志愿者".to_owned(), "4.00".to_owned()));
    for period in ["year", "all"] {
        let other = app.get_json(&path.replace("month", period), Some(&committee.access)).await;
        assert_eq!(lines(&other), lines(&incremental), "{period}");
    }
    ehome_api::cli::leaderboard::rebuild(
        &app.db,
        &app.state.cache,
        Some(CommunityId(demo.community)),
        app.clock.now(),
        &ProgressBar::hidden(),
    )
    .await
    .unwrap();
    let rebuilt = app.get_json(&path, Some(&committee.access)).await;
    assert_eq!(rebuilt, incremental, "a rebuilt board equals the incremental one");
    // Points are not a leaderboard; a stranger to the community reads none.
    let by_points = app.get(&format!("{path}&by=points").replace("by=hours&", ""), Some(&committee.access)).await;
    assert_eq!(by_points.status(), 400);
    let stranger = app.dev_login("board-stranger").await;
    assert_eq!(app.get(&path, Some(&stranger.access)).await.status(), 403);
}

#[tokio::test]
async fn with_the_cache_down_the_board_is_answered_from_the_database() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [committee, a] = at_time(&app, "2026-11-29T12:00:00+08:00", ["demo-committee", "down-a"]).await;
    let id =
        ended_activity(&app, &demo, "缓存故障", "2026-11-28T09:00:00+08:00", "2026-11-28T11:00:00+08:00", 100).await;
    sign_up(&app, id, a.user_id, Some("2026-11-28T09:00:00+08:00"), Some("2026-11-28T11:00:00+08:00")).await;
    assert_eq!(approve(&app, &committee.access, id, None).await.0, 200);
    let community = CommunityId(demo.community);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
    let down: Cache = Arc::new(UnreachableCache);
    let answered = leaderboard::top(&app.db, &down, community, Period::Month, today, 10).await.unwrap();
    assert_eq!(answered, vec![Standing { user: UserId(a.user_id), minutes: 120 }]);
    let cached = leaderboard::top(&app.db, &app.state.cache, community, Period::Month, today, 10).await.unwrap();
    assert_eq!(cached, answered);
}
