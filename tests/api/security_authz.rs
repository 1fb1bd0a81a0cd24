//! Issue 10, the authorisation half: handler access ends with the role (item 1), nobody decides their
//! own case (item 3), and role grants are idempotent while duplicates are a 400 (item 5).

use std::collections::{BTreeSet, HashMap};

use ehome_api::cli::admin::{AdminAction, run};
use ehome_api::platform::config::Environment;
use ehome_api::scenes::requests::lifecycle::{Action, ActorKind};
use ehome_tests::{Session, TestApp, error_code, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

mod alliance;

/// Ids of the demo community's first two buildings (1号楼 led by `demo-leader`, 2号楼 with no leader,
/// both in 第一网格 served by `demo-grid`), a free household of 1号楼, and the repair category.
struct Place {
    community: i64,
    building_1: i64,
    building_2: i64,
    free_household: i64,
    repair: i64,
}

/// The demo data, a session per demo user named, and the demo's ids.
async fn demo(names: &[&str]) -> (TestApp, HashMap<String, Session>, Place) {
    let app = spawn_app().await;
    let ids = app.seed_demo().await;
    let mut sessions = HashMap::new();
    for name in names {
        sessions.insert((*name).to_owned(), app.dev_login(name).await);
    }
    let place = Place {
        community: ids.community,
        building_1: ids.buildings[0],
        building_2: ids.buildings[1],
        free_household: ids.households[0][2],
        repair: ids.category("repair"),
    };
    (app, sessions, place)
}

/// Submits a repair request about `building` and returns it.
async fn report(app: &TestApp, at: &Place, token: &str, building: i64, title: &str, anonymous: bool) -> Value {
    let body = json!({"category_id": at.repair, "building_id": building, "title": title,
        "description": format!("{title}，请处理"), "anonymous": anonymous});
    app.submit_body(token, &body).await
}

async fn detail(app: &TestApp, token: &str, id: i64) -> Value {
    let response = app.get(&format!("/requests/{id}"), Some(token)).await;
    assert_eq!(response.status(), 200, "GET /requests/{id}");
    response.json().await.unwrap()
}

async fn put_roles(app: &TestApp, token: &str, community: i64, user: i64, roles: Value) -> reqwest::Response {
    app.put(&format!("/communities/{community}/members/{user}/roles"), Some(token), &json!({"roles": roles})).await
}

async fn listed(app: &TestApp, token: &str, query: &str) -> Vec<i64> {
    let response = app.get(&format!("/requests?{query}"), Some(token)).await;
    assert_eq!(response.status(), 200, "GET /requests?{query}");
    let body: Value = response.json().await.unwrap();
    body["items"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

/// What a former handler must no longer reach: the request, its list entry, its decisions and its
/// internal notes.
async fn assert_locked_out(app: &TestApp, token: &str, community: i64, ids: &[i64]) {
    for &id in ids {
        let read = app.get(&format!("/requests/{id}"), Some(token)).await;
        assert_eq!(read.status(), 404, "request {id} must not exist for a former handler");
        assert_eq!(app.act(token, id, "accept", None).await.status(), 404, "accept {id}");
        let note = json!({"body": "内部备注", "internal": true});
        let comment = app.post(&format!("/requests/{id}/comments"), Some(token), &note).await;
        assert_eq!(comment.status(), 404, "internal comment on {id}");
    }
    let visible = listed(app, token, &format!("community_id={community}")).await;
    assert!(ids.iter().all(|id| !visible.contains(id)), "{ids:?} listed to a former handler: {visible:?}");
}

/// The request now at `assignee` (none: the level's shared queue), with a public timeline entry saying so.
async fn assert_handed_to(app: &TestApp, token: &str, id: i64, assignee: Option<i64>, level: &str) {
    let found = detail(app, token, id).await;
    assert_eq!(found["request"]["assignee_id"], json!(assignee), "assignee of {id}: {found}");
    assert_eq!(found["request"]["assignee_level"], level, "level of {id}");
    let timeline = found["timeline"].as_array().unwrap();
    let handed = timeline.iter().any(|e| e["kind"] == "reassigned" && e["assignee_id"] == json!(assignee));
    assert!(handed, "no handover entry in the timeline of {id}: {timeline:?}");
}

#[tokio::test]
async fn removing_every_role_of_a_leader_ends_their_access_and_hands_their_requests_up() {
    let (app, s, at) = demo(&["demo-leader", "demo-committee", "demo-grid", "demo-resident-1"]).await;
    let (leader, committee, grid) = (&s["demo-leader"], &s["demo-committee"], &s["demo-grid"]);
    let resident = &s["demo-resident-1"].access;
    let anonymous = report(&app, &at, resident, at.building_1, "楼道灯坏了", true).await["id"].as_i64().unwrap();
    app.wechat.set_text_verdict("待审核", "review");
    let held = report(&app, &at, resident, at.building_1, "电梯异响待审核", false).await;
    assert_eq!(held["moderation"], "held");
    let ids = [anonymous, held["id"].as_i64().unwrap()];
    for id in ids {
        assert_eq!(detail(&app, &leader.access, id).await["request"]["assignee_id"], json!(leader.user_id));
    }
    let note = json!({"body": "联系物业维修", "internal": true});
    let noted = app.post(&format!("/requests/{anonymous}/comments"), Some(&leader.access), &note).await;
    assert_eq!(noted.status(), 201, "the leader handles it while a leader");

    let removed = put_roles(&app, &committee.access, at.community, leader.user_id, json!([])).await;
    assert_eq!(removed.status(), 200);

    assert_locked_out(&app, &leader.access, at.community, &ids).await;
    let by_assignee =
        listed(&app, &leader.access, &format!("community_id={}&assignee_id={}", at.community, leader.user_id)).await;
    assert!(by_assignee.is_empty(), "listing by assignee still shows {by_assignee:?}");
    for id in ids {
        assert_handed_to(&app, &committee.access, id, Some(grid.user_id), "grid_worker").await;
    }
    assert_eq!(app.act(&grid.access, anonymous, "accept", None).await.status(), 200, "the grid worker takes it");
}

#[tokio::test]
async fn narrowing_a_leader_hands_over_only_the_buildings_they_lost() {
    let (app, s, at) = demo(&["demo-leader", "demo-committee", "demo-grid", "demo-resident-1"]).await;
    let (leader, committee, grid) = (&s["demo-leader"], &s["demo-committee"], &s["demo-grid"]);
    let both = json!([{"role": "building_leader", "scope_ids": [at.building_1, at.building_2]}]);
    assert_eq!(put_roles(&app, &committee.access, at.community, leader.user_id, both).await.status(), 200);
    let resident = &s["demo-resident-1"].access;
    let lost = report(&app, &at, resident, at.building_1, "一号楼水管漏水", false).await["id"].as_i64().unwrap();
    let kept = report(&app, &at, resident, at.building_2, "二号楼门禁坏了", false).await["id"].as_i64().unwrap();

    let narrowed = json!([{"role": "building_leader", "scope_ids": [at.building_2]}]);
    assert_eq!(put_roles(&app, &committee.access, at.community, leader.user_id, narrowed).await.status(), 200);

    assert_handed_to(&app, &committee.access, lost, Some(grid.user_id), "grid_worker").await;
    assert_eq!(detail(&app, &leader.access, kept).await["request"]["assignee_id"], json!(leader.user_id));
    assert_eq!(app.act(&leader.access, kept, "accept", None).await.status(), 200, "still leads 2号楼");
    // Published requests stay readable to members, but the lost one no longer as its handler.
    let public = detail(&app, &leader.access, lost).await;
    assert!(public["request"]["reporter"]["id"].is_null(), "the reporter's id leaks: {public}");
    assert!(public["timeline"].as_array().unwrap().iter().all(|e| e["internal"] == false));
    assert_eq!(app.act(&leader.access, lost, "accept", None).await.status(), 403);
    // Nor can the committee hand it back to someone whose role does not cover it.
    let back = json!({"action": "reassign", "assignee_id": leader.user_id});
    let refused = app.post(&format!("/requests/{lost}/transitions"), Some(&committee.access), &back).await;
    assert_eq!(refused.status(), 400);
    assert_eq!(error_code(refused).await, "VALIDATION_FAILED");
}

#[tokio::test]
async fn the_operator_revoking_a_social_worker_hands_their_assigned_requests_back_to_the_committee() {
    let (app, s, at) = demo(&["demo-social", "demo-committee", "demo-resident-1"]).await;
    let (social, committee) = (&s["demo-social"], &s["demo-committee"]);
    // Held, so that only its handlers and reporter can see it at all.
    app.wechat.set_text_verdict("待审核", "review");
    let held = report(&app, &at, &s["demo-resident-1"].access, at.building_1, "独居老人需探访待审核", true).await;
    let id = held["id"].as_i64().unwrap();
    assert_eq!(app.get(&format!("/requests/{id}"), Some(&social.access)).await.status(), 404, "not theirs yet");
    let to_social = json!({"action": "reassign", "assignee_id": social.user_id});
    let reassigned = app.post(&format!("/requests/{id}/transitions"), Some(&committee.access), &to_social).await;
    assert_eq!(reassigned.status(), 200);
    assert_eq!(listed(&app, &social.access, &format!("community_id={}", at.community)).await, vec![id]);
    let theirs = detail(&app, &social.access, id).await;
    assert!(!theirs["request"]["reporter"]["id"].is_null(), "the assigned social worker handles it: {theirs}");

    let revoke = AdminAction::Revoke {
        user: social.user_id.to_string(),
        community: at.community,
        role: "social_worker".to_owned(),
        scope_ids: vec![],
    };
    run(revoke, &app.db, &app.state.cache).await.unwrap();

    assert_locked_out(&app, &social.access, at.community, &[id]).await;
    // The committee assigned it at its own level; a handover does not climb past the committee.
    assert_handed_to(&app, &committee.access, id, None, "committee").await;
}

#[tokio::test]
async fn a_leader_reporting_in_their_own_building_is_passed_over_but_keeps_the_reporters_say() {
    let (app, s, at) = demo(&["demo-leader", "demo-committee", "demo-grid"]).await;
    let (leader, grid) = (&s["demo-leader"], &s["demo-grid"]);
    let own = report(&app, &at, &leader.access, at.building_1, "我楼下水道堵了", false).await;
    let id = own["id"].as_i64().unwrap();
    assert_eq!(own["assignee_id"], json!(grid.user_id), "routed past the reporter: {own}");
    assert_eq!(own["assignee_level"], "grid_worker");

    let seen = detail(&app, &leader.access, id).await;
    assert_eq!(seen["actions"], json!(["withdraw"]), "a party is offered only the reporter's actions");
    let refused = app.act(&leader.access, id, "accept", None).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(error_code(refused).await, "PARTY_TO_CASE");

    for action in ["accept", "start", "resolve"] {
        assert_eq!(app.act(&grid.access, id, action, None).await.status(), 200, "grid worker: {action}");
    }
    assert_eq!(app.act(&leader.access, id, "confirm", None).await.status(), 200, "the reporter confirms");
    let rated = app.post(&format!("/requests/{id}/rating"), Some(&leader.access), &json!({"score": 5})).await;
    assert_eq!(rated.status(), 200, "the reporter rates");
}

/// A building with two leaders: a report goes to the one who has led it longest, and when that leader
/// reports, to the other at the same level (not up to the grid worker); a neighbour's report after
/// the first leader steps down goes to the second.
#[tokio::test]
async fn of_two_leaders_of_a_building_the_longest_standing_one_who_is_not_the_reporter_takes_it() {
    let (app, s, at) = demo(&["demo-leader", "demo-committee", "demo-resident-2", "demo-resident-1"]).await;
    let (leader, committee, second) = (&s["demo-leader"], &s["demo-committee"], &s["demo-resident-2"]);
    let resident = &s["demo-resident-1"].access;
    let both = json!([{"role": "building_leader", "scope_ids": [at.building_1]}]);
    let granted = put_roles(&app, &committee.access, at.community, second.user_id, both).await;
    assert_eq!(granted.status(), 200, "{}", granted.text().await.unwrap());

    let neighbours = report(&app, &at, resident, at.building_1, "楼道堆满杂物", false).await;
    assert_eq!(
        (neighbours["assignee_id"].clone(), neighbours["assignee_level"].clone()),
        (json!(leader.user_id), json!("building_leader"))
    );
    let own = report(&app, &at, &leader.access, at.building_1, "我家门口漏水", false).await;
    assert_eq!(
        (own["assignee_id"].clone(), own["assignee_level"].clone()),
        (json!(second.user_id), json!("building_leader"))
    );

    let stepped_down = put_roles(&app, &committee.access, at.community, leader.user_id, json!([])).await;
    assert_eq!(stepped_down.status(), 200);
    let next = report(&app, &at, resident, at.building_1, "电梯按钮失灵", false).await;
    assert_eq!(
        (next["assignee_id"].clone(), next["assignee_level"].clone()),
        (json!(second.user_id), json!("building_leader"))
    );
}

#[tokio::test]
async fn a_leader_cannot_approve_their_own_join_request_but_the_committee_can() {
    let (app, s, at) = demo(&["demo-leader", "demo-committee"]).await;
    let (leader, committee) = (&s["demo-leader"], &s["demo-committee"]);
    let path = format!("/households/{}/join-requests", at.free_household);
    let claim: Value = app.post(&path, Some(&leader.access), &json!({})).await.json().await.unwrap();
    let approve = format!("/join-requests/{}/approve", claim["id"]);
    let refused = app.post(&approve, Some(&leader.access), &json!({})).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(error_code(refused).await, "PARTY_TO_CASE");
    let approved = app.post(&approve, Some(&committee.access), &json!({})).await;
    assert_eq!(approved.status(), 200);
    assert_eq!(approved.json::<Value>().await.unwrap()["decided_by"], json!(committee.user_id));
}

/// One decision route: who holds the role to decide it, tried as a party to their own case.
struct Decision {
    method: Method,
    path: &'static str,
    /// For the transitions route: the action decided.
    action: Option<&'static str>,
    deciders: &'static [&'static str],
}

const JOIN_DECIDERS: &[&str] = &["demo-leader", "demo-committee", "demo-admin"];
const HANDLERS: &[&str] = &["demo-leader", "demo-grid", "demo-committee", "demo-admin"];
const SUPERVISORS: &[&str] = &["demo-grid", "demo-committee", "demo-admin"];
const MODERATORS: &[&str] = &["demo-committee", "demo-admin"];
const VOLUNTEER_DECIDERS: &[&str] = &["demo-committee", "demo-social", "demo-admin"];
const TRANSITIONS: &str = "/api/v1/requests/{id}/transitions";
/// Who may decide an activity's hours: its organisers (the committee, a social worker, an admin).
const ORGANISERS: &[&str] = &["demo-committee", "demo-social", "demo-admin"];
/// Who redeems at the demo shop's counter.
const CLERKS: &[&str] = &["demo-shop"];
const MERCHANT_DECISIONS: &str = "/api/v1/merchants/{id}/transitions";
const CAPTURE: &str = "/api/v1/redemptions";
const REFUND: &str = "/api/v1/redemptions/{id}/refund";
const HELP_DECISION: &str = "/api/v1/help-posts/{id}/decision";
const HELP_RESTORE: &str = "/api/v1/help-posts/{id}/restore";
const SETTLEMENT_DECISIONS: [&str; 2] = ["/api/v1/settlements/{id}/approve", "/api/v1/settlements/{id}/paid"];
/// Who refunds after the shop's window and redeems as a resident too (a platform admin is a member
/// of no community, so has no redemption of their own to refund).
const REFUNDERS: &[&str] = &["demo-committee"];

fn decisions() -> Vec<Decision> {
    let route = |method: Method, path, deciders| Decision { method, path, action: None, deciders };
    let transition =
        |action, deciders| Decision { method: Method::POST, path: TRANSITIONS, action: Some(action), deciders };
    vec![
        route(Method::POST, "/api/v1/join-requests/{id}/approve", JOIN_DECIDERS),
        route(Method::POST, "/api/v1/join-requests/{id}/reject", JOIN_DECIDERS),
        route(Method::PUT, "/api/v1/communities/{id}/members/{user_id}/roles", MODERATORS),
        route(Method::POST, "/api/v1/polls/{id}/proxy-ballots", JOIN_DECIDERS),
        route(Method::PUT, "/api/v1/households/{id}/representative", JOIN_DECIDERS),
        route(Method::POST, "/api/v1/volunteers/{id}/decision", VOLUNTEER_DECIDERS),
        route(Method::POST, "/api/v1/activities/{id}/hours/approve", ORGANISERS),
        route(Method::POST, "/api/v1/activities/{id}/hours/{signup_id}/adjust", ORGANISERS),
        route(Method::POST, "/api/v1/activities/{id}/hours/{signup_id}/decline", ORGANISERS),
        transition("accept", HANDLERS),
        transition("start", HANDLERS),
        transition("resolve", HANDLERS),
        transition("reject", HANDLERS),
        transition("escalate", HANDLERS),
        transition("reassign", SUPERVISORS),
        transition("release", MODERATORS),
        route(Method::POST, "/api/v1/deliberations/{id}/groups/{group_id}/representatives", MODERATORS),
        route(Method::POST, "/api/v1/deliberations/{id}/professionals", MODERATORS),
        route(Method::POST, MERCHANT_DECISIONS, MODERATORS),
        route(Method::POST, CAPTURE, CLERKS),
        route(Method::POST, REFUND, REFUNDERS),
        route(Method::POST, HELP_DECISION, MODERATORS),
        route(Method::POST, HELP_RESTORE, MODERATORS),
        route(Method::POST, SETTLEMENT_DECISIONS[0], MODERATORS),
        route(Method::POST, SETTLEMENT_DECISIONS[1], MODERATORS),
    ]
}

/// Every other write route, and why it decides nothing about anyone but the caller's own matter or
/// the community's structure.
const NOT_DECISIONS: &[(&str, &str, &str)] = &[
    ("POST", "/api/v1/auth/wechat/login", "signs the caller in"),
    ("POST", "/api/v1/auth/refresh", "renews the caller's own session"),
    ("POST", "/api/v1/auth/logout", "ends the caller's own session"),
    ("POST", "/api/v1/auth/dev-login", "dev only: signs in"),
    ("PATCH", "/api/v1/me", "the caller's own profile"),
    ("POST", "/api/v1/me/phone", "the caller's own phone number"),
    ("POST", "/api/v1/communities", "structure: no one is a party to a community's creation"),
    ("POST", "/api/v1/communities/{id}/grids", "structure"),
    ("POST", "/api/v1/grids/{id}/buildings", "structure"),
    ("POST", "/api/v1/buildings/{id}/households", "structure"),
    ("POST", "/api/v1/households/{id}/join-requests", "the applicant opens their own case"),
    ("POST", "/api/v1/requests", "the reporter opens their own case"),
    ("POST", "/api/v1/requests/{id}/comments", "a voice in the case, not a decision (internal notes need a handler)"),
    ("POST", "/api/v1/requests/{id}/rating", "the reporter's own say about how they were served"),
    ("POST", "/api/v1/requests/{id}/me-too", "follows a case"),
    ("POST", "/api/v1/communities/{id}/categories", "settings"),
    ("PATCH", "/api/v1/categories/{id}", "settings"),
    ("POST", "/api/v1/me/notifications/{id}/read", "the caller's own inbox"),
    ("POST", "/api/v1/me/notifications/read-all", "the caller's own inbox"),
    ("POST", "/api/v1/ledger/verify", "checks the books; decides nothing"),
    ("POST", "/api/v1/notices", "publishes to an area; no one's case"),
    ("POST", "/api/v1/notices/{id}/read", "the caller's own household's read receipt"),
    ("POST", "/api/v1/notices/{id}/told-in-person", "records a visit; decides nothing about the household"),
    ("POST", "/api/v1/deliberations", "the proposer opens a topic"),
    ("POST", "/api/v1/deliberations/{id}/transitions", "moves a topic; seats on the panel are the decisions"),
    ("POST", "/api/v1/deliberations/{id}/groups", "names who is affected; seats are decided apart"),
    ("POST", "/api/v1/deliberations/{id}/meetings", "schedules a meeting"),
    ("POST", "/api/v1/deliberations/{id}/groups/{group_id}/election", "opens the group's vote; the group decides"),
    ("POST", "/api/v1/deliberations/{id}/groups/{group_id}/election/seats", "seats whom the group's poll elected"),
    ("POST", "/api/v1/deliberations/{id}/meetings/{meeting_id}/attendees", "the chair records who was there"),
    ("POST", "/api/v1/deliberations/{id}/meetings/{meeting_id}/minutes", "the chair's record of the meeting"),
    (
        "POST",
        "/api/v1/deliberations/{id}/meetings/{meeting_id}/minutes/{version}/sign-off",
        "the chair signs their record",
    ),
    ("POST", "/api/v1/deliberations/{id}/resolutions", "the owner is never the recorder (the request's reporter)"),
    // The care round: registering a recipient and assigning visitors or devices refuse the recipient
    // themself (`Case::CareRecipient`, tested in care.rs); the rest is the care team's own work.
    ("POST", "/api/v1/care/recipients", "care team's registration; the recipient is refused (care.rs)"),
    ("POST", "/api/v1/care/recipients/{id}/visitors", "care team's arrangement; the recipient is refused"),
    ("POST", "/api/v1/care/recipients/{id}/devices", "care team's arrangement; the recipient is refused"),
    ("POST", "/api/v1/care/recipients/{id}/visits", "the visitor records their own visit"),
    ("POST", "/api/v1/care/alerts", "a device vendor's signed report; decides about no person"),
    ("POST", "/api/v1/care/tasks/{id}/acknowledge", "the assignee takes the task"),
    ("POST", "/api/v1/care/tasks/{id}/resolve", "the assignee closes the task they handled"),
    ("POST", "/api/v1/polls", "asks a question; decides nothing about a person"),
    ("POST", "/api/v1/polls/{id}/ballots", "the caller's own (household's) ballot"),
    ("POST", "/api/v1/volunteers", "the applicant opens their own case"),
    ("PATCH", "/api/v1/volunteers/{id}", "the volunteer's own registration; a decision stands"),
    ("POST", "/api/v1/teams", "organises volunteering; the leader named is chosen, not judged"),
    ("POST", "/api/v1/teams/{id}/members", "arranges a team (approved volunteers only); no one's case"),
    ("DELETE", "/api/v1/teams/{id}/members/{user_id}", "arranges a team; no one's case"),
    ("POST", "/api/v1/activities", "organises an activity"),
    ("PATCH", "/api/v1/activities/{id}", "edits a draft activity"),
    ("POST", "/api/v1/activities/{id}/transitions", "moves an activity; decides about no person"),
    ("POST", "/api/v1/activities/{id}/beneficiaries", "a count of people served"),
    ("POST", "/api/v1/activities/{id}/signups", "the volunteer's own sign-up"),
    ("DELETE", "/api/v1/activities/{id}/signups/me", "the volunteer's own sign-up"),
    ("POST", "/api/v1/activities/{id}/checkin", "the volunteer's own attendance, proven by the code"),
    ("POST", "/api/v1/activities/{id}/checkout", "the volunteer's own attendance, proven by the code"),
    ("POST", "/api/v1/merchants", "the owner opens their own case"),
    ("POST", "/api/v1/merchants/{id}/staff-invites", "the owner runs their own shop"),
    ("DELETE", "/api/v1/merchants/{id}/staff/{user_id}", "the owner runs their own shop"),
    ("POST", "/api/v1/staff-invites/accept", "accepts the owner's invitation; the owner decided"),
    ("POST", "/api/v1/merchants/{id}/offers", "the shop's own offers"),
    ("PATCH", "/api/v1/offers/{id}", "the shop's own offers"),
    ("DELETE", "/api/v1/offers/{id}", "the shop's own offers"),
    ("POST", "/api/v1/redemptions/codes", "the resident opens their own case"),
    ("POST", "/api/v1/redemptions/{id}/cancel", "the resident withdraws their own code"),
    ("POST", "/api/v1/help-posts", "the resident opens their own post"),
    ("POST", "/api/v1/help-posts/{id}/claim", "a neighbour offers their own help; the author is refused"),
    ("POST", "/api/v1/help-posts/{id}/withdraw", "the helper withdraws their own claim"),
    ("POST", "/api/v1/help-posts/{id}/complete", "the helper says their own part is done"),
    ("POST", "/api/v1/help-posts/{id}/confirm", "the poster speaks in their own case (a party may confirm)"),
    ("POST", "/api/v1/help-posts/{id}/cancel", "the poster withdraws their own post"),
    ("POST", "/api/v1/help-posts/{id}/report", "asks the committee to look; decides nothing"),
    (
        "PUT",
        "/api/v1/communities/{id}/help-posts/settings",
        "the committee's rule for all later confirmations; names no one's case",
    ),
    ("PUT", "/api/v1/communities/{id}/settlement-rate", "settings"),
    ("POST", "/api/v1/merchants/{id}/settlements", "the shop's own statement; the committee decides on it"),
    ("POST", "/api/v1/settlements/{id}/cancel", "withdraws a draft; nothing is retired or paid"),
];

/// The decision table is complete: every write route is either a decision or listed as none, and
/// every transition a non-reporter takes is a row.
fn assert_every_decision_is_listed(table: &[Decision]) {
    let writes: BTreeSet<(String, String)> =
        ehome_api::routes::route_table(Environment::Dev).into_iter().filter(|(method, _)| method != "GET").collect();
    let mut classified: BTreeSet<(String, String)> =
        NOT_DECISIONS.iter().map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned())).collect();
    classified.extend(table.iter().map(|d| (d.method.as_str().to_owned(), d.path.to_owned())));
    assert_eq!(writes, classified, "a write route is neither a decision row nor in NOT_DECISIONS");
    let decided: BTreeSet<&str> = table.iter().filter_map(|d| d.action).collect();
    // The jobs' actions (`ActorKind::System`) are not on the route: the body cannot name them.
    let handler_actions: BTreeSet<&str> = Action::ALL
        .iter()
        .filter(|a| !matches!(a.actor(), ActorKind::Reporter | ActorKind::System))
        .map(|a| a.as_str())
        .collect();
    assert_eq!(decided, handler_actions, "every action a person other than the reporter takes is a decision row");
}

