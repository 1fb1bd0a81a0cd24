//! 烦事有计倾 deliberation, end to end: a topic from a 邻办事 request, anchored; stakeholder groups with
//! representatives appointed with a reason; a professional; a meeting chaired and attended; minutes
//! published after sign-off and corrected by a new version; a resolution that becomes a 协商决议
//! request, whose confirmation carries the deliberation out.

use chrono::Duration;
use ehome_api::platform::clock::Clock;
use ehome_tests::{TestApp, error_code, spawn_app};
use serde_json::{Value, json};

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.post(path, Some(token), &body).await
}

async fn created(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let response = post(app, token, path, body.clone()).await;
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert!(status == 201 || status == 200, "POST {path} {body}: {status} {answer}");
    answer
}

async fn refused(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, String) {
    let response = post(app, token, path, body).await;
    let status = response.status().as_u16();
    (status, error_code(response).await)
}

async fn act(app: &TestApp, token: &str, id: i64, action: &str, note: Option<&str>) -> reqwest::Response {
    let mut body = json!({"action": action});
    if let Some(note) = note {
        body["note"] = json!(note);
    }
    post(app, token, &format!("/deliberations/{id}/transitions"), body).await
}

#[tokio::test]
async fn the_full_path_from_a_request_to_a_carried_out_resolution() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [committee, leader, resident, neighbour, far, newcomer, property, lawyer] = app
        .dev_logins([
            "demo-committee",
            "demo-leader",
            "demo-resident-1",
            "demo-resident-2",
            "demo-resident-3",
            "demo-newcomer",
            "property-rep",
            "lawyer-wang",
        ])
        .await;
    let b1 = demo.buildings[0];
    let source = app.submit(&resident.access, demo.category("neighbour_dispute"), "楼下烧烤店油烟扰民").await;
    let source = source["id"].as_i64().unwrap();

    // A resident proposes the topic from their request; the committee anchors it.
    let topic = json!({"community_id": demo.community, "title": "底商油烟扰民", "issue": "一楼烧烤店油烟和噪音影响1号楼住户",
        "evidence": "多户反映，见邻办事", "severity": "high", "urgency": "normal",
        "scope": {"kind": "buildings", "ids": [b1]}, "request_ids": [source]});
    let proposed = created(&app, &resident.access, "/deliberations", topic).await;
    let id = proposed["id"].as_i64().unwrap();
    assert_eq!(proposed["status"], "proposed");
    assert_eq!(act(&app, &resident.access, id, "anchor", None).await.status(), 403, "residents do not anchor");
    assert_eq!(act(&app, &committee.access, id, "anchor", None).await.status(), 200);

    // Stakeholder groups: the residents of 1号楼, the property company.
    let groups = format!("/deliberations/{id}/groups");
    let residents = created(&app, &committee.access, &groups, json!({"name": "1号楼居民", "building_ids": [b1]})).await;
    let members = residents["member_ids"].as_array().unwrap().clone();
    assert!(members.contains(&json!(resident.user_id)) && members.contains(&json!(neighbour.user_id)), "{residents}");
    let company =
        created(&app, &committee.access, &groups, json!({"name": "物业公司", "member_ids": [property.user_id]})).await;
    let (residents, company) = (residents["id"].as_i64().unwrap(), company["id"].as_i64().unwrap());
    let (status, code) = refused(
        &app,
        &committee.access,
        &format!("/deliberations/{id}/transitions"),
        json!({"action": "choose_representatives"}),
    )
    .await;
    assert_eq!((status, code.as_str()), (409, "REPRESENTATIVES_INCOMPLETE"));

    let appoint = |group: i64| format!("/deliberations/{id}/groups/{group}/representatives");
    let seat = created(
        &app,
        &committee.access,
        &appoint(residents),
        json!({"user_id": resident.user_id, "reason": "最早反映问题，熟悉情况"}),
    )
    .await;
    assert_eq!(
        (seat["chosen_by"].as_str(), seat["reason"].as_str()),
        (Some("appointed"), Some("最早反映问题，熟悉情况"))
    );
    let (status, _) =
        refused(&app, &committee.access, &appoint(residents), json!({"user_id": newcomer.user_id, "reason": "x"}))
            .await;
    assert_eq!(status, 400, "a representative is a member of the group");
    let (status, code) =
        refused(&app, &committee.access, &appoint(residents), json!({"user_id": resident.user_id, "reason": "x"}))
            .await;
    assert_eq!((status, code.as_str()), (409, "ALREADY_ON_PANEL"));
    created(&app, &committee.access, &appoint(company), json!({"user_id": property.user_id, "reason": "物业经理"}))
        .await;
    let professionals = format!("/deliberations/{id}/professionals");
    let invited = created(
        &app,
        &committee.access,
        &professionals,
        json!({"user_id": lawyer.user_id, "profession": "lawyer", "reason": "噪音与油烟的法律依据"}),
    )
    .await;
    assert_eq!(invited["kind"], "professional");
    assert_eq!(act(&app, &committee.access, id, "choose_representatives", None).await.status(), 200);

    // A meeting chaired by the committee member; attendees marked by the chair.
    let starts_at = (app.clock.now() + Duration::days(2)).to_rfc3339();
    let meeting = created(
        &app,
        &committee.access,
        &format!("/deliberations/{id}/meetings"),
        json!({"starts_at": starts_at, "place": "社区议事厅", "agenda": "听取各方意见，形成整改方案"}),
    )
    .await;
    let meeting = meeting["id"].as_i64().unwrap();
    let base = format!("/deliberations/{id}/meetings/{meeting}");
    let marked = created(
        &app,
        &committee.access,
        &format!("{base}/attendees"),
        json!({"user_ids": [resident.user_id, lawyer.user_id, committee.user_id]}),
    )
    .await;
    let capacities: Vec<&str> =
        marked["items"].as_array().unwrap().iter().map(|a| a["capacity"].as_str().unwrap()).collect();
    assert_eq!(capacities.len(), 3);
    assert!(
        capacities.contains(&"representative")
            && capacities.contains(&"professional")
            && capacities.contains(&"committee")
    );
    let (status, _) =
        refused(&app, &committee.access, &format!("{base}/attendees"), json!({"user_ids": [newcomer.user_id]})).await;
    assert_eq!(status, 400, "only the panel and the committee attend");
    let admin = app.dev_login("demo-admin").await;
    let (status, _) =
        refused(&app, &admin.access, &format!("{base}/attendees"), json!({"user_ids": [resident.user_id]})).await;
    assert_eq!(status, 403, "only the chair marks attendees");

    // Minutes: the panel reads the draft; residents read it once signed off; a correction is v2.
    let first = json!({"text": "各方陈述意见", "decisions": "店家加装油烟净化器；晚十点后停止营业"});
    assert_eq!(created(&app, &committee.access, &format!("{base}/minutes"), first).await["version"], 1);
    let minutes = format!("{base}/minutes");
    assert_eq!(app.get_json(&minutes, Some(&neighbour.access)).await["items"], json!([]), "not yet signed off");
    assert_eq!(
        app.get_json(&minutes, Some(&resident.access)).await["items"][0]["version"],
        1,
        "the panel reads drafts"
    );
    let (status, code) =
        refused(&app, &committee.access, &format!("/deliberations/{id}/transitions"), json!({"action": "resolve"}))
            .await;
    assert_eq!((status, code.as_str()), (409, "MINUTES_NOT_SIGNED_OFF"));
    let signed = created(&app, &committee.access, &format!("{minutes}/1/sign-off"), json!({})).await;
    assert_eq!(signed["signed_off_by"], committee.user_id);
    let (status, code) = refused(&app, &committee.access, &format!("{minutes}/1/sign-off"), json!({})).await;
    assert_eq!((status, code.as_str()), (409, "MINUTES_ALREADY_SIGNED_OFF"));
    let inbox = app.get_json("/me/notifications", Some(&neighbour.access)).await;
    assert_eq!(inbox["items"][0]["kind"], "deliberation_minutes", "published to the affected building: {inbox}");
    assert_eq!(
        app.get(&format!("/deliberations/{id}"), Some(&far.access)).await.status(),
        404,
        "2号楼 is not affected"
    );
    let correction = json!({"text": "各方陈述意见", "decisions": "店家加装油烟净化器；晚九点半后停止营业"});
    let (status, _) = refused(&app, &committee.access, &minutes, correction.clone()).await;
    assert_eq!(status, 400, "a correction says why");
    let mut correction = correction;
    correction["correction_note"] = json!("更正停业时间");
    assert_eq!(created(&app, &committee.access, &minutes, correction).await["version"], 2);
    created(&app, &committee.access, &format!("{minutes}/2/sign-off"), json!({})).await;
    let versions = app.get_json(&minutes, Some(&neighbour.access)).await;
    let versions = versions["items"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "the old version is kept");
    assert_eq!(versions[0]["decisions"], "店家加装油烟净化器；晚十点后停止营业");
    assert_eq!(versions[1]["correction_note"], "更正停业时间");

    // A resolution becomes a 协商决议 request assigned to its owner.
    let (status, code) =
        refused(&app, &committee.access, &format!("/deliberations/{id}/transitions"), json!({"action": "resolve"}))
            .await;
    assert_eq!((status, code.as_str()), (409, "NO_RESOLUTIONS"));
    let due_on = (app.clock.now() + Duration::days(14)).date_naive().to_string();
    let resolutions = format!("/deliberations/{id}/resolutions");
    for owner in [committee.user_id, neighbour.user_id] {
        let body = json!({"owner_id": owner, "due_on": due_on, "description": "督促店家安装净化器"});
        let (status, _) = refused(&app, &committee.access, &resolutions, body).await;
        assert_eq!(status, 400, "the owner handles the building's requests and is not the recorder");
    }
    let body = json!({"owner_id": leader.user_id, "due_on": due_on, "description": "督促店家安装油烟净化器并复查"});
    let resolution = created(&app, &committee.access, &resolutions, body).await;
    let request = resolution["request_id"].as_i64().unwrap();
    let detail = app.get_json(&format!("/requests/{request}"), Some(&leader.access)).await;
    assert_eq!(detail["request"]["assignee_id"], leader.user_id, "{detail}");
    let categories =
        app.get_json(&format!("/communities/{}/categories", demo.community), Some(&committee.access)).await;
    let category = categories["items"].as_array().unwrap().iter().find(|c| c["name"] == "协商决议").cloned();
    assert_eq!(detail["request"]["category_id"], category.expect("the 协商决议 category exists")["id"]);
    assert_eq!(act(&app, &committee.access, id, "resolve", None).await.status(), 200);
    let shown = app.get_json(&format!("/deliberations/{id}"), Some(&resident.access)).await;
    assert_eq!(shown["deliberation"]["status"], "resolved");
    assert_eq!(shown["progress"], json!({"done": 0, "total": 1}));
    assert_eq!(shown["request_ids"], json!([source]));

    // The owner carries it out; the recorder confirms; the job carries the deliberation out.
    for action in ["accept", "start", "resolve"] {
        assert_eq!(app.act(&leader.access, request, action, None).await.status(), 200, "{action}");
    }
    assert_eq!(ehome_api::scenes::deliberations::jobs::run_once(&app.state).await.unwrap(), 0, "not confirmed yet");
    assert_eq!(app.act(&committee.access, request, "confirm", None).await.status(), 200);
    assert_eq!(ehome_api::scenes::deliberations::jobs::run_once(&app.state).await.unwrap(), 1);
    let shown = app.get_json(&format!("/deliberations/{id}"), Some(&resident.access)).await;
    assert_eq!(shown["deliberation"]["status"], "carried_out");
    assert_eq!(shown["progress"], json!({"done": 1, "total": 1}));
    assert_eq!(shown["resolutions"][0]["request_status"], "confirmed");
    assert_eq!(shown["meetings"][0]["published_version"], 2);
    assert_eq!(act(&app, &committee.access, id, "close", Some("x")).await.status(), 409, "finished");
}

