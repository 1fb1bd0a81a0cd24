//! `openapi.yaml` stays honest: it documents exactly the routes the app registers, it is a sound
//! OpenAPI 3.1 document, the app serves it, and every documented operation answers with a status (and
//! error code) the document lists for it.

use std::collections::{BTreeSet, HashMap};

use ehome_api::platform::config::Environment;
use ehome_api::platform::ops::OPENAPI_YAML;
use ehome_tests::{TestApp, spawn_app};
use serde_json::{Value, json};

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

fn spec() -> Value {
    serde_yaml_ng::from_str::<Value>(OPENAPI_YAML).expect("openapi.yaml is YAML")
}

/// One operation of the spec: upper-case method, path, the operation and its path item.
struct Operation<'a> {
    method: String,
    path: &'a str,
    op: &'a Value,
    item: &'a Value,
}

fn operations(spec: &Value) -> Vec<Operation<'_>> {
    let paths = spec["paths"].as_object().expect("`paths` is a map");
    let mut found = Vec::new();
    for (path, item) in paths {
        let item_map = item.as_object().unwrap_or_else(|| panic!("path item {path} is a map"));
        for method in METHODS {
            if let Some(op) = item_map.get(method) {
                found.push(Operation { method: method.to_uppercase(), path, op, item });
            }
        }
    }
    found
}

fn spec_routes(spec: &Value) -> BTreeSet<(String, String)> {
    operations(spec).into_iter().map(|o| (o.method, o.path.to_owned())).collect()
}

fn app_routes(environment: Environment) -> BTreeSet<(String, String)> {
    ehome_api::routes::route_table(environment).into_iter().collect()
}

fn listing(routes: &BTreeSet<(String, String)>) -> String {
    routes.iter().map(|(method, path)| format!("\n  {method} {path}")).collect()
}

/// Follows local `$ref`s (`#/components/...`) until a value that is not a reference.
fn resolve<'a>(spec: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..16 {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                value = reference
                    .strip_prefix('#')
                    .and_then(|pointer| spec.pointer(pointer))
                    .unwrap_or_else(|| panic!("unresolvable $ref {reference}"));
            }
            None => return value,
        }
    }
    panic!("$ref chain too long")
}

fn template_names(path: &str) -> Vec<String> {
    path.split('{').skip(1).filter_map(|rest| rest.split_once('}')).map(|(name, _)| name.to_owned()).collect()
}

fn with_ones(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some((before, after)) = rest.split_once('{') {
        out.push_str(before);
        let (_, tail) = after.split_once('}').expect("balanced braces in path");
        out.push('1');
        rest = tail;
    }
    out.push_str(rest);
    out
}

#[test]
fn spec_and_routes_agree() {
    let spec = spec();
    let documented = spec_routes(&spec);
    let table = ehome_api::routes::route_table(Environment::Dev);
    let routed: BTreeSet<(String, String)> = table.iter().cloned().collect();
    assert_eq!(routed.len(), table.len(), "the route table registers some (method, path) twice: {table:?}");

    let undocumented: BTreeSet<_> = routed.difference(&documented).cloned().collect();
    let unrouted: BTreeSet<_> = documented.difference(&routed).cloned().collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "openapi.yaml and the route table disagree.\nRoutes missing from openapi.yaml:{}\nOperations in openapi.yaml with no route:{}",
        listing(&undocumented),
        listing(&unrouted),
    );
}

/// Routes that exist only in dev (dev-login) carry `x-environment: dev`, and no others do.
#[test]
fn dev_only_operations_are_marked() {
    let spec = spec();
    let dev_only: BTreeSet<_> =
        app_routes(Environment::Dev).difference(&app_routes(Environment::Prod)).cloned().collect();
    let marked: BTreeSet<_> = operations(&spec)
        .into_iter()
        .filter(|o| o.op.get("x-environment").and_then(Value::as_str) == Some("dev"))
        .map(|o| (o.method, o.path.to_owned()))
        .collect();
    assert_eq!(marked, dev_only, "operations marked `x-environment: dev` vs routes registered only in dev");
    assert!(dev_only.contains(&("POST".to_owned(), "/api/v1/auth/dev-login".to_owned())));
}

