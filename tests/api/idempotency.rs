//! `Idempotency-Key` on every POST that creates or changes something: the route table, the rule in
//! `platform::idempotency` and `openapi.yaml` agree (a scene's new POST is covered and documented, or
//! named as an exception with its reason), and through HTTP a retried request answers as the first
//! did and leaves one row — a 邻办事 submission, a comment, a join request, a ballot.

use std::collections::BTreeSet;

use ehome_api::platform::config::Environment;
use ehome_api::platform::idempotency::{FAIL_CLOSED, NOT_COVERED, applies_to, fails_closed};
use ehome_api::platform::ops::OPENAPI_YAML;
use ehome_entities::{join_request, poll_ballot, request_event, service_request};
use ehome_tests::{TestApp, error_code, spawn_app};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::polls::create_poll;

const CODES: [&str; 3] = ["IDEMPOTENCY_KEY_REUSED", "IDEMPOTENCY_KEY_IN_PROGRESS", "IDEMPOTENCY_KEY_IN_DOUBT"];

fn resolve<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(target) => spec.pointer(&target[1..]).unwrap_or_else(|| panic!("{target} resolves")),
        None => value,
    }
}

/// The error codes a documented response lists (its `enum`, wherever the schema nests it).
fn listed_codes(value: &Value, codes: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(items)) = map.get("enum") {
                codes.extend(items.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            map.values().for_each(|inner| listed_codes(inner, codes));
        }
        Value::Array(items) => items.iter().for_each(|inner| listed_codes(inner, codes)),
        _ => {}
    }
}

/// What the spec says about `Idempotency-Key` on one operation: whether it takes the header, the
/// codes its 409 lists, and those of its 503.
fn documented(spec: &Value, path: &str, method: &str) -> (bool, BTreeSet<String>, BTreeSet<String>) {
    let op = &spec["paths"][path][method.to_ascii_lowercase()];
    assert!(op.is_object(), "{method} {path} is not in openapi.yaml");
    let takes = op["parameters"].as_array().into_iter().flatten().any(|parameter| {
        parameter["$ref"] == "#/components/parameters/IdempotencyKey"
            || resolve(spec, parameter)["name"]
                .as_str()
                .is_some_and(|name| name.eq_ignore_ascii_case("idempotency-key"))
    });
    let codes_of = |status: &str| {
        let mut codes = BTreeSet::new();
        if let Some(response) = op["responses"].get(status) {
            listed_codes(resolve(spec, response), &mut codes);
        }
        codes
    };
    (takes, codes_of("409"), codes_of("503"))
}

/// Adding a POST to a scene makes it covered; the spec must then say so (the header and its 409 codes,
/// and for one that moves points or a vote its 503), or the route must be named in `NOT_COVERED`.
#[test]
fn every_post_takes_the_key_or_is_named_as_an_exception() {
    let spec: Value = serde_yaml_ng::from_str(OPENAPI_YAML).expect("openapi.yaml is YAML");
    let table = ehome_api::routes::route_table(Environment::Dev);
    let routed: BTreeSet<(String, String)> = table.iter().cloned().collect();
    for (method, path) in NOT_COVERED.iter().chain(FAIL_CLOSED) {
        assert!(
            routed.contains(&((*method).to_owned(), (*path).to_owned())),
            "{method} {path} is listed but not routed"
        );
    }
    let mut problems = Vec::new();
    let mut covered = 0;
    for (method, path) in &table {
        let takes_key = applies_to(method, path);
        let excused = NOT_COVERED.iter().any(|(m, p)| m == method && p == path);
        if method == "POST" && path.starts_with("/api/v1/") && !takes_key && !excused {
            problems.push(format!("{method} {path}: a POST neither covered nor named in NOT_COVERED"));
        }
        if takes_key && method != "POST" {
            problems.push(format!("{method} {path}: covered, but only POSTs are"));
        }
        if fails_closed(method, path) && !takes_key {
            problems.push(format!("{method} {path}: in FAIL_CLOSED but not covered"));
        }
        let (documents_key, conflicts, unavailable) = documented(&spec, path, method);
        if takes_key != documents_key {
            problems.push(format!("{method} {path}: takes the key: {takes_key}, openapi.yaml says {documents_key}"));
        }
        if takes_key {
            covered += 1;
            for code in CODES.iter().filter(|code| !conflicts.contains(**code)) {
                problems.push(format!("{method} {path}: its 409 does not list {code}"));
            }
        }
        if fails_closed(method, path) && !unavailable.contains("SERVICE_UNAVAILABLE") {
            problems.push(format!("{method} {path}: fails closed, but its 503 does not list SERVICE_UNAVAILABLE"));
        }
    }
    assert!(covered > 50, "only {covered} routes take the key");
    assert!(problems.is_empty(), "Idempotency-Key coverage:\n  {}", problems.join("\n  "));
}

