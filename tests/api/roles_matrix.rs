//! Every protected route tried with every role: no unauthorised success, no 500.

use std::collections::HashMap;

use ehome_tests::{Demo, TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

mod help_posts;
mod settlements;

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
    // The device vendors' webhook: authenticated by its HMAC signature, not a token (see care.rs).
    "/api/v1/care/alerts",
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
    // 邻互助: those who run volunteering, the demo team's leader (demo-resident-1, an approved
    // volunteer) with them, and the approved volunteers who may sign up.
    let organisers = &["demo-admin", "demo-committee", "demo-social"];
    let team_managers = &["demo-admin", "demo-committee", "demo-social", "demo-resident-1"];
    let volunteers = &["demo-resident-1"];
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
        case(
            Method::POST,
            "/api/v1/volunteers",
            json!({"community_id": ids.community, "skills": ["environment"]}),
            members,
        ),
        case(Method::GET, "/api/v1/volunteers", json!(null), organisers),
        case(Method::GET, "/api/v1/volunteers/me", json!(null), SIGNED_IN),
        // The registration is a stranger's: only they change it.
        case(Method::PATCH, "/api/v1/volunteers/{id}", json!({"leaderboard_consent": false}), &[]),
        case(Method::POST, "/api/v1/volunteers/{id}/decision", json!({"decision": "approve"}), organisers),
        case(Method::GET, "/api/v1/communities/{id}/volunteering", json!(null), members),
        case(
            Method::POST,
            "/api/v1/teams",
            json!({"community_id": ids.community, "name": "矩阵服务队", "leader_id": ids.team_leader}),
            organisers,
        ),
        case(Method::GET, "/api/v1/teams", json!(null), members),
        hidden(case(Method::GET, "/api/v1/teams/{id}", json!(null), members), outsiders),
        hidden(
            case(Method::POST, "/api/v1/teams/{id}/members", json!({"user_id": ids.team_leader}), team_managers),
            outsiders,
        ),
        hidden(case(Method::DELETE, "/api/v1/teams/{id}/members/{user_id}", json!(null), team_managers), outsiders),
        case(Method::POST, "/api/v1/activities", app.activity_body(ids.community, json!({})), organisers),
        case(Method::GET, "/api/v1/activities", json!(null), SIGNED_IN),
        hidden(case(Method::GET, "/api/v1/activities/{id}", json!(null), members), outsiders),
        hidden(case(Method::PATCH, "/api/v1/activities/{id}", json!({"capacity": 20}), organisers), outsiders),
        hidden(
            case(Method::POST, "/api/v1/activities/{id}/transitions", json!({"action": "publish"}), organisers),
            outsiders,
        ),
        hidden(case(Method::POST, "/api/v1/activities/{id}/beneficiaries", json!({"count": 3}), organisers), outsiders),
        hidden(case(Method::POST, "/api/v1/activities/{id}/signups", json!({}), volunteers), outsiders),
        hidden(case(Method::GET, "/api/v1/activities/{id}/signups", json!(null), organisers), outsiders),
        // Members who never signed up are told so (409), not refused.
        hidden(case(Method::DELETE, "/api/v1/activities/{id}/signups/me", json!(null), members), outsiders),
        hidden(case(Method::GET, "/api/v1/activities/{id}/checkin-code", json!(null), organisers), outsiders),
        hidden(case(Method::GET, "/api/v1/activities/{id}/wxacode", json!(null), organisers), outsiders),
        hidden(case(Method::POST, "/api/v1/activities/{id}/checkin", json!({"code": "000000"}), members), outsiders),
        hidden(case(Method::POST, "/api/v1/activities/{id}/checkout", json!({"code": "000000"}), members), outsiders),
        // Service hours: the activity's organisers review and decide (the activity has not ended, so
        // their decisions are 409); everyone reads their own hours and points.
        case(Method::GET, "/api/v1/activities/{id}/hours", json!(null), organisers),
        case(Method::POST, "/api/v1/activities/{id}/hours/approve", json!({}), organisers),
        case(
            Method::POST,
            "/api/v1/activities/{id}/hours/{signup_id}/adjust",
            json!({"minutes": 60, "reason": "更正"}),
            organisers,
        ),
        case(
            Method::POST,
            "/api/v1/activities/{id}/hours/{signup_id}/decline",
            json!({"reason": "未参加"}),
            organisers,
        ),
        case(Method::GET, "/api/v1/me/hours", json!(null), SIGNED_IN),
        case(Method::GET, "/api/v1/me/hours/certificate.csv", json!(null), SIGNED_IN),
        case(Method::GET, "/api/v1/me/hours/certificate.html", json!(null), SIGNED_IN),
        case(Method::GET, "/api/v1/communities/{id}/leaderboard", json!(null), members),
        case(Method::GET, "/api/v1/communities/{id}/volunteering.csv", json!(null), committee),
        case(Method::GET, "/api/v1/me/points", json!(null), SIGNED_IN),
        case(Method::GET, "/api/v1/me/points/history", json!(null), SIGNED_IN),
    ];
    let mut cases = cases;
    cases.extend(alliance_cases(&ids, members, outsiders));
    cases.extend(care_cases(&demo));
    cases.extend(help_posts::cases(ids.community, members, outsiders));
    cases.extend(settlements::cases(members, &ids.settlements.today));

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
                .replace("{signup_id}", "1")
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
    alliance: Alliance,
    /// A care recipient in 1号楼 visited by demo-resident-1, and an open alert task of theirs.
    care_recipient: i64,
    care_task: i64,
    help_posts: help_posts::HelpPosts,
    settlements: settlements::Settlements,
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
    /// A pending volunteer registration by a resident who is not among the callers.
    volunteer: i64,
    /// A team led by demo-resident-1, and a published activity open to the whole community.
    team: i64,
    team_leader: i64,
    activity: i64,
}

