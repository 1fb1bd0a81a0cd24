//! SIGTERM under load, to the real `ehome` binary: a request in flight (its body still arriving)
//! finishes and is answered, new connections are refused, the background jobs stop at a safe point,
//! the process exits 0, and every write it acknowledged is in the database.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `target/debug/ehome`, built beside this test binary (`target/debug/deps/api-…`).
pub(super) fn ehome_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let binary = exe.parent().and_then(|deps| deps.parent()).unwrap().join("ehome");
    assert!(binary.exists(), "{} is missing: build the workspace first (scripts/test.sh does)", binary.display());
    binary
}

/// Reads a pipe to the end on a thread of its own, so the child never blocks on a full pipe.
pub(super) fn drain(mut pipe: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let text = Arc::new(Mutex::new(Vec::new()));
    let sink = text.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    text
}

/// Waits for the `(port N)` the binary prints once it listens.
pub(super) async fn port_of(output: &Arc<Mutex<Vec<u8>>>, child: &mut Child) -> u16 {
    let started = Instant::now();
    loop {
        let text = String::from_utf8_lossy(&output.lock().unwrap()).into_owned();
        if let Some(rest) = text.split("(port ").nth(1)
            && let Some((port, _)) = rest.split_once(')')
        {
            return port.parse().unwrap();
        }
        assert!(child.try_wait().unwrap().is_none(), "ehome exited early:\n{text}");
        assert!(started.elapsed() < Duration::from_secs(30), "ehome did not listen:\n{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Clients signing new residents in (each sign-in creates a user) until told to stop; returns the
/// openids the server acknowledged.
fn load(port: u16, clients: usize, stop: Arc<AtomicBool>) -> Vec<tokio::task::JoinHandle<Vec<String>>> {
    (0..clients)
        .map(|client| {
            let stop = stop.clone();
            tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    .pool_max_idle_per_host(0)
                    .timeout(Duration::from_secs(20))
                    .build()
                    .unwrap();
                let mut acknowledged = Vec::new();
                let mut i = 0;
                while !stop.load(Ordering::Acquire) && i < 10_000 {
                    let openid = format!("load-{client}-{i}");
                    i += 1;
                    let answer = http
                        .post(format!("http://127.0.0.1:{port}/api/v1/auth/dev-login"))
                        .json(&json!({ "openid": openid }))
                        .send()
                        .await;
                    match answer {
                        Ok(answer) if answer.status() == 200 => acknowledged.push(openid),
                        Ok(_) => {}
                        // Refused once the server stops accepting: this client is done.
                        Err(_) => break,
                    }
                }
                acknowledged
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_finishes_what_is_in_flight_refuses_the_rest_and_exits_zero() {
    let dir = std::env::temp_dir().join(format!("ehome-shutdown-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let wechat = ehome_tests::FakeWechat::start().await;
    let mut child = Command::new(ehome_binary())
        .current_dir(&dir)
        .env_clear()
        .env("EHOME_BIND", "127.0.0.1:0")
        .env("EHOME_SEED_DEMO", "0")
        .env("EHOME_SHUTDOWN_TIMEOUT_SECONDS", "10")
        .env("REQUEST_JOB_INTERVAL_SECONDS", "1")
        .env("RATE_LOGIN_PER_IP_PER_MINUTE", "1000000")
        .env("RUST_LOG", "info")
        .env("WECHAT_APPID", ehome_tests::TEST_APPID)
        .env("WECHAT_SECRET", ehome_tests::TEST_WECHAT_SECRET)
        .env("WECHAT_API_BASE", wechat.base_url())
        .env("JWT_SECRET", ehome_tests::TEST_JWT_SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let port = port_of(&stdout, &mut child).await;

    let stop = Arc::new(AtomicBool::new(false));
    let clients = load(port, 8, stop.clone());
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // A request in flight: its headers are in, half its body is sent.
    let body = json!({ "openid": "in-flight-at-sigterm" }).to_string();
    let (first_half, second_half) = body.split_at(body.len() / 2);
    let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    // A first request on the same connection, answered, proves the server accepted it (not merely the
    // kernel's backlog, which a stopping server would reset).
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.unwrap();
    let mut first = Vec::new();
    while !String::from_utf8_lossy(&first).contains(r#"{"status":"ok"}"#) {
        let mut chunk = [0u8; 1024];
        let n = tokio::time::timeout(Duration::from_secs(10), slow.read(&mut chunk)).await.unwrap().unwrap();
        assert!(n > 0, "the connection closed before /healthz answered");
        first.extend_from_slice(&chunk[..n]);
    }
    let head = format!(
        "POST /api/v1/auth/dev-login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(first_half.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let terminated = Instant::now();
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());

    // New connections are refused while the one in flight still runs.
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            break;
        }
        assert!(terminated.elapsed() < Duration::from_secs(3), "still accepting connections after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(child.try_wait().unwrap().is_none(), "exited with a request in flight");

    slow.write_all(second_half.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut answer)).await.unwrap().unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "the request in flight was answered: {answer}");

    let exited = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(terminated.elapsed() < Duration::from_secs(20), "ehome did not exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    stop.store(true, Ordering::Release);
    let mut acknowledged = vec!["in-flight-at-sigterm".to_owned()];
    for client in clients {
        acknowledged.extend(client.await.unwrap());
    }
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&stdout.lock().unwrap()),
        String::from_utf8_lossy(&stderr.lock().unwrap())
    );
    assert!(exited.success(), "exit status {exited:?}:\n{logs}");
    assert!(logs.contains("background jobs stopped at a safe point"), "{logs}");
    assert!(acknowledged.len() > 10, "the load was real: {} sign-ins", acknowledged.len());

    use ehome_entities::user;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let url = format!("sqlite://{}?mode=rw", dir.join("ehome.db").display());
    let db = ehome_test_harness::connect(&url, 1).await;
    let mut found = 0;
    for chunk in acknowledged.chunks(500) {
        found += user::Entity::find().filter(user::Column::Openid.is_in(chunk.to_vec())).count(&db).await.unwrap();
    }
    assert_eq!(found, acknowledged.len() as u64, "every acknowledged sign-in is stored");
    db.close().await.ok();
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "{} acknowledged sign-ins, all stored; exit 0 {:?} after SIGTERM",
        acknowledged.len(),
        terminated.elapsed()
    );
}
