//! A backup taken while the real `ehome` binary serves writes (issue 16, item 6): residents submit
//! 邻办事 requests through HTTP and `ehome ledger bench` posts transfers into the same SQLite file while
//! `ehome backup` runs; the backup is restored into a fresh directory with `ehome restore`. The restored
//! books verify, every request acknowledged before the backup began is there, and every request there
//! is whole (it has its timeline).

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use super::shutdown::{drain, ehome_binary, port_of};

/// The environment every `ehome` of this test runs with, in `dir` (its SQLite file is `dir/ehome.db`).
fn ehome(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(ehome_binary());
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("EHOME_BIND", "127.0.0.1:0")
        .env("REQUEST_JOB_INTERVAL_SECONDS", "0")
        .env("REQUEST_SUBMISSIONS_PER_HOUR", "100000")
        .env("RATE_WRITES_PER_USER_PER_MINUTE", "1000000")
        .env("RATE_LOGIN_PER_IP_PER_MINUTE", "1000000")
        .env("RUST_LOG", "warn")
        .env("WECHAT_APPID", ehome_tests::TEST_APPID)
        .env("WECHAT_SECRET", ehome_tests::TEST_WECHAT_SECRET)
        .env("JWT_SECRET", ehome_tests::TEST_JWT_SECRET);
    command
}

