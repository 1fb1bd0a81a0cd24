//! Text that other people see: every route that takes such text runs the content check (a table of
//! routes, walked with a risky text, that must cover every write route of the app); one rule refuses
//! control characters, bidirectional overrides and invisible-only text; every CSV cell is neutralised.

use std::collections::BTreeSet;

use ehome_api::platform::config::Environment;
use ehome_tests::{error_code, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

/// The text the fake WeChat finds risky.
const RISKY: &str = "违禁词RISKY";

/// Write routes whose bodies carry no text that anyone but the caller reads. Every other write route
/// must be in the table of `every_route_that_publishes_text_runs_the_content_check`.
const NO_PUBLIC_TEXT: &[(&str, &str)] = &[
    ("POST", "/api/v1/auth/wechat/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/me/phone"),
    ("PUT", "/api/v1/communities/{id}/members/{user_id}/roles"),
    ("POST", "/api/v1/ledger/verify"),
    ("POST", "/api/v1/me/notifications/{id}/read"),
    ("POST", "/api/v1/me/notifications/read-all"),
    ("POST", "/api/v1/requests/{id}/me-too"),
    ("POST", "/api/v1/merchants/{id}/staff-invites"),
    ("DELETE", "/api/v1/merchants/{id}/staff/{user_id}"),
    ("POST", "/api/v1/staff-invites/accept"),
    ("DELETE", "/api/v1/offers/{id}"),
    ("POST", "/api/v1/redemptions/codes"),
    ("POST", "/api/v1/redemptions"),
    ("POST", "/api/v1/redemptions/{id}/cancel"),
    ("POST", "/api/v1/teams/{id}/members"),
    ("DELETE", "/api/v1/teams/{id}/members/{user_id}"),
    ("POST", "/api/v1/activities/{id}/transitions"),
    ("POST", "/api/v1/activities/{id}/beneficiaries"),
    ("POST", "/api/v1/activities/{id}/signups"),
    ("DELETE", "/api/v1/activities/{id}/signups/me"),
    ("POST", "/api/v1/activities/{id}/checkin"),
    ("POST", "/api/v1/activities/{id}/checkout"),
    ("POST", "/api/v1/activities/{id}/hours/approve"),
    ("POST", "/api/v1/care/recipients/{id}/visitors"),
    ("POST", "/api/v1/care/recipients/{id}/devices"),
    ("POST", "/api/v1/care/alerts"),
    ("POST", "/api/v1/care/tasks/{id}/acknowledge"),
    ("POST", "/api/v1/care/tasks/{id}/resolve"),
    ("POST", "/api/v1/notices/{id}/read"),
    ("POST", "/api/v1/deliberations/{id}/meetings/{meeting_id}/attendees"),
    // The election's ballot shows the group's name and the candidates' nicknames, both screened
    // already; the election is screened again as a poll.
    ("POST", "/api/v1/deliberations/{id}/groups/{group_id}/election"),
    ("POST", "/api/v1/deliberations/{id}/groups/{group_id}/election/seats"),
    ("POST", "/api/v1/deliberations/{id}/meetings/{meeting_id}/minutes/{version}/sign-off"),
    ("POST", "/api/v1/polls/{id}/ballots"),
    ("PUT", "/api/v1/households/{id}/representative"),
    ("POST", "/api/v1/help-posts/{id}/claim"),
    ("POST", "/api/v1/help-posts/{id}/withdraw"),
    ("POST", "/api/v1/help-posts/{id}/complete"),
    ("POST", "/api/v1/help-posts/{id}/cancel"),
    ("POST", "/api/v1/help-posts/{id}/restore"),
    ("POST", "/api/v1/help-posts/{id}/decision"),
    ("PUT", "/api/v1/communities/{id}/help-posts/settings"),
    // Settlement: a rate and a period are numbers and dates; a bank reference is letters, digits and
    // `-_/.` only (anything else is a 400), never prose.
    ("PUT", "/api/v1/communities/{id}/settlement-rate"),
    ("POST", "/api/v1/merchants/{id}/settlements"),
    ("POST", "/api/v1/settlements/{id}/approve"),
    ("POST", "/api/v1/settlements/{id}/paid"),
    ("POST", "/api/v1/settlements/{id}/cancel"),
];

struct Case {
    method: Method,
    template: &'static str,
    path: String,
    token: String,
    body: Value,
}

fn case(method: Method, template: &'static str, path: String, token: &str, body: Value) -> Case {
    Case { method, template, path, token: token.to_owned(), body }
}

#[tokio::test]
async fn every_route_that_publishes_text_runs_the_content_check() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    app.wechat.set_text_verdict("RISKY", "risky");
    let admin = app.dev_login("demo-admin").await.access;
    let committee = app.dev_login("demo-committee").await.access;
    let leader = app.dev_login("demo-leader").await.access;
    let resident = app.dev_login("demo-resident-1").await.access;
    let newcomer = app.dev_login("demo-newcomer").await.access;
    let (community, grid, building) = (demo.community, demo.grids[0], demo.buildings[0]);
    let household = demo.households[0][0];
    // The alliance: the demo shop, an offer of its clerk's and a resident's code for it.
    let clerk = app.dev_login("demo-shop").await.access;
    let shops = app.get_json("/merchants", Some(&resident)).await;
    let shop = shops["items"][0]["id"].as_i64().unwrap();
    let offer = app.add_offer(&clerk, shop, "洗剪吹", "10", json!({})).await;
    app.award_points(community, demo.user("demo-resident-1"), "10").await;
    let (redemption, _) = app.code_for(&resident, offer).await;
    let help_body = json!({"community_id": community, "kind": "offer", "category": "repair", "title": "会修自行车",
        "description": "周末有空"});
    let help_post = app.post_json("/help-posts", Some(&leader), &help_body).await["id"].as_i64().unwrap();
    let repair = demo.category("repair");
    let request = app.submit(&resident, repair, "楼道灯坏了").await["id"].as_i64().unwrap();
    let claim: Value = app
        .post(&format!("/households/{household}/join-requests"), Some(&newcomer), &json!({"note": "新搬来的"}))
        .await
        .json()
        .await
        .unwrap();
    let claim = claim["id"].as_i64().unwrap();
    // 关爱: a care recipient in 1号楼 registered by the committee, whose visits carry notes.
    let care_body = json!({"household_id": demo.households[0][1], "name": "李爷爷", "circumstance": "living_alone",
        "risk_level": "high", "consent_by": "recipient"});
    let cared = app.post_json("/care/recipients", Some(&committee), &care_body).await["id"].as_i64().unwrap();
    // 邻互助: demo-resident-2 an approved volunteer (a team's leader), the building leader's pending
    // registration, and a draft activity.
    let volunteer = app.dev_login("demo-resident-2").await;
    app.approved_volunteer(community, &volunteer, &committee).await;
    let skills = json!({"community_id": community, "skills": ["environment"]});
    let pending: Value = app.post_json("/volunteers", Some(&leader), &skills).await;
    let pending = pending["id"].as_i64().unwrap();
    let draft = app.draft_activity(&committee, community, json!({})).await["id"].as_i64().unwrap();
    // An ended activity with one volunteer's attendance, for the reasons of hour decisions.
    let hours_volunteer = app.dev_login("text-safety-volunteer").await.user_id;
    let (starts, ends) = ("2026-11-28T09:00:00+08:00", "2026-11-28T12:00:00+08:00");
    let activity = crate::service_hours::setup::ended_activity(&app, &demo, "清扫楼道", starts, ends, 1000).await;
    let signup = crate::service_hours::setup::sign_up(&app, activity, hours_volunteer, Some(starts), Some(ends)).await;

    let notice_body = json!({"community_id": community, "scope": {"kind": "buildings", "ids": [building]},
        "title": "停电通知", "body": "周六检修", "importance": "urgent"});
    let notice = app.post_json("/notices", Some(&committee), &notice_body).await["notice"]["id"].as_i64().unwrap();
    let unread_household = demo.households[0][3];
    let (delib, _, meeting) = deliberation_in_meeting(&app, &committee, community, building).await;
    let (anchored, group) = anchored_deliberation(&app, &committee, community, building).await;
    let someone = app.dev_login("text-safety-someone").await.user_id;
    let rep = app.dev_login("text-safety-rep").await.user_id;
    let poll_body = |title: &str, option: &str| {
        let now = chrono::Utc::now();
        json!({"community_id": community, "title": title, "options": ["同意", option], "scope": "community",
               "eligibility": "household", "secrecy": "secret", "results_visibility": "live",
               "opens_at": (now - chrono::Duration::minutes(1)).to_rfc3339(),
               "closes_at": (now + chrono::Duration::days(1)).to_rfc3339()})
    };
    let poll: Value = app.post_json("/polls", Some(&committee), &poll_body("增设快递柜", "反对")).await;
    let poll = poll["poll"]["id"].as_i64().unwrap();
    let risky = |extra: Value| {
        let mut body = extra;
        body.as_object_mut().unwrap().iter_mut().for_each(|(_, v)| {
            if v == "RISKY" {
                *v = json!(RISKY);
            }
        });
        body
    };
    let cases = vec![
        case(
            Method::POST,
            "/api/v1/auth/dev-login",
            "/auth/dev-login".into(),
            "",
            risky(json!({"openid": "new-neighbour", "nickname": "RISKY"})),
        ),
        case(Method::PATCH, "/api/v1/me", "/me".into(), &resident, risky(json!({"nickname": "RISKY"}))),
        case(
            Method::POST,
            "/api/v1/communities",
            "/communities".into(),
            &admin,
            risky(json!({"district": "海曙区", "street": "白云街道", "name": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/communities/{id}/grids",
            format!("/communities/{community}/grids"),
            &committee,
            risky(json!({"name": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/grids/{id}/buildings",
            format!("/grids/{grid}/buildings"),
            &committee,
            risky(json!({"name": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/buildings/{id}/households",
            format!("/buildings/{building}/households"),
            &committee,
            risky(json!({"label": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/households/{id}/join-requests",
            format!("/households/{household}/join-requests"),
            &newcomer,
            risky(json!({"note": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/join-requests/{id}/approve",
            format!("/join-requests/{claim}/approve"),
            &committee,
            risky(json!({"note": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/join-requests/{id}/reject",
            format!("/join-requests/{claim}/reject"),
            &committee,
            risky(json!({"note": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/requests",
            "/requests".into(),
            &resident,
            risky(json!({"category_id": repair, "title": "水管漏水", "description": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/requests",
            "/requests".into(),
            &resident,
            risky(json!({"category_id": repair, "title": "水管漏水", "description": "厨房", "location": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/requests/{id}/transitions",
            format!("/requests/{request}/transitions"),
            &leader,
            risky(json!({"action": "accept", "note": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/requests/{id}/comments",
            format!("/requests/{request}/comments"),
            &resident,
            risky(json!({"body": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/requests/{id}/rating",
            format!("/requests/{request}/rating"),
            &resident,
            risky(json!({"score": 5, "text": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/communities/{id}/categories",
            format!("/communities/{community}/categories"),
            &committee,
            risky(json!({"key": "lift", "name": "RISKY", "response_sla_hours": 4, "resolution_sla_hours": 24})),
        ),
        case(
            Method::POST,
            "/api/v1/activities/{id}/hours/{signup_id}/adjust",
            format!("/activities/{activity}/hours/{signup}/adjust"),
            &committee,
            risky(json!({"minutes": 60, "reason": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/activities/{id}/hours/{signup_id}/decline",
            format!("/activities/{activity}/hours/{signup}/decline"),
            &committee,
            risky(json!({"reason": "RISKY"})),
        ),
        case(
            Method::PATCH,
            "/api/v1/categories/{id}",
            format!("/categories/{repair}"),
            &committee,
            risky(json!({"name": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/volunteers",
            "/volunteers".into(),
            &resident,
            risky(json!({"community_id": community, "skills": ["environment"], "available_times": "RISKY"})),
        ),
        case(
            Method::PATCH,
            "/api/v1/volunteers/{id}",
            format!("/volunteers/{pending}"),
            &leader,
            risky(json!({"available_times": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/volunteers/{id}/decision",
            format!("/volunteers/{pending}/decision"),
            &committee,
            risky(json!({"decision": "approve", "note": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/teams",
            "/teams".into(),
            &committee,
            risky(json!({"community_id": community, "name": "RISKY", "leader_id": volunteer.user_id})),
        ),
        case(
            Method::POST,
            "/api/v1/teams",
            "/teams".into(),
            &committee,
            risky(
                json!({"community_id": community, "name": "助老队", "description": "RISKY", "leader_id": volunteer.user_id}),
            ),
        ),
        case(
            Method::POST,
            "/api/v1/activities",
            "/activities".into(),
            &committee,
            risky(app.activity_body(community, json!({"title": "RISKY"}))),
        ),
        case(
            Method::POST,
            "/api/v1/activities",
            "/activities".into(),
            &committee,
            risky(app.activity_body(community, json!({"place": "RISKY"}))),
        ),
        case(
            Method::PATCH,
            "/api/v1/activities/{id}",
            format!("/activities/{draft}"),
            &committee,
            risky(json!({"description": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/merchants",
            "/merchants".into(),
            &resident,
            risky(json!({"community_id": community, "name": "RISKY", "kind": "shop", "business_category": "理发",
                "address": "1号楼底商", "contact_phone": "13912345678", "licence_number": "91330203MA2",
                "alliance_level": "community"})),
        ),
        case(
            Method::POST,
            "/api/v1/merchants/{id}/transitions",
            format!("/merchants/{shop}/transitions"),
            &committee,
            risky(json!({"action": "suspend", "note": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/merchants/{id}/offers",
            format!("/merchants/{shop}/offers"),
            &clerk,
            risky(json!({"title": "RISKY", "price_points": "5", "valid_until": "2099-01-01T00:00:00Z"})),
        ),
        case(
            Method::PATCH,
            "/api/v1/offers/{id}",
            format!("/offers/{offer}"),
            &clerk,
            risky(json!({"description": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/help-posts",
            "/help-posts".to_owned(),
            &resident,
            risky(json!({"community_id": community, "kind": "need", "category": "other", "title": "RISKY",
                "description": "d"})),
        ),
        case(
            Method::POST,
            "/api/v1/help-posts/{id}/confirm",
            format!("/help-posts/{help_post}/confirm"),
            &resident,
            risky(json!({"rating_text": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/help-posts/{id}/report",
            format!("/help-posts/{help_post}/report"),
            &resident,
            risky(json!({"reason": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/redemptions/{id}/refund",
            format!("/redemptions/{redemption}/refund"),
            &committee,
            risky(json!({"reason": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/notices",
            "/notices".into(),
            &committee,
            risky(json!({"community_id": community, "scope": {"kind": "community"}, "title": "通知", "body": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/notices/{id}/told-in-person",
            format!("/notices/{notice}/told-in-person"),
            &leader,
            risky(json!({"household_id": unread_household, "note": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/deliberations",
            "/deliberations".into(),
            &resident,
            risky(
                json!({"community_id": community, "title": "议题", "issue": "RISKY", "scope": {"kind": "community"}}),
            ),
        ),
        case(
            Method::POST,
            "/api/v1/deliberations/{id}/transitions",
            format!("/deliberations/{delib}/transitions"),
            &committee,
            risky(json!({"action": "close", "note": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/deliberations/{id}/groups",
            format!("/deliberations/{anchored}/groups"),
            &committee,
            risky(json!({"name": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/deliberations/{id}/groups/{group_id}/representatives",
            format!("/deliberations/{anchored}/groups/{group}/representatives"),
            &committee,
            risky(json!({"user_id": rep, "reason": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/deliberations/{id}/professionals",
            format!("/deliberations/{delib}/professionals"),
            &committee,
            risky(json!({"user_id": someone, "profession": "lawyer", "reason": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/deliberations/{id}/meetings",
            format!("/deliberations/{delib}/meetings"),
            &committee,
            risky(json!({"starts_at": "2030-01-01T10:00:00Z", "place": "议事厅", "agenda": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/deliberations/{id}/meetings/{meeting_id}/minutes",
            format!("/deliberations/{delib}/meetings/{meeting}/minutes"),
            &committee,
            risky(json!({"text": "RISKY", "decisions": "决定"})),
        ),
        case(
            Method::POST,
            "/api/v1/deliberations/{id}/resolutions",
            format!("/deliberations/{delib}/resolutions"),
            &committee,
            risky(json!({"owner_id": demo.user("demo-leader"), "due_on": "2099-01-01", "description": "RISKY"})),
        ),
        case(Method::POST, "/api/v1/polls", "/polls".into(), &committee, poll_body(RISKY, "反对")),
        case(Method::POST, "/api/v1/polls", "/polls".into(), &committee, poll_body("增设快递柜", RISKY)),
        case(
            Method::POST,
            "/api/v1/polls/{id}/proxy-ballots",
            format!("/polls/{poll}/proxy-ballots"),
            &leader,
            risky(json!({"household_id": demo.households[0][1], "option_ids": [], "note": "RISKY"})),
        ),
        case(
            Method::POST,
            "/api/v1/care/recipients",
            "/care/recipients".to_owned(),
            &committee,
            risky(json!({"household_id": household, "name": "RISKY", "circumstance": "other", "risk_level": "low",
                "consent_by": "recipient"})),
        ),
        case(
            Method::POST,
            "/api/v1/care/recipients/{id}/visits",
            format!("/care/recipients/{cared}/visits"),
            &committee,
            risky(json!({"mode": "phone", "wellbeing": "fine", "note": "RISKY"})),
        ),
    ];

    // Every write route is either in the table or has no text anyone else reads.
    let covered: BTreeSet<(String, String)> =
        cases.iter().map(|c| (c.method.as_str().to_owned(), c.template.to_owned())).collect();
    let exempt: BTreeSet<(String, String)> =
        NO_PUBLIC_TEXT.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    let writes: BTreeSet<(String, String)> = ehome_api::routes::route_table(Environment::Dev)
        .into_iter()
        .filter(|(method, _)| ["POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()))
        .collect();
    let unlisted: Vec<_> = writes.iter().filter(|r| !covered.contains(*r) && !exempt.contains(*r)).collect();
    assert!(unlisted.is_empty(), "write routes missing from the public-text table (or NO_PUBLIC_TEXT): {unlisted:?}");

    for case in cases {
        let token = (!case.token.is_empty()).then_some(case.token.as_str());
        let response = app.request(case.method.clone(), &case.path, token).json(&case.body).send().await.unwrap();
        let status = response.status();
        let code = error_code(response).await;
        assert_eq!((status.as_u16(), code.as_str()), (422, "CONTENT_REJECTED"), "{} {}", case.method, case.path);
    }

    // Nothing the risky texts were part of exists.
    let names: Value =
        app.get(&format!("/communities/{community}/grids"), Some(&committee)).await.json().await.unwrap();
    assert!(!names.to_string().contains("RISKY"));
    let me: Value = app.get("/me", Some(&resident)).await.json().await.unwrap();
    assert!(!me.to_string().contains("RISKY"));
    let detail: Value = app.get(&format!("/requests/{request}"), Some(&resident)).await.json().await.unwrap();
    assert!(!detail.to_string().contains("RISKY"), "no risky comment, note or rating: {detail}");
    assert_eq!(detail["request"]["status"], "submitted", "the risky note did not accept it");
    let posts: Value = app.get("/help-posts?scope=mine", Some(&resident)).await.json().await.unwrap();
    assert_eq!(posts["items"].as_array().map(Vec::len), Some(0), "no risky help post: {posts}");
}

/// A deliberation affecting `building`, anchored, with a group of one: (deliberation, group).
async fn anchored_deliberation(
    app: &ehome_tests::TestApp,
    committee: &str,
    community: i64,
    building: i64,
) -> (i64, i64) {
    let topic = json!({"community_id": community, "title": "议题", "issue": "问题", "scope": {"kind": "buildings", "ids": [building]}});
    let id = app.post_json("/deliberations", Some(committee), &topic).await["id"].as_i64().unwrap();
    let transition = format!("/deliberations/{id}/transitions");
    app.post(&transition, Some(committee), &json!({"action": "anchor"})).await;
    let rep = app.dev_login("text-safety-rep").await.user_id;
    let group = json!({"name": "居民", "member_ids": [rep]});
    let group =
        app.post_json(&format!("/deliberations/{id}/groups"), Some(committee), &group).await["id"].as_i64().unwrap();
    (id, group)
}

/// A deliberation affecting `building` with its representative appointed and a meeting scheduled:
/// (deliberation, group, meeting).
async fn deliberation_in_meeting(
    app: &ehome_tests::TestApp,
    committee: &str,
    community: i64,
    building: i64,
) -> (i64, i64, i64) {
    let (id, group) = anchored_deliberation(app, committee, community, building).await;
    let transition = format!("/deliberations/{id}/transitions");
    let rep = app.dev_login("text-safety-rep").await.user_id;
    let appoint = json!({"user_id": rep, "reason": "熟悉情况"});
    app.post(&format!("/deliberations/{id}/groups/{group}/representatives"), Some(committee), &appoint).await;
    app.post(&transition, Some(committee), &json!({"action": "choose_representatives"})).await;
    let meeting = json!({"starts_at": "2030-01-01T10:00:00Z", "place": "议事厅", "agenda": "议程"});
    let meeting = app.post_json(&format!("/deliberations/{id}/meetings"), Some(committee), &meeting).await;
    (id, group, meeting["id"].as_i64().unwrap())
}

#[tokio::test]
async fn control_bidi_and_invisible_text_is_refused_everywhere() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let resident = app.dev_login("demo-resident-1").await.access;
    let repair = demo.category("repair");
    let request = app.submit(&resident, repair, "楼道灯坏了").await["id"].as_i64().unwrap();
    for bad in ["灯\u{0}坏了", "灯\u{7}坏了", "\u{202E}了坏灯", "\u{2066}隔离", "\u{200B}\u{200B}", " \u{FEFF} "]
    {
        let attempts = [
            ("/requests", json!({"category_id": repair, "title": bad, "description": "楼道"})),
            ("/requests", json!({"category_id": repair, "title": "楼道灯", "description": bad})),
            ("/requests", json!({"category_id": repair, "title": "楼道灯", "description": "楼道", "location": bad})),
            (&*format!("/requests/{request}/comments"), json!({"body": bad})),
        ];
        for (path, body) in attempts {
            let response = app.post(path, Some(&resident), &body).await;
            assert_eq!(response.status(), 400, "{bad:?} at {path}");
            assert_eq!(error_code(response).await, "VALIDATION_FAILED");
        }
        let response = app.patch("/me", Some(&resident), &json!({"nickname": bad})).await;
        assert_eq!(response.status(), 400, "{bad:?} as a nickname");
    }
    // A multi-line description keeps its newlines and tabs; a title is one line.
    let multi = app
        .post(
            "/requests",
            Some(&resident),
            &json!({"category_id": repair, "title": "水管", "description": "第一行\n\t第二行"}),
        )
        .await;
    assert_eq!(multi.status(), 201);
    let one_line = app
        .post("/requests", Some(&resident), &json!({"category_id": repair, "title": "水\n管", "description": "x"}))
        .await;
    assert_eq!(one_line.status(), 400);
}

#[tokio::test]
async fn every_csv_cell_is_neutralised_whoever_typed_it() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let committee = app.dev_login("demo-committee").await.access;
    let resident = app.dev_login("demo-resident-1").await.access;
    let community = demo.community;
    let created = app
        .post(
            &format!("/communities/{community}/categories"),
            Some(&committee),
            &json!({"key": "lift", "name": "=HYPERLINK(\"http://x\")", "response_sla_hours": 4, "resolution_sla_hours": 24}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let lift = created.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    app.submit(&resident, lift, "@电梯停了").await;
    let csv = app.get(&format!("/communities/{community}/requests.csv"), Some(&committee)).await.text().await.unwrap();
    let row = csv.lines().nth(1).expect("one request row");
    assert!(row.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "the category name is neutralised: {row}");
    assert!(row.contains(",'@电梯停了,"), "the title is neutralised: {row}");
    for cell in row.split(',') {
        assert!(!cell.starts_with(['=', '+', '-', '@']), "a cell starts like a formula: {cell:?} in {row}");
    }
}