#[test]
fn spec_is_valid() {
    let spec = spec();
    let mut problems: Vec<String> = Vec::new();

    let version = spec["openapi"].as_str().unwrap_or_default();
    if !version.starts_with("3.1") {
        problems.push(format!("`openapi` is {version:?}, not 3.1.x"));
    }
    for field in ["title", "version"] {
        if spec["info"][field].as_str().is_none_or(str::is_empty) {
            problems.push(format!("info.{field} is missing"));
        }
    }
    let global_security = spec.get("security").is_some_and(Value::is_array);
    let schemes = spec["components"]["securitySchemes"].as_object().cloned().unwrap_or_default();

    let declared_tags = spec["tags"].as_array().cloned().unwrap_or_default();
    let mut operation_ids: HashMap<String, String> = HashMap::new();
    for Operation { method, path, op, item } in operations(&spec) {
        let at = format!("{method} {path}");
        match op["operationId"].as_str() {
            None | Some("") => problems.push(format!("{at}: no operationId")),
            Some(id) => {
                if let Some(other) = operation_ids.insert(id.to_owned(), at.clone()) {
                    problems.push(format!("{at}: operationId {id} is also used by {other}"));
                }
            }
        }
        if op["tags"].as_array().is_none_or(Vec::is_empty) {
            problems.push(format!("{at}: no tags"));
        }
        for tag in op["tags"].as_array().into_iter().flatten() {
            if !declared_tags.iter().any(|declared| declared["name"] == *tag) {
                problems.push(format!("{at}: tag {tag} is not declared in the top-level `tags`"));
            }
        }
        match op["responses"].as_object() {
            None => problems.push(format!("{at}: no responses")),
            Some(responses) => {
                if !responses.keys().any(|status| status.starts_with('2')) {
                    problems.push(format!("{at}: no 2xx response"));
                }
            }
        }
        match op.get("security") {
            None if !global_security => problems.push(format!("{at}: no security, and none global")),
            None => {}
            Some(Value::Array(requirements)) => {
                for requirement in requirements {
                    for scheme in requirement.as_object().into_iter().flat_map(|r| r.keys()) {
                        if !schemes.contains_key(scheme) {
                            problems
                                .push(format!("{at}: security scheme {scheme} is not in components.securitySchemes"));
                        }
                    }
                }
            }
            Some(other) => problems.push(format!("{at}: security is not a list: {other}")),
        }

        // Path parameters: every `{name}` of the template is declared `in: path, required: true`
        // (on the operation or its path item), and nothing else is declared `in: path`.
        let declared: Vec<&Value> = [item.get("parameters"), op.get("parameters")]
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
            .map(|parameter| resolve(&spec, parameter))
            .collect();
        let in_path: BTreeSet<&str> =
            declared.iter().filter(|p| p["in"] == "path").filter_map(|p| p["name"].as_str()).collect();
        let names = template_names(path);
        for name in &names {
            let ok = declared.iter().any(|p| p["in"] == "path" && p["name"] == name.as_str() && p["required"] == true);
            if !ok {
                problems.push(format!("{at}: path parameter {{{name}}} is not declared as `in: path, required: true`"));
            }
        }
        for name in in_path {
            if !names.iter().any(|n| n == name) {
                problems.push(format!("{at}: declares path parameter {name}, which is not in the path"));
            }
        }
    }

    // Every $ref points into #/components and resolves.
    let mut stack = vec![&spec];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                if let Some(reference) = map.get("$ref") {
                    match reference.as_str() {
                        Some(target) if target.starts_with("#/components/") => {
                            if spec.pointer(&target[1..]).is_none() {
                                problems.push(format!("$ref {target} does not resolve"));
                            }
                        }
                        _ => problems.push(format!("$ref {reference} does not point into #/components/")),
                    }
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }

    assert!(problems.is_empty(), "openapi.yaml has problems:\n  {}", problems.join("\n  "));
}

#[tokio::test]
async fn spec_is_served() {
    let app = spawn_app().await;
    let response = app.get("/openapi.yaml", None).await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    assert!(content_type.as_deref().is_some_and(|t| t.contains("yaml")), "content type {content_type:?}");
    assert_eq!(response.text().await.unwrap(), OPENAPI_YAML);
}