fn run(mut command: Command) -> Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed ({:?}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A resident submitting requests until told to stop (at most 2,000); returns the ids acknowledged
/// with 201, in order, through `acknowledged` so the test can look at them while the client runs.
fn resident(
    base: String,
    token: String,
    category: i64,
    stop: Arc<AtomicBool>,
    acknowledged: Arc<std::sync::Mutex<Vec<i64>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
        for i in 0..2_000 {
            if stop.load(Ordering::Acquire) {
                break;
            }
            let body =
                json!({ "category_id": category, "title": format!("楼道灯不亮 {i}"), "description": "请尽快处理" });
            let answer = http.post(format!("{base}/requests")).bearer_auth(&token).json(&body).send().await.unwrap();
            assert_eq!(answer.status(), 201, "{}", answer.text().await.unwrap_or_default());
            let answer: Value = answer.json().await.unwrap();
            acknowledged.lock().unwrap().push(answer["request"]["id"].as_i64().unwrap());
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_serving_restores_to_everything_acknowledged_before_it_and_verifies() {
    let root = std::env::temp_dir().join(format!("ehome-backup-{}", uuid::Uuid::new_v4().simple()));
    let (live, restored) = (root.join("live"), root.join("restored"));
    std::fs::create_dir_all(&live).unwrap();
    std::fs::create_dir_all(&restored).unwrap();
    let backup_file = root.join("ehome-backup.db");

    let mut server = ehome(&live, &["serve"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let stdout = drain(server.stdout.take().unwrap());
    let _stderr = drain(server.stderr.take().unwrap());
    let port = port_of(&stdout, &mut server).await;
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let http = reqwest::Client::new();
    let mut tokens = Vec::new();
    for openid in ["demo-resident-1", "demo-resident-2", "demo-resident-3"] {
        let session: Value = http
            .post(format!("{base}/auth/dev-login"))
            .json(&json!({ "openid": openid }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.push(session["access_token"].as_str().unwrap().to_owned());
    }
    let categories: Value = http
        .get(format!("{base}/communities/1/categories"))
        .bearer_auth(&tokens[0])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let category = categories["items"][0]["id"].as_i64().unwrap_or_else(|| panic!("a category in {categories}"));

    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::new()));
    let clients: Vec<_> = tokens
        .iter()
        .map(|token| resident(base.clone(), token.clone(), category, stop.clone(), acknowledged.clone()))
        .collect();
    // The books take transfers at the same time, from another process on the same file.
    let mut bench = ehome(&live, &["ledger", "bench", "--clients", "2", "--seconds", "4", "--accounts", "20"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let bench_output = drain(bench.stderr.take().unwrap());
    while acknowledged.lock().unwrap().len() < 30 {
        assert!(server.try_wait().unwrap().is_none(), "ehome serve exited");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Everything acknowledged by now committed before the backup's snapshot can begin.
    let before_backup: Vec<i64> = acknowledged.lock().unwrap().clone();
    let backup_file_name = backup_file.to_str().unwrap().to_owned();
    let backup = tokio::task::spawn_blocking({
        let live = live.clone();
        move || run(ehome(&live, &["backup", "--to", &backup_file_name]))
    })
    .await
    .unwrap();
    let during_backup = acknowledged.lock().unwrap().len() - before_backup.len();
    stop.store(true, Ordering::Release);
    for client in clients {
        client.await.unwrap();
    }
    let bench_status = bench.wait().unwrap();
    assert!(bench_status.success(), "ledger bench: {}", String::from_utf8_lossy(&bench_output.lock().unwrap()));
    let _ = server.kill();
    let _ = server.wait();

    // A second backup to the same name is refused without --force.
    let refused = ehome(&live, &["backup", "--to", backup_file.to_str().unwrap()]).output().unwrap();
    assert!(!refused.status.success(), "an existing backup was overwritten without --force");
    let onto_itself = ehome(&live, &["backup", "--to", "ehome.db", "--force"]).output().unwrap();
    assert!(!onto_itself.status.success(), "the database was backed up onto itself");

    run(ehome(&restored, &["restore", "--from", backup_file.to_str().unwrap()]));
    let verify = run(ehome(&restored, &["ledger", "verify"]));
    assert!(String::from_utf8_lossy(&verify.stdout).contains("OK"), "{}", String::from_utf8_lossy(&verify.stdout));
    let again = ehome(&restored, &["restore", "--from", backup_file.to_str().unwrap()]).output().unwrap();
    assert!(!again.status.success(), "restore replaced an existing database without --force");

    // With PostgreSQL configured both commands name PostgreSQL's own tools and fail.
    for (args, tool) in [(["backup", "--to"], "pg_dump"), (["restore", "--from"], "pg_restore")] {
        let mut command = ehome(&restored, &[args[0], args[1], backup_file.to_str().unwrap()]);
        let answer = command.env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none").output().unwrap();
        assert_eq!(answer.status.code(), Some(2), "{args:?} with PostgreSQL");
        assert!(String::from_utf8_lossy(&answer.stderr).contains(tool), "{args:?} names {tool}");
    }

    use ehome_entities::{request_event, service_request};
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};
    let url = format!("sqlite://{}?mode=ro", restored.join("ehome.db").display());
    let db = ehome_test_harness::connect(&url, 1).await;
    let found = service_request::Entity::find()
        .filter(service_request::Column::Id.is_in(before_backup.clone()))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(found, before_backup.len() as u64, "every request acknowledged before the backup began is restored");
    let restored_ids: Vec<i64> = service_request::Entity::find()
        .select_only()
        .column(service_request::Column::Id)
        .into_tuple()
        .all(&db)
        .await
        .unwrap();
    let with_timeline: Vec<i64> = request_event::Entity::find()
        .select_only()
        .column(request_event::Column::RequestId)
        .distinct()
        .into_tuple()
        .all(&db)
        .await
        .unwrap();
    let half_applied: Vec<&i64> = restored_ids.iter().filter(|id| !with_timeline.contains(id)).collect();
    assert!(half_applied.is_empty(), "requests restored without their timeline: {half_applied:?}");
    db.close().await.ok();
    eprintln!(
        "{} requests acknowledged before the backup, all restored; {during_backup} acknowledged while it ran; {} requests \
         in the backup, each whole; ledger verified. {}",
        before_backup.len(),
        restored_ids.len(),
        String::from_utf8_lossy(&backup.stderr).trim()
    );
    let _ = std::fs::remove_dir_all(&root);
}
