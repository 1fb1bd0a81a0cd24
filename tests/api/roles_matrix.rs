//! Every protected route tried with every role: no unauthorised success, no 500.

use std::collections::HashMap;

use ehome_tests::{Demo, TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

/// Who calls: each demo user (see `ehome_api::demo::DEMO_USERS`); `anonymous` is tried besides them.
const SIGNED_IN: &[&str] = &[
    "demo-admin",
    "demo-committee",
    "demo-leader",
    "demo-grid",
    "demo-social",
    "demo-resident-1",
    "demo-newcomer",
    "demo-shop",
];

/// Routes anyone may call without a token.
const PUBLIC: &[&str] = &[
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.yaml",
    "/api/v1/auth/wechat/login",
    "/api/v1/auth/refresh",
    "/api/v1/auth/logout",
    "/api/v1/auth/dev-login",
];

struct Case {
    method: Method,
    template: &'static str,
    body: Value,
    allowed: Vec<&'static str>,
    /// Callers for whom the resource does not exist (404 rather than 403).
    hidden_from: Vec<&'static str>,
}

fn case(method: Method, template: &'static str, body: Value, allowed: &[&'static str]) -> Case {
    Case { method, template, body, allowed: allowed.to_vec(), hidden_from: Vec::new() }
}

/// A request-scoped route: callers who cannot see the request get 404.
fn hidden(mut case: Case, from: &[&'static str]) -> Case {
    case.hidden_from = from.to_vec();
    case
}

#[tokio::test]
async fn every_protected_route_with_every_role() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let mut tokens: HashMap<&str, String> = HashMap::new();
    for caller in SIGNED_IN {
        tokens.insert(caller, app.dev_login(caller).await.access);
    }
    let ids = fixture(&app, &demo).await;
    for caller in SIGNED_IN {
        app.wechat.add_phone_code(&format!("phone-{caller}"), "13900001111");
    }

    let committee = &["demo-admin", "demo-committee"];
    let members =
        &["demo-admin", "demo-committee", "demo-leader", "demo-grid", "demo-social", "demo-resident-1", "demo-shop"];
    let handlers = &["demo-admin", "demo-committee", "demo-leader", "demo-grid"];
    let outsiders = &["demo-newcomer"];
    let deciders = &["demo-admin", "demo-committee", "demo-leader"];
    // The fixture's notice reaches 1号楼: its leader, grid worker and residents read it.
    let notice_readers = &["demo-admin", "demo-committee", "demo-leader", "demo-grid", "demo-resident-1"];
    let notice_strangers = &["demo-social", "demo-newcomer", "demo-shop"];
    // The fixture's deliberation affects 1号楼 too; its meeting is chaired by the committee member.
    let chair = &["demo-committee"];
    // Roles are read and set for a user who is not among the callers, so that granting them changes no
    // caller's rights (reading one's own roles is tested in community.rs).
    let role_viewers = committee;
    let target = app.dev_login("matrix-role-target").await.user_id;
    let cases = vec![
        case(Method::GET, "/api/v1/me", json!(null), SIGNED_IN),
        case(Method::PATCH, "/api/v1/me", json!({"nickname": "邻居"}), SIGNED_IN),
        case(Method::POST, "/api/v1/me/phone", json!({"code": "phone-{caller}"}), SIGNED_IN),
        case(Method::GET, "/api/v1/communities", json!(null), SIGNED_IN),
        case(
            Method::POST,
            "/api/v1/communities",
            json!({"district": "海曙区", "street": "月湖街道", "name": "新社区"}),
            &["demo-admin"],
        ),
        case(Method::GET, "/api/v1/communities/{id}", json!(null), SIGNED_IN),
        case(Method::GET, "/api/v1/communities/{id}/grids", json!(null), SIGNED_IN),
        case(Method::POST, "/api/v1/communities/{id}/grids", json!({"name": "新网格"}), committee),
        case(Method::GET, "/api/v1/grids/{id}/buildings", json!(null), SIGNED_IN),
        case(Method::POST, "/api/v1/grids/{id}/buildings", json!({"name": "新楼"}), committee),
        case(Method::GET, "/api/v1/buildings/{id}/households", json!(null), SIGNED_IN),
        case(Method::POST, "/api/v1/buildings/{id}/households", json!({"label": "901"}), committee),
        case(Method::POST, "/api/v1/households/{id}/join-requests", json!({}), SIGNED_IN),
        case(Method::GET, "/api/v1/communities/{id}/join-requests", json!(null), deciders),
        case(Method::POST, "/api/v1/join-requests/{id}/approve", json!({}), deciders),
        case(Method::POST, "/api/v1/join-requests/{id}/reject", json!({}), deciders),
        case(Method::GET, "/api/v1/communities/{id}/members/{user_id}/roles", json!(null), role_viewers),
        case(
            Method::PUT,
            "/api/v1/communities/{id}/members/{user_id}/roles",
            json!({"roles": [{"role": "volunteer"}]}),
            committee,
        ),
        case(
            Method::POST,
            "/api/v1/requests",
            json!({"category_id": ids.category, "building_id": ids.building, "title": "矩阵测试{caller}", "description": "d"}),
            members,
        ),
        case(Method::GET, "/api/v1/requests", json!(null), SIGNED_IN),
        case(Method::GET, "/api/v1/requests/similar", json!(null), members),
        hidden(case(Method::GET, "/api/v1/requests/{id}", json!(null), members), outsiders),
        hidden(
            case(Method::POST, "/api/v1/requests/{id}/transitions", json!({"action": "accept"}), handlers),
            outsiders,
        ),
        hidden(case(Method::POST, "/api/v1/requests/{id}/comments", json!({"body": "同感"}), members), outsiders),
        hidden(case(Method::POST, "/api/v1/requests/{id}/rating", json!({"score": 5}), &[]), outsiders),
        hidden(case(Method::POST, "/api/v1/requests/{id}/me-too", json!({}), members), outsiders),
        case(Method::GET, "/api/v1/communities/{id}/categories", json!(null), SIGNED_IN),
        case(
            Method::POST,
            "/api/v1/communities/{id}/categories",
            json!({"key": "matrix", "name": "新类别", "response_sla_hours": 1, "resolution_sla_hours": 2}),
            committee,
        ),
        case(Method::PATCH, "/api/v1/categories/{id}", json!({"name": "维修"}), committee),
        case(Method::GET, "/api/v1/communities/{id}/stats", json!(null), committee),
        case(Method::GET, "/api/v1/communities/{id}/requests.csv", json!(null), committee),
        case(Method::GET, "/api/v1/me/notifications", json!(null), SIGNED_IN),
        case(Method::POST, "/api/v1/me/notifications/read-all", json!({}), SIGNED_IN),
        // Someone else's notification does not exist for anyone but its owner.
        hidden(case(Method::POST, "/api/v1/me/notifications/{id}/read", json!({}), &[]), SIGNED_IN),
        case(
            Method::POST,
            "/api/v1/notices",
            json!({"community_id": ids.community, "scope": {"kind": "buildings", "ids": [ids.building]},
                "title": "矩阵通知", "body": "内容"}),
            &["demo-admin", "demo-committee", "demo-leader", "demo-grid"],
        ),
        case(Method::GET, "/api/v1/notices", json!(null), members),
        hidden(case(Method::GET, "/api/v1/notices/{id}", json!(null), notice_readers), notice_strangers),
        hidden(case(Method::POST, "/api/v1/notices/{id}/read", json!({}), notice_readers), notice_strangers),
        hidden(case(Method::GET, "/api/v1/notices/{id}/unread-households", json!(null), handlers), notice_strangers),
        hidden(
            case(
                Method::POST,
                "/api/v1/notices/{id}/told-in-person",
                json!({"household_id": ids.household, "note": "已上门告知"}),
                handlers,
            ),
            notice_strangers,
        ),
        hidden(case(Method::GET, "/api/v1/notices/{id}/reach", json!(null), committee), notice_strangers),
        case(
            Method::POST,
            "/api/v1/deliberations",
            json!({"community_id": ids.community, "title": "矩阵议题", "issue": "问题",
                "scope": {"kind": "buildings", "ids": [ids.building]}}),
            members,
        ),
        case(Method::GET, "/api/v1/deliberations", json!(null), members),
        hidden(case(Method::GET, "/api/v1/deliberations/{id}", json!(null), notice_readers), notice_strangers),
        hidden(
            case(Method::POST, "/api/v1/deliberations/{id}/transitions", json!({"action": "anchor"}), committee),
            notice_strangers,
        ),
        hidden(
            case(Method::POST, "/api/v1/deliberations/{id}/groups", json!({"name": "矩阵组"}), committee),
            notice_strangers,
        ),
        hidden(
            case(
                Method::POST,
                "/api/v1/deliberations/{id}/groups/{group_id}/representatives",
                json!({"user_id": target, "reason": "理由"}),
                committee,
            ),
            notice_strangers,
        ),
        hidden(
            case(
                Method::POST,
                "/api/v1/deliberations/{id}/groups/{group_id}/election",
                json!({"candidate_ids": [target], "seats": 1, "closes_at": "2030-01-01T10:00:00Z"}),
                committee,
            ),
            notice_strangers,
        ),
        hidden(
            case(Method::POST, "/api/v1/deliberations/{id}/groups/{group_id}/election/seats", json!({}), committee),
            notice_strangers,
        ),
        hidden(
            case(
                Method::POST,
                "/api/v1/deliberations/{id}/professionals",
                json!({"user_id": target, "profession": "lawyer"}),
                committee,
            ),
            notice_strangers,
        ),
        hidden(
            case(
                Method::POST,
                "/api/v1/deliberations/{id}/meetings",
                json!({"starts_at": "2030-01-01T10:00:00Z", "place": "议事厅", "agenda": "议程"}),
                committee,
            ),
            notice_strangers,
        ),
        hidden(
            case(
                Method::POST,
                "/api/v1/deliberations/{id}/meetings/{meeting_id}/attendees",
                json!({"user_ids": [target]}),
                chair,
            ),
            notice_strangers,
        ),
        hidden(
            case(Method::GET, "/api/v1/deliberations/{id}/meetings/{meeting_id}/minutes", json!(null), notice_readers),
            notice_strangers,
        ),
        hidden(
            case(
                Method::POST,
                "/api/v1/deliberations/{id}/meetings/{meeting_id}/minutes",
                json!({"text": "纪要", "decisions": "决定"}),
                chair,
            ),
            notice_strangers,
        ),
        hidden(
            case(
                Method::POST,
                "/api/v1/deliberations/{id}/meetings/{meeting_id}/minutes/{version}/sign-off",
                json!({}),
                chair,
            ),
            notice_strangers,
        ),
        hidden(
            case(
                Method::POST,
                "/api/v1/deliberations/{id}/resolutions",
                json!({"owner_id": ids.leader, "due_on": "2099-01-01", "description": "整改"}),
                committee,
            ),
            notice_strangers,
        ),
        case(Method::GET, "/api/v1/ledger/accounts/{code}", json!(null), &["demo-admin"]),
        case(Method::GET, "/api/v1/ledger/transfers/{id}", json!(null), &["demo-admin"]),
        case(Method::POST, "/api/v1/ledger/verify", json!({}), &["demo-admin"]),
        case(Method::GET, "/api/v1/ledger/export", json!(null), &["demo-admin"]),
        case(Method::POST, "/api/v1/polls", crate::polls::poll_body(&app, demo.community, json!({})), committee),
        hidden(case(Method::GET, "/api/v1/polls", json!(null), members), outsiders),
        hidden(case(Method::GET, "/api/v1/polls/{id}", json!(null), members), outsiders),
        case(Method::POST, "/api/v1/polls/{id}/ballots", json!({"option_ids": [ids.option]}), &["demo-resident-1"]),
        hidden(
            case(
                Method::POST,
                "/api/v1/polls/{id}/proxy-ballots",
                json!({"household_id": demo.households[0][3], "option_ids": [ids.option], "note": "纸质选票"}),
                deciders,
            ),
            outsiders,
        ),
        hidden(case(Method::GET, "/api/v1/polls/{id}/results", json!(null), members), outsiders),
        hidden(case(Method::GET, "/api/v1/polls/{id}/results.csv", json!(null), members), outsiders),
        hidden(case(Method::GET, "/api/v1/polls/{id}/receipts/{hash}", json!(null), members), outsiders),
        case(Method::PUT, "/api/v1/households/{id}/representative", json!({"user_id": target}), deciders),
    ];

    // Every route the app serves is either public or in this matrix.
    let table = ehome_api::routes::route_table(ehome_api::platform::config::Environment::Dev);
    for (method, path) in &table {
        let covered =
            PUBLIC.contains(&path.as_str()) || cases.iter().any(|c| c.method.as_str() == method && c.template == path);
        assert!(covered, "{method} {path} is neither public nor in the role matrix");
    }

    for case in &cases {
        for caller in std::iter::once(&"anonymous").chain(SIGNED_IN) {
            let mut path = case
                .template
                .replace("{user_id}", &target.to_string())
                .replace("{group_id}", &ids.group.to_string())
                .replace("{meeting_id}", &ids.meeting.to_string())
                .replace("{version}", "1")
                .replace("{id}", &ids.for_template(case.template))
                .replace("{code}", &ids.for_template(case.template))
                .replace("{hash}", &ids.receipt);
            path.push_str(&ids.query_for(case.template));
            let token = tokens.get(caller).map(String::as_str);
            let mut request = app.request(case.method.clone(), &path, token);
            if !case.body.is_null() {
                let body: Value = serde_json::from_str(&case.body.to_string().replace("{caller}", caller)).unwrap();
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            assert!(status < 500, "{} {path} as {caller}: {status} {text}", case.method);
            if case.allowed.contains(caller) {
                assert!(
                    status != 401 && status != 403 && status != 404,
                    "{} {path} as {caller} should be allowed: {status} {text}",
                    case.method
                );
            } else if *caller == "anonymous" {
                assert_eq!(status, 401, "{} {path} anonymously: {text}", case.method);
            } else if case.hidden_from.contains(caller) {
                assert_eq!(status, 404, "{} {path} as {caller} must not even exist: {text}", case.method);
            } else {
                assert_eq!(status, 403, "{} {path} as {caller} must be forbidden: {text}", case.method);
            }
        }
    }
}

struct Ids {
    community: i64,
    grid: i64,
    building: i64,
    household: i64,
    join_request: i64,
    category: i64,
    request: i64,
    notification: i64,
    notice: i64,
    deliberation: i64,
    group: i64,
    meeting: i64,
    leader: i64,
    account_code: String,
    transfer: String,
    poll: i64,
    option: i64,
    receipt: String,
}

impl Ids {
    fn for_template(&self, template: &str) -> String {
        let prefixes: [(&str, String); 13] = [
            ("/api/v1/polls", self.poll.to_string()),
            ("/api/v1/communities", self.community.to_string()),
            ("/api/v1/grids", self.grid.to_string()),
            ("/api/v1/buildings", self.building.to_string()),
            ("/api/v1/households", self.household.to_string()),
            ("/api/v1/join-requests", self.join_request.to_string()),
            ("/api/v1/categories", self.category.to_string()),
            ("/api/v1/requests", self.request.to_string()),
            ("/api/v1/me/notifications", self.notification.to_string()),
            ("/api/v1/notices", self.notice.to_string()),
            ("/api/v1/deliberations", self.deliberation.to_string()),
            ("/api/v1/ledger/accounts", self.account_code.clone()),
            ("/api/v1/ledger/transfers", self.transfer.clone()),
        ];
        prefixes.into_iter().find(|(prefix, _)| template.starts_with(prefix)).map(|(_, id)| id).unwrap_or_default()
    }

    /// Required query parameters of routes that have them.
    fn query_for(&self, template: &str) -> String {
        match template {
            "/api/v1/requests/similar" => {
                format!("?building_id={}&category_id={}&title=%E7%81%AF", self.building, self.category)
            }
            "/api/v1/ledger/export" => "?format=hledger".to_owned(),
            "/api/v1/notices" | "/api/v1/deliberations" => format!("?community_id={}", self.community),
            "/api/v1/polls" => format!("?community_id={}", self.community),
            _ => String::new(),
        }
    }
}

/// Ids in the demo community; a pending claim by a stranger on a home in the demo leader's building.
async fn fixture(app: &TestApp, demo: &Demo) -> Ids {
    let (community, grid, building) = (demo.community, demo.grids[0], demo.buildings[0]);
    let household = demo.households[0][4];
    let stranger = app.dev_login("matrix-stranger").await;
    let claim: Value =
        app.post_json(&format!("/households/{household}/join-requests"), Some(&stranger.access), &json!({})).await;
    // A request by a resident who is not among the callers, in the demo leader's building, and the
    // notification its acceptance sends to that resident.
    let category = demo.categories[0].1;
    let reporter = app.dev_login("demo-resident-2").await;
    let request = app
        .submit_body(&reporter.access, &json!({"category_id": category, "title": "路灯不亮", "description": "d"}))
        .await;
    let request = request["id"].as_i64().unwrap();
    let committee = app.dev_login("demo-committee").await;
    app.act(&committee.access, request, "accept", None).await;
    let inbox: Value = app.get_json("/me/notifications", Some(&reporter.access)).await;
    let notification = inbox["items"][0]["id"].as_i64().unwrap();
    // An urgent notice to 1号楼 by the committee.
    let notice_body = json!({"community_id": community, "scope": {"kind": "buildings", "ids": [building]},
        "title": "停水通知", "body": "明天停水", "importance": "urgent"});
    let notice =
        app.post_json("/notices", Some(&committee.access), &notice_body).await["notice"]["id"].as_i64().unwrap();
    let (deliberation, group, meeting) = deliberation_in_meeting(app, &committee.access, community, building).await;
    // A ledger account and transfer to look up.
    let ledger = ehome_ledger::Ledger::new(app.db.clone());
    use ehome_ledger::{AccountFlags, Asset, NewAccount, TransferRequest};
    let accounts = ehome_ledger::create_accounts(
        &app.db,
        &[
            NewAccount::new("community:matrix:points:issuance", Asset::Points, AccountFlags::NONE),
            NewAccount::new("user:matrix:points", Asset::Points, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
        ],
    )
    .await
    .unwrap();
    let transfer = ledger
        .post(&TransferRequest::single(accounts[0].id, accounts[1].id, Asset::Points, 1000, "volunteer_award"))
        .await
        .unwrap();
    let (poll, options) = crate::polls::create_poll(app, demo, json!({})).await;
    let voter = app.dev_login("demo-resident-1").await;
    let ballot: Value = crate::polls::vote(app, &voter.access, poll, &options[..1]).await.json().await.unwrap();
    Ids {
        poll,
        option: options[0],
        receipt: ballot["receipt"].as_str().unwrap().to_owned(),
        community,
        grid,
        building,
        household,
        join_request: claim["id"].as_i64().unwrap(),
        category,
        request,
        notification,
        notice,
        deliberation,
        group,
        meeting,
        leader: demo.user("demo-leader"),
        account_code: "user:matrix:points".to_owned(),
        transfer: transfer.id.to_text(),
    }
}

/// A deliberation affecting `building`: anchored, a group of one resident (demo-resident-2, not among
/// the callers) as its appointed representative, a meeting chaired by the committee member, and a
/// first draft of its minutes. Returns (deliberation, group, meeting).
async fn deliberation_in_meeting(app: &TestApp, committee: &str, community: i64, building: i64) -> (i64, i64, i64) {
    let topic = json!({"community_id": community, "title": "议题", "issue": "问题",
        "scope": {"kind": "buildings", "ids": [building]}});
    let id = app.post_json("/deliberations", Some(committee), &topic).await["id"].as_i64().unwrap();
    let transition = format!("/deliberations/{id}/transitions");
    app.post(&transition, Some(committee), &json!({"action": "anchor"})).await;
    let rep = app.dev_login("demo-resident-2").await.user_id;
    let group = json!({"name": "居民", "member_ids": [rep]});
    let group =
        app.post_json(&format!("/deliberations/{id}/groups"), Some(committee), &group).await["id"].as_i64().unwrap();
    let appoint = json!({"user_id": rep, "reason": "熟悉情况"});
    app.post(&format!("/deliberations/{id}/groups/{group}/representatives"), Some(committee), &appoint).await;
    app.post(&transition, Some(committee), &json!({"action": "choose_representatives"})).await;
    let meeting = json!({"starts_at": "2030-01-01T10:00:00Z", "place": "议事厅", "agenda": "议程"});
    let meeting = app.post_json(&format!("/deliberations/{id}/meetings"), Some(committee), &meeting).await;
    let meeting = meeting["id"].as_i64().unwrap();
    let minutes = json!({"text": "纪要", "decisions": "决定"});
    app.post(&format!("/deliberations/{id}/meetings/{meeting}/minutes"), Some(committee), &minutes).await;
    (id, group, meeting)
}
