//! 邻互助 volunteering as the tests drive it: volunteers registered and approved (through the API, or
//! in bulk straight into the database for the races), activities drafted and published, the clock
//! frozen on a check-in step.

use chrono::{DateTime, Duration, DurationRound, Utc};
use ehome_api::platform::clock::Clock;
use ehome_entities::{member_role, volunteer};
use reqwest::Response;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

use crate::{Session, TestApp};

impl TestApp {
    /// The app's clock now.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Freezes the clock on the 5th second of the current 30-second check-in step, so that a test
    /// moves from step to step only when it advances the clock.
    pub fn freeze_clock_on_a_step(&self) -> DateTime<Utc> {
        let at = self.now().duration_trunc(Duration::seconds(30)).unwrap() + Duration::seconds(5);
        self.clock.set(at);
        at
    }

    /// Registers the session's user as a volunteer of `community` (skill `environment`) and has
    /// `approver` approve; returns the registration. One already approved (demo-resident-1 is, in the
    /// demo) is returned as it is.
    pub async fn approved_volunteer(&self, community: i64, volunteer: &Session, approver: &str) -> Value {
        let body = json!({"community_id": community, "skills": ["environment"], "leaderboard_consent": true});
        let response = self.post("/volunteers", Some(&volunteer.access), &body).await;
        if response.status() == 409 {
            let mine = self.get_json("/volunteers/me", Some(&volunteer.access)).await;
            let found = mine["items"].as_array().unwrap().iter().find(|v| v["community_id"] == community).unwrap();
            assert_eq!(found["status"], "approved", "an earlier registration, approved");
            return found.clone();
        }
        assert_eq!(response.status(), 201, "register as a volunteer");
        let registered: Value = response.json().await.unwrap();
        let decision = json!({"decision": "approve"});
        let path = format!("/volunteers/{}/decision", registered["id"]);
        let response = self.post(&path, Some(approver), &decision).await;
        assert_eq!(response.status(), 200, "approve the volunteer");
        response.json().await.unwrap()
    }

    /// `count` users signed in by dev-login (`{prefix}-{i}`), made residents and approved volunteers
    /// of `community` straight in the database (as many approvals would leave them).
    pub async fn bulk_volunteers(&self, community: i64, prefix: &str, count: usize) -> Vec<Session> {
        let logins = (0..count).map(|i| {
            let openid = format!("{prefix}-{i}");
            async move { self.dev_login(&openid).await }
        });
        let sessions = futures::future::join_all(logins).await;
        let now = self.now();
        for session in &sessions {
            member_role::ActiveModel {
                community_id: Set(community),
                user_id: Set(session.user_id),
                role: Set("resident".to_owned()),
                scope_id: Set(0),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&self.db)
            .await
            .unwrap();
            volunteer::ActiveModel {
                community_id: Set(community),
                user_id: Set(session.user_id),
                status: Set("approved".to_owned()),
                skills: Set("[\"environment\"]".to_owned()),
                available_times: Set(None),
                real_name: Set(None),
                leaderboard_consent: Set(true),
                note: Set(None),
                decided_by: Set(None),
                decided_at: Set(Some(now)),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&self.db)
            .await
            .unwrap();
        }
        sessions
    }

    /// A draft body: starts in 2 hours, lasts 2 hours, 10 places, open to the community; `extra`
    /// fields replace the defaults.
    pub fn activity_body(&self, community: i64, extra: Value) -> Value {
        let starts_at = self.now() + Duration::hours(2);
        let mut body = json!({
            "community_id": community,
            "title": "楼道清洁日",
            "description": "清理楼道杂物，张贴文明提示",
            "place": "1号楼门口",
            "starts_at": starts_at,
            "ends_at": starts_at + Duration::hours(2),
            "capacity": 10,
        });
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    }

    /// Drafts an activity (201 or the test fails) and returns it.
    pub async fn draft_activity(&self, token: &str, community: i64, extra: Value) -> Value {
        let response = self.post("/activities", Some(token), &self.activity_body(community, extra)).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "draft an activity: {body}");
        body
    }

    /// Drafts and publishes an activity; returns its id.
    pub async fn published_activity(&self, token: &str, community: i64, extra: Value) -> i64 {
        let id = self.draft_activity(token, community, extra).await["id"].as_i64().unwrap();
        let response = self.activity_action(token, id, "publish").await;
        assert_eq!(response.status(), 200, "publish activity {id}");
        id
    }

    pub async fn activity_action(&self, token: &str, id: i64, action: &str) -> Response {
        self.post(&format!("/activities/{id}/transitions"), Some(token), &json!({"action": action})).await
    }

    pub async fn sign_up(&self, token: &str, id: i64) -> Response {
        self.post(&format!("/activities/{id}/signups"), Some(token), &json!({})).await
    }

    /// The code the organiser's phone shows now.
    pub async fn checkin_code(&self, organiser: &str, id: i64) -> String {
        let response = self.get(&format!("/activities/{id}/checkin-code"), Some(organiser)).await;
        assert_eq!(response.status(), 200, "check-in code of activity {id}");
        let body: Value = response.json().await.unwrap();
        body["code"].as_str().unwrap().to_owned()
    }
}