/// Sends `body` to `path` as the holder of `token` with `Idempotency-Key: key`.
async fn keyed(app: &TestApp, path: &str, token: &str, key: &str, body: &Value) -> reqwest::Response {
    let request = app.request(Method::POST, path, Some(token)).header("Idempotency-Key", key).json(body);
    request.send().await.unwrap()
}

/// Sends the same keyed request twice and checks the second is the first's answer, replayed.
async fn twice(app: &TestApp, path: &str, token: &str, key: &str, body: &Value) -> Value {
    let first = keyed(app, path, token, key, body).await;
    let status = first.status();
    assert!(status.is_success(), "{path} answered {status}");
    let first: Value = first.json().await.unwrap();
    let again = keyed(app, path, token, key, body).await;
    assert_eq!(again.status(), status, "{path}: the retry answers as the first did");
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first, "{path}: the retry answers the first body");
    first
}

#[tokio::test]
async fn a_retried_submission_answers_the_same_request_and_makes_one_row() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let resident = app.dev_login("demo-resident-1").await;
    let title = "楼道灯不亮（重试）";
    let body = json!({"category_id": demo.category("repair"), "title": title, "description": "三楼楼道灯不亮"});
    let first = twice(&app, "/requests", &resident.access, "submit-1", &body).await;
    let id = first["request"]["id"].as_i64().unwrap();
    let rows = service_request::Entity::find().filter(service_request::Column::Title.eq(title)).count(&app.db).await;
    assert_eq!(rows.unwrap(), 1, "one request for one key");

    // The same key with another body is refused and runs nothing.
    let other = json!({"category_id": demo.category("repair"), "title": "另一件事", "description": "别的"});
    let reused = keyed(&app, "/requests", &resident.access, "submit-1", &other).await;
    assert_eq!(reused.status(), 409);
    assert_eq!(error_code(reused).await, "IDEMPOTENCY_KEY_REUSED");
    // Keys are per user: another resident's identical key is a request of their own.
    let neighbour = app.dev_login("demo-leader").await;
    let mut their_body = body.clone();
    their_body["building_id"] = json!(demo.buildings[0]);
    let theirs = keyed(&app, "/requests", &neighbour.access, "submit-1", &their_body).await;
    assert_eq!(theirs.status(), 201, "{}", theirs.text().await.unwrap());

    // A comment and a transition, retried.
    let comment = json!({"body": "已联系物业", "internal": false});
    twice(&app, &format!("/requests/{id}/comments"), &neighbour.access, "comment-1", &comment).await;
    let comments = request_event::Entity::find()
        .filter(request_event::Column::RequestId.eq(id))
        .filter(request_event::Column::Note.eq("已联系物业"))
        .count(&app.db)
        .await;
    assert_eq!(comments.unwrap(), 1, "one comment for one key");
    twice(&app, &format!("/requests/{id}/transitions"), &neighbour.access, "accept-1", &json!({"action": "accept"}))
        .await;
    assert_eq!(app.request_status(&resident.access, id).await, "accepted");
}

#[tokio::test]
async fn a_retried_join_request_and_ballot_make_one_row_each() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let newcomer = app.dev_login("demo-newcomer").await;
    let household = demo.households[0][4];
    twice(&app, &format!("/households/{household}/join-requests"), &newcomer.access, "join-1", &json!({})).await;
    let joins = join_request::Entity::find().filter(join_request::Column::UserId.eq(newcomer.user_id)).count(&app.db);
    assert_eq!(joins.await.unwrap(), 1);

    // The poll lets a voter change their vote, so a second ballot without the key would be a new row.
    let (poll, options) = create_poll(&app, &demo, json!({})).await;
    let resident = app.dev_login("demo-resident-1").await;
    let ballot = json!({"option_ids": [options[0]]});
    twice(&app, &format!("/polls/{poll}/ballots"), &resident.access, "ballot-1", &ballot).await;
    let ballots = poll_ballot::Entity::find().filter(poll_ballot::Column::PollId.eq(poll)).count(&app.db);
    assert_eq!(ballots.await.unwrap(), 1, "one ballot for one key");
}