#[tokio::test]
async fn closing_listing_and_the_limits_of_the_panel() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [committee, resident, far, newcomer] =
        app.dev_logins(["demo-committee", "demo-resident-1", "demo-resident-3", "demo-newcomer"]).await;
    let shops = app.dev_logins(["shop-1", "shop-2", "shop-3", "shop-4"]).await;
    let topic = json!({"community_id": demo.community, "title": "停车位分配", "issue": "车位不够",
        "scope": {"kind": "buildings", "ids": [demo.buildings[1]]}});
    let (status, _) = refused(&app, &newcomer.access, "/deliberations", topic.clone()).await;
    assert_eq!(status, 403, "only members propose");
    let id = created(&app, &committee.access, "/deliberations", topic).await["id"].as_i64().unwrap();
    let listed = app.get_json(&format!("/deliberations?community_id={}", demo.community), Some(&far.access)).await;
    assert_eq!(listed["items"][0]["id"], id, "a resident of 2号楼 is affected");
    let listed = app.get_json(&format!("/deliberations?community_id={}", demo.community), Some(&resident.access)).await;
    assert_eq!(listed["items"], json!([]), "1号楼 is not");
    assert_eq!(act(&app, &committee.access, id, "anchor", None).await.status(), 200);
    let ids: Vec<i64> = shops.iter().map(|s| s.user_id).collect();
    let group = created(
        &app,
        &committee.access,
        &format!("/deliberations/{id}/groups"),
        json!({"name": "底商", "member_ids": ids}),
    )
    .await;
    let path = format!("/deliberations/{id}/groups/{}/representatives", group["id"]);
    for shop in &shops[..3] {
        created(&app, &committee.access, &path, json!({"user_id": shop.user_id, "reason": "推选"})).await;
    }
    let (status, code) =
        refused(&app, &committee.access, &path, json!({"user_id": shops[3].user_id, "reason": "推选"})).await;
    assert_eq!((status, code.as_str()), (409, "TOO_MANY_REPRESENTATIVES"));
    assert_eq!(act(&app, &committee.access, id, "close", None).await.status(), 400, "closing says why");
    let closed: Value = act(&app, &committee.access, id, "close", Some("协商另行处理")).await.json().await.unwrap();
    assert_eq!((closed["status"].as_str(), closed["closing_note"].as_str()), (Some("closed"), Some("协商另行处理")));
    let again = act(&app, &committee.access, id, "anchor", None).await;
    assert_eq!((again.status().as_u16(), error_code(again).await.as_str()), (409, "DELIBERATION_WRONG_STATUS"));
}

