//! What the server writes to its logs: the real `ehome` binary at the most verbose level, signing a
//! resident in through the fake WeChat, never prints the session key, the app secret or a token.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use ehome_tests::FakeWechat;
use serde_json::{Value, json};

/// `target/debug/ehome`, built beside this test binary (`target/debug/deps/api-…`).
fn ehome_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let binary = exe.parent().and_then(|deps| deps.parent()).unwrap().join("ehome");
    assert!(binary.exists(), "{} is missing: build the workspace first (scripts/test.sh does)", binary.display());
    binary
}

#[tokio::test]
async fn secrets_never_reach_the_log() {
    let wechat = FakeWechat::start().await;
    wechat.add_login_code("code-for-logs", "openid-logs", Some("unionid-logs"));
    let dir = std::env::temp_dir().join(format!("ehome-logs-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(ehome_binary())
        .current_dir(&dir)
        .env_clear()
        .env("EHOME_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "trace")
        .env("WECHAT_APPID", ehome_tests::TEST_APPID)
        .env("WECHAT_SECRET", ehome_tests::TEST_WECHAT_SECRET)
        .env("WECHAT_API_BASE", wechat.base_url())
        .env("JWT_SECRET", ehome_tests::TEST_JWT_SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    // The port is on the first stdout line; read byte by byte until it appears.
    let mut printed = Vec::new();
    let port: u16 = loop {
        let mut byte = [0u8; 1];
        assert_eq!(stdout.read(&mut byte).unwrap(), 1, "ehome exited early");
        printed.push(byte[0]);
        let text = String::from_utf8_lossy(&printed);
        if let Some(rest) = text.split("(port ").nth(1)
            && let Some(port) = rest.split(')').next().filter(|_| rest.contains(')'))
        {
            break port.parse().unwrap();
        }
    };
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let login: Value = client
        .post(format!("{base}/auth/wechat/login"))
        .json(&json!({"code": "code-for-logs"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = login["access_token"].as_str().unwrap().to_owned();
    let refresh = login["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(client.get(format!("{base}/me")).bearer_auth(&access).send().await.unwrap().status(), 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let mut logs = String::new();
    stderr.read_to_string(&mut logs).unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    logs.push_str(&String::from_utf8_lossy(&printed));
    logs.push_str(&rest);
    let _ = std::fs::remove_dir_all(&dir);

    assert!(logs.contains("signed in with WeChat"), "the log is really captured:\n{logs}");
    let keys = wechat.issued_session_keys();
    assert_eq!(keys.len(), 1);
    for secret in [keys[0].as_str(), ehome_tests::TEST_WECHAT_SECRET, ehome_tests::TEST_JWT_SECRET, &access, &refresh] {
        assert!(!logs.contains(secret), "a secret reached the log: {secret}");
    }
}