impl Ids {
    fn for_template(&self, template: &str) -> String {
        if let Some(id) = self.settlements.for_template(template) {
            return id.to_string();
        }
        if let Some(id) = self.alliance.for_template(template) {
            return id.to_string();
        }
        if let Some(id) = self.help_posts.for_template(template) {
            return id.to_string();
        }
        let prefixes: [(&str, String); 18] = [
            ("/api/v1/care/recipients", self.care_recipient.to_string()),
            ("/api/v1/care/tasks", self.care_task.to_string()),
            ("/api/v1/polls", self.poll.to_string()),
            ("/api/v1/volunteers", self.volunteer.to_string()),
            ("/api/v1/teams", self.team.to_string()),
            ("/api/v1/activities", self.activity.to_string()),
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
        if let Some(query) = self.settlements.query_for(template) {
            return query;
        }
        match template {
            "/api/v1/requests/similar" => {
                format!("?building_id={}&category_id={}&title=%E7%81%AF", self.building, self.category)
            }
            "/api/v1/ledger/export" => "?format=hledger".to_owned(),
            "/api/v1/notices" | "/api/v1/deliberations" => format!("?community_id={}", self.community),
            "/api/v1/polls" => format!("?community_id={}", self.community),
            "/api/v1/volunteers" | "/api/v1/teams" | "/api/v1/care/recipients" | "/api/v1/care/tasks" => {
                format!("?community_id={}", self.community)
            }
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
    // 邻互助: demo-resident-1 an approved volunteer leading a team, a stranger's pending
    // registration, and a published activity.
    let social = app.dev_login("demo-social").await.access;
    let leader = app.dev_login("demo-resident-1").await;
    app.approved_volunteer(community, &leader, &social).await;
    let team: Value = app
        .post_json(
            "/teams",
            Some(&social),
            &json!({"community_id": community, "name": "环境美化队", "leader_id": leader.user_id}),
        )
        .await;
    let applicant = app.dev_login("matrix-applicant").await;
    let roles = json!({"roles": [{"role": "resident"}]});
    app.put(&format!("/communities/{community}/members/{}/roles", applicant.user_id), Some(&committee.access), &roles)
        .await;
    let body = json!({"community_id": community, "skills": ["environment"]});
    let registration: Value = app.post_json("/volunteers", Some(&applicant.access), &body).await;
    let activity = app.published_activity(&committee.access, community, json!({"capacity": 50})).await;
    let (care_recipient, care_task) = care_fixture(app, demo).await;
    Ids {
        volunteer: registration["id"].as_i64().unwrap(),
        team: team["id"].as_i64().unwrap(),
        team_leader: leader.user_id,
        activity,
        alliance: alliance_fixture(app, demo, &committee.access, &reporter).await,
        care_recipient,
        care_task,
        poll,
        option: options[0],
        receipt: ballot["receipt"].as_str().unwrap().to_owned(),
        help_posts: help_posts::fixture(app, demo, &reporter.access).await,
        settlements: settlements::fixture(app, demo, &committee.access, &reporter.access).await,
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

/// The alliance's fixture: the demo shop (its clerk is `demo-shop`) and an offer of it; a pending shop
/// and an approved one with an invite, both of `demo-resident-2` (not a caller); and that resident's
/// codes at the demo shop: one to capture, one to cancel, one captured to refund.
struct Alliance {
    shop: i64,
    pending_shop: i64,
    offer: i64,
    invite: String,
    code: String,
    to_cancel: i64,
    to_refund: i64,
}

impl Alliance {
    fn for_template(&self, template: &str) -> Option<i64> {
        match template {
            "/api/v1/merchants/{id}/transitions" => Some(self.pending_shop),
            "/api/v1/redemptions/{id}/cancel" => Some(self.to_cancel),
            "/api/v1/redemptions/{id}/refund" => Some(self.to_refund),
            t if t.starts_with("/api/v1/merchants/") => Some(self.shop),
            t if t.starts_with("/api/v1/offers/") => Some(self.offer),
            _ => None,
        }
    }
}

async fn alliance_fixture(app: &TestApp, demo: &Demo, committee: &str, owner: &ehome_tests::Session) -> Alliance {
    let clerk = app.dev_login("demo-shop").await.access;
    let shop = app.get_json("/merchants", Some(&clerk)).await["items"][0]["id"].as_i64().unwrap();
    let offer = app.add_offer(&clerk, shop, "洗剪吹", "1", json!({})).await;
    let apply = |name: &str| {
        json!({"community_id": demo.community, "name": name, "kind": "shop", "business_category": "理发",
            "address": "1号楼底商", "contact_phone": "13912345678", "licence_number": "91330203MA2",
            "alliance_level": "community"})
    };
    let pending_shop =
        app.post_json("/merchants", Some(&owner.access), &apply("待审商家")).await["id"].as_i64().unwrap();
    let own = app.open_shop(&owner.access, committee, demo.community, "community", "自家小店").await;
    let invite = app.post_json(&format!("/merchants/{own}/staff-invites"), Some(&owner.access), &json!({})).await;
    app.award_points(demo.community, owner.user_id, "10").await;
    let (_, code) = app.code_for(&owner.access, offer).await;
    let (to_cancel, _) = app.code_for(&owner.access, offer).await;
    let (to_refund, captured) = app.code_for(&owner.access, offer).await;
    assert_eq!(app.redeem(&clerk, &captured).await.status(), 200);
    Alliance {
        shop,
        pending_shop,
        offer,
        invite: invite["code"].as_str().unwrap().to_owned(),
        code,
        to_cancel,
        to_refund,
    }
}

/// The alliance's routes. Offers are for the members of the alliance's communities, so a platform
/// admin (a member of none) does not find one to use, as the newcomer does not.
fn alliance_cases(ids: &Ids, members: &[&'static str], outsiders: &[&'static str]) -> Vec<Case> {
    let a = &ids.alliance;
    let committee: &[&'static str] = &["demo-admin", "demo-committee"];
    let shop_people: &[&'static str] = &["demo-admin", "demo-committee", "demo-shop"];
    let clerks: &[&'static str] = &["demo-shop"];
    let residents: Vec<&'static str> = members.iter().copied().filter(|m| *m != "demo-admin").collect();
    let not_residents: &[&'static str] = &["demo-admin", "demo-newcomer"];
    let application = json!({"community_id": ids.community, "name": "矩阵{caller}的店", "kind": "shop",
        "business_category": "理发", "address": "1号楼底商", "contact_phone": "13912345678",
        "licence_number": "91330203MA2", "alliance_level": "community"});
    let offer = json!({"title": "矩阵优惠", "price_points": "1", "valid_until": "2099-01-01T00:00:00Z"});
    vec![
        case(Method::GET, "/api/v1/merchants", json!(null), SIGNED_IN),
        hidden(case(Method::GET, "/api/v1/merchants/{id}", json!(null), members), outsiders),
        case(Method::POST, "/api/v1/merchants/{id}/transitions", json!({"action": "approve"}), committee),
        case(Method::POST, "/api/v1/merchants/{id}/staff-invites", json!({}), &[]),
        case(Method::GET, "/api/v1/merchants/{id}/staff", json!(null), committee),
        case(Method::DELETE, "/api/v1/merchants/{id}/staff/{user_id}", json!(null), &[]),
        case(Method::POST, "/api/v1/merchants/{id}/offers", offer, clerks),
        hidden(case(Method::GET, "/api/v1/merchants/{id}/offers", json!(null), members), outsiders),
        case(Method::GET, "/api/v1/offers", json!(null), SIGNED_IN),
        hidden(case(Method::GET, "/api/v1/offers/{id}", json!(null), &residents), not_residents),
        hidden(case(Method::PATCH, "/api/v1/offers/{id}", json!({"title": "新标题"}), clerks), not_residents),
        hidden(
            case(Method::POST, "/api/v1/redemptions/codes", json!({"offer_id": a.offer}), &residents),
            not_residents,
        ),
        case(Method::POST, "/api/v1/redemptions", json!({"code": a.code}), clerks),
        hidden(case(Method::POST, "/api/v1/redemptions/{id}/cancel", json!({}), &[]), SIGNED_IN),
        case(Method::POST, "/api/v1/redemptions/{id}/refund", json!({}), shop_people),
        case(Method::GET, "/api/v1/merchants/{id}/redemptions", json!(null), shop_people),
        case(Method::GET, "/api/v1/me/redemptions", json!(null), SIGNED_IN),
        // Last, since they change what is offered and who works where: the clerk (the last caller)
        // withdraws the offer, the first caller (the admin) joins a shop's staff, and everyone
        // applies for a shop of their own.
        hidden(case(Method::DELETE, "/api/v1/offers/{id}", json!(null), clerks), not_residents),
        case(Method::POST, "/api/v1/staff-invites/accept", json!({"code": a.invite}), SIGNED_IN),
        case(Method::POST, "/api/v1/merchants", application, SIGNED_IN),
    ]
}

/// The care round's fixture: a recipient in 1号楼 registered by the social worker, visited by
/// demo-resident-1, and an open smoke task of theirs (written straight to the table: alerts need a
/// vendor's signature, tested in care.rs).
async fn care_fixture(app: &TestApp, demo: &Demo) -> (i64, i64) {
    use ehome_entities::care_task;
    use sea_orm::{ActiveModelTrait, Set};
    let social = app.dev_login("demo-social").await;
    let body = json!({"household_id": demo.households[0][2], "name": "矩阵老人", "circumstance": "living_alone",
        "risk_level": "high", "consent_by": "recipient"});
    let recipient = app.post_json("/care/recipients", Some(&social.access), &body).await["id"].as_i64().unwrap();
    let visitor = json!({"user_id": demo.user("demo-resident-1")});
    app.post_json(&format!("/care/recipients/{recipient}/visitors"), Some(&social.access), &visitor).await;
    let now = app.now();
    let task = care_task::ActiveModel {
        community_id: Set(demo.community),
        recipient_id: Set(recipient),
        device_id: Set(0),
        task_kind: Set("urgent_visit".to_owned()),
        alert_kind: Set("smoke".to_owned()),
        fold_key: Set("matrix".to_owned()),
        status: Set("open".to_owned()),
        level: Set("team".to_owned()),
        events_count: Set(1),
        first_observed_at: Set(now),
        last_observed_at: Set(now),
        opened_at: Set(now),
        ack_due_at: Set(Some(now + chrono::Duration::minutes(15))),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    (recipient, task.id)
}

/// The care round's routes: a recipient exists only for the care team (the committee, social workers,
/// the admin, their visitors and the grid worker of their grid).
fn care_cases(demo: &Demo) -> Vec<Case> {
    let managers: &[&'static str] = &["demo-admin", "demo-committee", "demo-social"];
    let team: &[&'static str] = &["demo-admin", "demo-committee", "demo-social", "demo-grid", "demo-resident-1"];
    let visitors: &[&'static str] = &["demo-admin", "demo-committee", "demo-social", "demo-resident-1"];
    let strangers: &[&'static str] = &["demo-leader", "demo-newcomer", "demo-shop"];
    let register = json!({"household_id": demo.households[0][3], "name": "矩阵{caller}", "circumstance": "other",
        "risk_level": "low", "consent_by": "recipient"});
    vec![
        case(Method::POST, "/api/v1/care/recipients", register, managers),
        case(Method::GET, "/api/v1/care/recipients", json!(null), SIGNED_IN),
        hidden(case(Method::GET, "/api/v1/care/recipients/{id}", json!(null), team), strangers),
        hidden(
            case(
                Method::POST,
                "/api/v1/care/recipients/{id}/visitors",
                json!({"user_id": demo.user("demo-resident-1")}),
                managers,
            ),
            strangers,
        ),
        hidden(
            case(
                Method::POST,
                "/api/v1/care/recipients/{id}/devices",
                json!({"vendor": "acme", "device_id": "matrix-{caller}", "kind": "smoke_sensor"}),
                managers,
            ),
            strangers,
        ),
        hidden(
            case(
                Method::POST,
                "/api/v1/care/recipients/{id}/visits",
                json!({"mode": "phone", "wellbeing": "fine"}),
                visitors,
            ),
            strangers,
        ),
        hidden(case(Method::GET, "/api/v1/care/recipients/{id}/visits", json!(null), team), strangers),
        case(Method::GET, "/api/v1/care/tasks", json!(null), SIGNED_IN),
        hidden(case(Method::POST, "/api/v1/care/tasks/{id}/acknowledge", json!({}), team), strangers),
        hidden(case(Method::POST, "/api/v1/care/tasks/{id}/resolve", json!({}), team), strangers),
        // The dashboard is the committee's: the rest of the care team, like everyone else, is refused.
        case(Method::GET, "/api/v1/communities/{id}/care/dashboard", json!(null), &["demo-admin", "demo-committee"]),
        case(
            Method::GET,
            "/api/v1/communities/{id}/care/dashboard.csv",
            json!(null),
            &["demo-admin", "demo-committee"],
        ),
    ]
}
