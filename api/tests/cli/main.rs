//! The `ehome` program as a person runs it: no configuration at all in an empty directory, and prod
//! mode without a secret.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

const EHOME: &str = env!("CARGO_BIN_EXE_ehome");

struct Running {
    child: Child,
    dir: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn empty_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ehome-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts `ehome` with a clean environment (only PATH and HOME), on a free port, and returns the port
/// it printed.
fn start_bare(dir: PathBuf) -> (Running, u16) {
    let mut child = Command::new(EHOME)
        .current_dir(&dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("EHOME_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let port = loop {
        let line = lines.next().expect("ehome printed its address").unwrap();
        if let Some(rest) = line.split("(port ").nth(1) {
            break rest.trim_end_matches(')').parse().unwrap();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Running { child, dir }, port)
}

#[tokio::test]
async fn runs_on_a_bare_machine_with_demo_data() {
    let (running, port) = start_bare(empty_dir());
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    assert_eq!(client.get(format!("{base}/healthz")).send().await.unwrap().status(), 200);
    assert!(running.dir.join("ehome.db").exists(), "the SQLite file is created in the working directory");
    assert!(running.dir.join("ehome.db.jwt_secret").exists(), "the dev JWT secret is kept beside it");

    let login: Value = client
        .post(format!("{base}/api/v1/auth/dev-login"))
        .json(&json!({"openid": "demo-committee"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap();
    let me: Value =
        client.get(format!("{base}/api/v1/me")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    assert!(me["roles"].as_array().unwrap().iter().any(|r| r["role"] == "committee"), "demo data was seeded: {me}");
    let communities: Value =
        client.get(format!("{base}/api/v1/communities")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    assert_eq!(communities["items"][0]["name"], "新芝社区");
}

#[test]
fn prod_refuses_to_start_without_a_strong_secret() {
    let dir = empty_dir();
    for secret in [None, Some("short")] {
        let mut command = Command::new(EHOME);
        command
            .current_dir(&dir)
            .env_clear()
            .env("EHOME_ENV", "prod")
            .env("EHOME_BIND", "127.0.0.1:0")
            .env("WECHAT_APPID", "wx1")
            .env("WECHAT_SECRET", "secret");
        if let Some(secret) = secret {
            command.env("JWT_SECRET", secret);
        }
        let output = command.output().unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("JWT_SECRET"), "{stderr}");
    }
    assert!(!dir.join("ehome.db").exists(), "nothing was created before refusing");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `ehome` with only a database configured, in `dir`.
fn ehome_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(EHOME)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", "sqlite://books.db?mode=rwc")
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test]
async fn ledger_verify_exits_non_zero_on_a_tampered_book() {
    let dir = empty_dir();
    let bench = ehome_in(&dir, &["ledger", "bench", "--clients", "4", "--seconds", "1", "--accounts", "20"]);
    assert!(bench.status.success(), "bench: {}", String::from_utf8_lossy(&bench.stderr));
    let clean = ehome_in(&dir, &["ledger", "verify"]);
    assert!(clean.status.success(), "a clean book verifies: {}", String::from_utf8_lossy(&clean.stdout));

    // Change one stored amount behind the ledger's back, as only the database's owner can: the
    // append-only trigger has to go first.
    let url = format!("sqlite://{}?mode=rw", dir.join("books.db").display());
    let db = sea_orm::Database::connect(url).await.unwrap();
    use sea_orm::ConnectionTrait;
    db.execute_unprepared("DROP TRIGGER ledger_transfers_no_update").await.unwrap();
    let changed = db
        .execute_unprepared("UPDATE ledger_transfers SET amount = amount + 1 WHERE rowid = (SELECT MIN(rowid) FROM ledger_transfers WHERE amount > 0)")
        .await
        .unwrap();
    assert_eq!(changed.rows_affected(), 1);
    db.close().await.unwrap();

    let tampered = ehome_in(&dir, &["ledger", "verify"]);
    assert!(!tampered.status.success(), "a tampered book fails verification");
    let report = format!("{}{}", String::from_utf8_lossy(&tampered.stdout), String::from_utf8_lossy(&tampered.stderr));
    assert!(report.to_lowercase().contains("hash"), "the report names the broken hash: {report}");
    let _ = std::fs::remove_dir_all(&dir);
}