/// The error codes a documented response allows, when it lists them (`allOf: [Error, {…code enum}]`).
fn documented_codes(spec: &Value, response: &Value) -> Option<BTreeSet<String>> {
    let schema = resolve(spec, &response["content"]["application/json"]["schema"]);
    let parts = schema["allOf"].as_array()?;
    let codes: BTreeSet<String> = parts
        .iter()
        .filter_map(|part| part.pointer("/properties/error/properties/code/enum"))
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|code| code.as_str().map(str::to_owned))
        .collect();
    (!codes.is_empty()).then_some(codes)
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks a value against a schema of the spec: `$ref`, `allOf`, `oneOf`/`anyOf`, `type`, `const`,
/// `enum`, `required`, `properties`, `additionalProperties`, `items`, `prefixItems`. Objects declared
/// `type: object` with `properties` are closed unless they say otherwise, so a field the API returns
/// but the spec does not document is reported.
fn conform(spec: &Value, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    let schema = resolve(spec, schema);
    for part in schema["allOf"].as_array().into_iter().flatten() {
        conform(spec, part, value, at, problems);
    }
    for keyword in ["oneOf", "anyOf"] {
        if let Some(choices) = schema[keyword].as_array() {
            let fits = choices.iter().any(|choice| {
                let mut scratch = Vec::new();
                conform(spec, choice, value, at, &mut scratch);
                scratch.is_empty()
            });
            if !fits {
                problems.push(format!("{at} = {value} fits none of {keyword}"));
            }
        }
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        problems.push(format!("{at} = {value}, documented const {constant}"));
    }
    if let Some(choices) = schema["enum"].as_array()
        && !choices.contains(value)
    {
        problems.push(format!("{at} = {value}, not in the documented enum {}", schema["enum"]));
    }
    let actual = json_type(value);
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() && !types.iter().any(|t| *t == actual || (*t == "number" && actual == "integer")) {
        problems.push(format!("{at} = {value} is {actual}, documented {types:?}"));
        return;
    }
    match value {
        Value::Object(map) => {
            for key in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                if !map.contains_key(key) {
                    problems.push(format!("{at}.{key} is documented as required but missing"));
                }
            }
            let properties = schema["properties"].as_object();
            let closed = types == ["object"] && properties.is_some();
            for (key, item) in map {
                let here = format!("{at}.{key}");
                match (properties.and_then(|p| p.get(key)), schema.get("additionalProperties")) {
                    (Some(property), _) => conform(spec, property, item, &here, problems),
                    (None, Some(Value::Bool(false))) => problems.push(format!("{here} is not documented")),
                    (None, Some(Value::Bool(true))) => {}
                    (None, Some(extra)) => conform(spec, extra, item, &here, problems),
                    (None, None) if closed => problems.push(format!("{here} is not documented")),
                    (None, None) => {}
                }
            }
        }
        Value::Array(items) => {
            let prefix = schema["prefixItems"].as_array();
            for (index, item) in items.iter().enumerate() {
                let here = format!("{at}[{index}]");
                match prefix.and_then(|p| p.get(index)) {
                    Some(position) => conform(spec, position, item, &here, problems),
                    None => {
                        if let Some(each) = schema.get("items") {
                            conform(spec, each, item, &here, problems);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// Sends one request per documented operation (every `{param}` replaced by 1, `{}` as the body of
/// writes) and checks that it was routed, did not fail with a 5xx, and answered with a status — and
/// for errors a code — that the spec documents for that operation.
async fn exercise(
    app: &TestApp,
    spec: &Value,
    who: &str,
    token: Option<&str>,
    problems: &mut Vec<String>,
) -> Vec<String> {
    let mut succeeded = Vec::new();
    for Operation { method, path, op, .. } in operations(spec) {
        let url_path = with_ones(path);
        let http_method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = app.request(http_method, &url_path, token);
        if matches!(method.as_str(), "POST" | "PUT" | "PATCH") {
            request = request.json(&json!({}));
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let at = format!("{method} {url_path} ({who}) answered {status}");
        let content_type =
            response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let is_json = content_type.starts_with("application/json");
        let body: Value = if is_json { response.json().await.unwrap_or(Value::Null) } else { Value::Null };
        let code = body["error"]["code"].as_str().map(str::to_owned);

        if status == 404 && code.as_deref() == Some("ROUTE_NOT_FOUND") {
            problems.push(format!("{at}: ROUTE_NOT_FOUND, the route is not served"));
            continue;
        }
        // `security` is honest: a protected operation turns an anonymous caller away first, and a
        // public one never asks for a token.
        let security = op.get("security").or_else(|| spec.get("security"));
        let public = security.and_then(Value::as_array).is_none_or(|requirements| {
            requirements.is_empty() || requirements.iter().any(|r| r.as_object().is_some_and(serde_json::Map::is_empty))
        });
        let unauthenticated = status == 401 && code.as_deref() == Some("UNAUTHENTICATED");
        if token.is_none() && !public && !unauthenticated {
            problems.push(format!(
                "{at} {body}: documented as needing bearerAuth, but not `401 UNAUTHENTICATED` without a token"
            ));
        }
        if public && unauthenticated {
            problems.push(format!("{at}: UNAUTHENTICATED, but documented as public (`security: []`)"));
        }
        if status == 405 {
            problems.push(format!("{at}: method not allowed, the route is not served"));
            continue;
        }
        // `/readyz` may say 503 only when it reports itself not ready (it should be ready in tests).
        let not_ready = path == "/readyz" && status == 503 && body["status"] == "not_ready";
        if status.is_server_error() && !not_ready {
            problems.push(format!("{at}: server error {body}"));
            continue;
        }
        let responses = &op["responses"];
        let documented = responses.get(status.as_str()).or_else(|| responses.get("default"));
        let Some(documented) = documented else {
            problems.push(format!("{at}, which openapi.yaml does not list for it"));
            continue;
        };
        // The body has a documented media type and, when JSON, the documented shape.
        let documented = resolve(spec, documented);
        if let Some(content) = documented.get("content").and_then(Value::as_object) {
            let essence = |t: &str| t.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
            let actual = essence(&content_type);
            if !content.keys().any(|key| essence(key) == actual) {
                problems
                    .push(format!("{at} as {content_type:?}; documented: {:?}", content.keys().collect::<Vec<_>>()));
            } else if is_json && let Some(schema) = content.get("application/json").map(|media| &media["schema"]) {
                let mut mismatches = Vec::new();
                conform(spec, schema, &body, "body", &mut mismatches);
                for mismatch in mismatches {
                    problems.push(format!("{at}: {mismatch}"));
                }
            }
        }
        if status.is_success() {
            succeeded.push(format!("{method} {url_path}"));
        }
        if status.is_client_error() {
            let Some(code) = code else {
                problems.push(format!("{at} without an error code: {body}"));
                continue;
            };
            if let Some(codes) = documented_codes(spec, resolve(spec, documented))
                && !codes.contains(&code)
            {
                problems.push(format!("{at} with code {code}, but openapi.yaml lists only {codes:?}"));
            }
        }
    }
    succeeded
}

#[tokio::test]
async fn every_documented_route_is_routed() {
    let app = spawn_app().await;
    let spec = spec();
    let mut problems = Vec::new();
    exercise(&app, &spec, "anonymous", None, &mut problems).await;
    let session = app.dev_login("openapi-walker").await;
    exercise(&app, &spec, "signed in", Some(&session.access), &mut problems).await;
    // With the demo community loaded, id 1 names real things, and a platform admin may read them:
    // more operations answer 2xx, and their bodies are checked against the documented schemas.
    app.seed_demo().await;
    let admin = app.dev_login("demo-admin").await;
    let succeeded = exercise(&app, &spec, "demo admin", Some(&admin.access), &mut problems).await;
    eprintln!("2xx as the demo admin, bodies checked against the spec:\n  {}", succeeded.join("\n  "));
    assert!(succeeded.len() >= 10, "too few operations succeeded to check their bodies: {succeeded:?}");
    assert!(problems.is_empty(), "documented operations that misbehave:\n  {}", problems.join("\n  "));
}

/// The codes the API's errors can return, read from the source of every `error.rs` under `api/src` (the
/// one `ApiError` and each scene's error enum; each arm is `Variant… => "CODE",`).
fn api_error_codes() -> BTreeSet<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../api/src");
    let mut sources = Vec::new();
    let mut folders = vec![root];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.file_name().is_some_and(|name| name == "error.rs") {
                sources.push(std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    sources
        .iter()
        .flat_map(|source| source.lines())
        .filter_map(|line| line.split_once("=> \"").map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_once('"').map(|(code, _)| code))
        .filter(|code| !code.is_empty() && code.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .map(str::to_owned)
        .collect()
}

/// `components.schemas.ErrorCode` lists exactly the codes the API has.
#[test]
fn every_error_code_is_documented() {
    let spec = spec();
    let documented: BTreeSet<String> = spec["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode has an enum")
        .iter()
        .map(|code| code.as_str().expect("codes are strings").to_owned())
        .collect();
    let defined = api_error_codes();
    assert!(defined.len() > 10, "could not read the codes of api/src/**/error.rs: {defined:?}");
    let missing: Vec<_> = defined.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&defined).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "ErrorCode in openapi.yaml vs ApiError::code(): missing from the spec {missing:?}; not in error.rs {unknown:?}"
    );
    let description = spec["info"]["description"].as_str().unwrap_or_default();
    let untabled: Vec<_> = defined.iter().filter(|code| !description.contains(&format!("`{code}`"))).collect();
    assert!(untabled.is_empty(), "codes missing from the status table in info.description: {untabled:?}");
}