/// The case each decider is a party to, made once and reused: a refused decision changes nothing.
struct Cases {
    join_requests: HashMap<&'static str, i64>,
    requests: HashMap<&'static str, i64>,
    /// An anchored deliberation with one group whose members are the deciders: (deliberation, group).
    deliberation: (i64, i64),
    /// A household of building 1 each join decider belongs to, and a poll they could record its
    /// paper ballot in.
    households: HashMap<&'static str, i64>,
    poll: (i64, i64),
    volunteers: HashMap<&'static str, i64>,
    /// An ended activity and the decider's own sign-up to it.
    hours: HashMap<&'static str, (i64, i64)>,
    /// A pending shop each moderator owns.
    shops: HashMap<&'static str, i64>,
    /// A code each clerk holds for their own shop's offer.
    codes: HashMap<&'static str, String>,
    /// A redemption of each moderator's own, captured at the demo shop.
    redemptions: HashMap<&'static str, i64>,
    /// A help post each moderator published.
    help_posts: HashMap<&'static str, i64>,
    /// A draft settlement statement of a shop each moderator owns.
    statements: HashMap<&'static str, i64>,
}

async fn cases_of(app: &TestApp, s: &HashMap<String, Session>, at: &Place) -> Cases {
    let committee = &s["demo-committee"].access;
    let topic = json!({"community_id": at.community, "title": "议题", "issue": "问题", "scope": {"kind": "community"}});
    let deliberation = app.post_json("/deliberations", Some(committee), &topic).await["id"].as_i64().unwrap();
    let anchor = json!({"action": "anchor"});
    app.post(&format!("/deliberations/{deliberation}/transitions"), Some(committee), &anchor).await;
    let members: Vec<i64> = s.values().map(|session| session.user_id).collect();
    let group = json!({"name": "全体", "member_ids": members});
    let group = app.post_json(&format!("/deliberations/{deliberation}/groups"), Some(committee), &group).await;
    let deliberation = (deliberation, group["id"].as_i64().unwrap());
    let mut cases = Cases {
        join_requests: HashMap::new(),
        requests: HashMap::new(),
        deliberation,
        households: HashMap::new(),
        poll: (0, 0),
        volunteers: HashMap::new(),
        hours: HashMap::new(),
        shops: HashMap::new(),
        codes: HashMap::new(),
        redemptions: HashMap::new(),
        help_posts: HashMap::new(),
        statements: HashMap::new(),
    };
    for decider in VOLUNTEER_DECIDERS {
        let body = json!({"community_id": at.community, "skills": ["environment"]});
        let registration = app.post("/volunteers", Some(&s[*decider].access), &body).await;
        assert_eq!(registration.status(), 201, "{decider} registers as a volunteer");
        cases.volunteers.insert(decider, registration.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    for decider in JOIN_DECIDERS {
        let path = format!("/households/{}/join-requests", at.free_household);
        let claim = app.post(&path, Some(&s[*decider].access), &json!({})).await;
        assert_eq!(claim.status(), 201, "{decider} claims a home");
        cases.join_requests.insert(decider, claim.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    for decider in HANDLERS {
        let own = report(app, at, &s[*decider].access, at.building_1, &format!("{decider}家门口积水"), false).await;
        cases.requests.insert(decider, own["id"].as_i64().unwrap());
    }
    let homes = app.demo().await.households[0].clone();
    for (decider, home) in JOIN_DECIDERS.iter().zip([homes[1], homes[3], homes[4]]) {
        crate::polls::join(app, at.community, home, s[*decider].user_id).await;
        cases.households.insert(decider, home);
    }
    let body = crate::polls::poll_body(app, at.community, json!({}));
    let poll: Value = app.post_json("/polls", Some(&s["demo-committee"].access), &body).await;
    cases.poll = (poll["poll"]["id"].as_i64().unwrap(), poll["poll"]["options"][0]["id"].as_i64().unwrap());
    let demo = app.demo().await;
    let (starts, ends) = ("2026-11-28T09:00:00+08:00", "2026-11-28T12:00:00+08:00");
    let activity = crate::service_hours::setup::ended_activity(app, &demo, "社区义诊", starts, ends, 1000).await;
    for decider in ORGANISERS {
        let signup =
            crate::service_hours::setup::sign_up(app, activity, s[*decider].user_id, Some(starts), Some(ends)).await;
        cases.hours.insert(decider, (activity, signup));
    }
    alliance::alliance_cases(app, s, at, &mut cases).await;
    cases.statements = alliance::statements(app, s, at).await;
    for decider in MODERATORS {
        let body = json!({"community_id": at.community, "kind": "need", "category": "repair", "title": "修水龙头",
            "description": "厨房水龙头漏水"});
        let posted = app.post_json("/help-posts", Some(&s[*decider].access), &body).await;
        cases.help_posts.insert(decider, posted["id"].as_i64().unwrap());
    }
    cases
}

#[tokio::test]
async fn every_decision_route_refuses_a_party_to_the_case() {
    let table = decisions();
    assert_every_decision_is_listed(&table);
    let names = ["demo-leader", "demo-grid", "demo-committee", "demo-admin", "demo-social", "demo-shop"];
    let (app, s, at) = demo(&names).await;
    let cases = cases_of(&app, &s, &at).await;
    for decision in &table {
        for decider in decision.deciders {
            let session = &s[*decider];
            let (activity, signup) = cases.hours.get(decider).copied().unwrap_or_default();
            let (id, body) = match decision.action {
                None if decision.path.contains("join-requests") => (cases.join_requests[decider], json!({})),
                None if decision.path.ends_with("professionals") => {
                    (cases.deliberation.0, json!({"user_id": session.user_id, "profession": "lawyer"}))
                }
                None if decision.path.contains("deliberations") => {
                    (cases.deliberation.0, json!({"user_id": session.user_id, "reason": "理由"}))
                }
                None if decision.path.contains("proxy-ballots") => {
                    let (poll, option) = cases.poll;
                    (poll, json!({"household_id": cases.households[decider], "option_ids": [option], "note": "代投"}))
                }
                None if decision.path.contains("representative") => {
                    (cases.households[decider], json!({"user_id": session.user_id}))
                }
                None if decision.path.contains("volunteers") => {
                    (cases.volunteers[decider], json!({"decision": "approve"}))
                }
                None if SETTLEMENT_DECISIONS.contains(&decision.path) => {
                    (cases.statements[decider], json!({"bank_reference": "ICBC-1"}))
                }
                None if decision.path.ends_with("/approve") => (activity, json!({"signup_ids": [signup]})),
                None if decision.path.ends_with("/adjust") => (activity, json!({"minutes": 60, "reason": "理由"})),
                None if decision.path.ends_with("/decline") => (activity, json!({"reason": "理由"})),
                None if decision.path == MERCHANT_DECISIONS => (cases.shops[decider], json!({"action": "approve"})),
                None if decision.path == CAPTURE => (0, json!({"code": cases.codes[decider]})),
                None if decision.path == REFUND => (cases.redemptions[decider], json!({})),
                None if decision.path == HELP_DECISION => (cases.help_posts[decider], json!({"outcome": "pay"})),
                None if decision.path == HELP_RESTORE => (cases.help_posts[decider], json!({})),
                None => (at.community, json!({"roles": [{"role": "volunteer"}]})),
                Some(action) => {
                    let mut body = json!({"action": action, "note": "理由"});
                    if action == "reassign" {
                        body["assignee_id"] = json!(s["demo-social"].user_id);
                    }
                    (cases.requests[decider], body)
                }
            };
            let path = decision
                .path
                .replace("{id}", &id.to_string())
                .replace("{user_id}", &session.user_id.to_string())
                .replace("{group_id}", &cases.deliberation.1.to_string())
                .replace("{signup_id}", &signup.to_string());
            let response =
                app.request(decision.method.clone(), &path, Some(&session.access)).json(&body).send().await.unwrap();
            let what = format!("{} {path} {:?} by {decider}, a party", decision.method, decision.action);
            assert_eq!(response.status(), 403, "{what}");
            assert_eq!(error_code(response).await, "PARTY_TO_CASE", "{what}");
        }
    }
}

#[tokio::test]
async fn a_role_or_scope_id_listed_twice_is_a_400() {
    let (app, s, at) = demo(&["demo-committee", "demo-newcomer"]).await;
    let target = s["demo-newcomer"].user_id;
    let twice = [
        json!([{"role": "volunteer"}, {"role": "volunteer"}]),
        json!([{"role": "building_leader", "scope_ids": [at.building_1]}, {"role": "building_leader", "scope_ids": [at.building_2]}]),
        json!([{"role": "building_leader", "scope_ids": [at.building_1, at.building_1]}]),
    ];
    for roles in twice {
        let response = put_roles(&app, &s["demo-committee"].access, at.community, target, roles.clone()).await;
        assert_eq!(response.status(), 400, "{roles}");
        assert_eq!(error_code(response).await, "INVALID_ROLE", "{roles}");
    }
    let read: Value = app
        .get(&format!("/communities/{}/members/{target}/roles", at.community), Some(&s["demo-committee"].access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["roles"], json!([]), "a refused set changes nothing");
}

#[tokio::test]
async fn approving_someone_who_already_holds_the_resident_role_is_idempotent() {
    let (app, s, at) = demo(&["demo-committee", "demo-newcomer"]).await;
    let (committee, newcomer) = (&s["demo-committee"], &s["demo-newcomer"]);
    let resident = json!([{"role": "resident"}]);
    assert_eq!(put_roles(&app, &committee.access, at.community, newcomer.user_id, resident).await.status(), 200);
    let path = format!("/households/{}/join-requests", at.free_household);
    let claim: Value = app.post(&path, Some(&newcomer.access), &json!({})).await.json().await.unwrap();
    let approved =
        app.post(&format!("/join-requests/{}/approve", claim["id"]), Some(&committee.access), &json!({})).await;
    assert_eq!(approved.status(), 200, "{}", approved.text().await.unwrap());
    let read: Value = app
        .get(&format!("/communities/{}/members/{}/roles", at.community, newcomer.user_id), Some(&newcomer.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["roles"], json!([{"role": "resident", "scope_ids": []}]));
}
