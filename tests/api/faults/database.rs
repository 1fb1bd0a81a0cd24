//! PostgreSQL going away mid-service: requests fail fast with `503 DATABASE_UNAVAILABLE` and
//! `Retry-After`, `/readyz` says so at once, and service resumes by itself when the database is back,
//! with every acknowledged write still there. The app reaches PostgreSQL through a proxy the test cuts.

use std::time::{Duration, Instant};

use ehome_tests::{Backend, Session, TcpProxy, TestApp, error_code, fresh_shared, spawn_app_on};
use serde_json::json;

/// How long one request may take once the outage is known.
const FAST: Duration = Duration::from_millis(500);

async fn rename(app: &TestApp, session: &Session, nickname: &str) -> reqwest::Response {
    app.patch("/me", Some(&session.access), &json!({ "nickname": nickname })).await
}

/// Polls `/readyz` until it answers `status`, for at most `within`.
async fn ready_becomes(app: &TestApp, status: u16, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if app.get("/readyz", None).await.status() == status {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "/readyz did not answer {status} within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_fail_fast_while_the_database_is_away_and_service_resumes_by_itself() {
    if Backend::from_env() != Backend::Postgres {
        // SQLite is a file inside the process: it cannot go away while the process runs.
        return;
    }
    let shared = fresh_shared().await;
    let server = TcpProxy::host_port(&shared.database.url);
    let proxy = TcpProxy::start(&server).await;
    let through_proxy = shared.database.url.replace(&server, &format!("127.0.0.1:{}", proxy.port));
    let direct = shared.database.clone();
    let app = spawn_app_on(shared, &[("DATABASE_URL", &through_proxy), ("DATABASE_ACQUIRE_TIMEOUT_MS", "2000")]).await;

    let sessions = app.dev_logins(["outage-a", "outage-b", "outage-c"]).await;
    for (i, session) in sessions.iter().enumerate() {
        assert_eq!(rename(&app, session, &format!("before-{i}")).await.status(), 200);
    }

    proxy.cut();
    let noticed = ready_becomes(&app, 503, Duration::from_secs(10)).await;
    let ready: serde_json::Value = app.get_json("/readyz", None).await;
    assert_eq!((ready["status"].as_str(), ready["database"].as_str()), (Some("not_ready"), Some("failing")));
    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        let session = &sessions[i % sessions.len()];
        let started = Instant::now();
        let answer = if i % 2 == 0 {
            app.get("/me", Some(&session.access)).await
        } else {
            rename(&app, session, &format!("during-{i}")).await
        };
        let took = started.elapsed();
        slowest = slowest.max(took);
        assert_eq!(answer.status(), 503, "request {i}");
        assert_eq!(answer.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
        assert_eq!(error_code(answer).await, "DATABASE_UNAVAILABLE");
        assert!(took < FAST, "request {i} took {took:?} once the outage was known");
    }
    let started = Instant::now();
    assert_eq!(app.get("/readyz", None).await.status(), 503);
    assert!(started.elapsed() < FAST, "/readyz took {:?}", started.elapsed());
    assert_eq!(app.get("/healthz", None).await.status(), 200, "the process lives on");

    proxy.restore();
    let resumed = ready_becomes(&app, 200, Duration::from_secs(15)).await;
    let me = app.get_json("/me", Some(&sessions[0].access)).await;
    assert_eq!(me["nickname"], "before-0", "acknowledged before the outage; the outage's writes were refused");
    assert_eq!(rename(&app, &sessions[1], "after").await.status(), 200);

    use ehome_entities::user;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let db = direct.connect(1).await;
    let names: Vec<String> = user::Entity::find()
        .filter(user::Column::Openid.is_in(["outage-a", "outage-b", "outage-c"]))
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.nickname)
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(names, ["after", "before-0", "before-2"]);
    eprintln!(
        "outage noticed by /readyz after {noticed:?}; slowest of 20 refused requests {slowest:?}; \
         service resumed {resumed:?} after the restore"
    );
}