#[tokio::test]
async fn a_group_elects_its_representatives_by_a_group_poll() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let [committee, a, b, c] = app.dev_logins(["demo-committee", "owner-a", "owner-b", "owner-c"]).await;
    let topic = json!({"community_id": demo.community, "title": "底商外摆", "issue": "外摆占道",
        "scope": {"kind": "buildings", "ids": [demo.buildings[0]]}});
    let id = created(&app, &committee.access, "/deliberations", topic).await["id"].as_i64().unwrap();
    assert_eq!(act(&app, &committee.access, id, "anchor", None).await.status(), 200);
    let members = json!({"name": "底商业主", "member_ids": [a.user_id, b.user_id, c.user_id]});
    let group = created(&app, &committee.access, &format!("/deliberations/{id}/groups"), members).await;
    let election = format!("/deliberations/{id}/groups/{}/election", group["id"]);
    let closes_at = (app.clock.now() + Duration::hours(2)).to_rfc3339();
    let body = json!({"candidate_ids": [a.user_id, b.user_id, c.user_id], "seats": 2, "closes_at": closes_at});
    let poll = created(&app, &committee.access, &election, body.clone()).await["poll_id"].as_i64().unwrap();
    let (status, code) = refused(&app, &committee.access, &election, body).await;
    assert_eq!((status, code.as_str()), (409, "ELECTION_EXISTS"));
    let (status, code) = refused(&app, &committee.access, &format!("{election}/seats"), json!({})).await;
    assert_eq!((status, code.as_str()), (409, "ELECTION_NOT_CLOSED"));

    // The members vote on the polls scene's route; the candidates' options are in order.
    let detail = app.get_json(&format!("/polls/{poll}"), Some(&a.access)).await;
    let options: Vec<i64> =
        detail["poll"]["options"].as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect();
    for (voter, choice) in
        [(&a, vec![options[1], options[2]]), (&b, vec![options[1], options[2]]), (&c, vec![options[1]])]
    {
        let cast = post(&app, &voter.access, &format!("/polls/{poll}/ballots"), json!({"option_ids": choice})).await;
        assert_eq!(cast.status(), 201, "{}", cast.text().await.unwrap());
    }
    app.clock.advance(Duration::hours(3));
    let [committee, b] = app.dev_logins(["demo-committee", "owner-b"]).await;
    let seated = created(&app, &committee.access, &format!("{election}/seats"), json!({})).await;
    let elected: Vec<i64> =
        seated["items"].as_array().unwrap().iter().map(|s| s["user_id"].as_i64().unwrap()).collect();
    assert_eq!(elected, vec![b.user_id, c.user_id], "most votes first");
    assert!(seated["items"].as_array().unwrap().iter().all(|s| s["chosen_by"] == "elected"));
    assert_eq!(act(&app, &committee.access, id, "choose_representatives", None).await.status(), 200);
    let shown = app.get_json(&format!("/deliberations/{id}"), Some(&b.access)).await;
    assert_eq!(shown["groups"][0]["poll_id"], poll);
}
