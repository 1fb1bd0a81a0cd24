//! The help posts' part of the matrix: three posts by demo-resident-2 (not a caller) — one already
//! reported (so only the committee still sees it), one to claim and withdraw, one to act on as
//! nobody's helper — and who may do what with each.

use ehome_tests::{Demo, TestApp};
use reqwest::Method;
use serde_json::json;

use super::{Case, SIGNED_IN, case, hidden};

pub struct HelpPosts {
    reported: i64,
    claimed: i64,
}

impl HelpPosts {
    pub fn for_template(&self, template: &str) -> Option<i64> {
        match template {
            "/api/v1/help-posts/{id}/report" | "/api/v1/help-posts/{id}/restore" => Some(self.reported),
            t if t.starts_with("/api/v1/help-posts/") => Some(self.claimed),
            _ => None,
        }
    }
}

pub async fn fixture(app: &TestApp, demo: &Demo, author: &str) -> HelpPosts {
    let body = |title: &str| {
        json!({"community_id": demo.community, "kind": "need", "category": "other", "title": title,
            "description": "d"})
    };
    let reported = app.post_json("/help-posts", Some(author), &body("被举报的帖子")).await["id"].as_i64().unwrap();
    let report = app.post(&format!("/help-posts/{reported}/report"), Some(author), &json!({})).await;
    assert_eq!(report.status(), 202);
    let claimed = app.post_json("/help-posts", Some(author), &body("矩阵互助")).await["id"].as_i64().unwrap();
    HelpPosts { reported, claimed }
}

/// In order: the first caller (the admin) claims the post and withdraws the claim; nobody among the
/// callers is its author or helper, so completing, confirming and cancelling are refused; the
/// committee's decision finds it open (409). The reported post is hidden from all but the committee
/// until the admin restores it.
pub fn cases(community: i64, members: &[&'static str], outsiders: &[&'static str]) -> Vec<Case> {
    let committee: &[&'static str] = &["demo-admin", "demo-committee"];
    let not_committee: Vec<&'static str> = SIGNED_IN.iter().copied().filter(|c| !committee.contains(c)).collect();
    let post = json!({"community_id": community, "kind": "offer", "category": "repair", "title": "矩阵{caller}",
        "description": "d"});
    vec![
        case(Method::GET, "/api/v1/help-posts", json!(null), SIGNED_IN),
        hidden(case(Method::GET, "/api/v1/help-posts/{id}", json!(null), members), outsiders),
        hidden(case(Method::POST, "/api/v1/help-posts/{id}/report", json!({}), committee), &not_committee),
        hidden(case(Method::POST, "/api/v1/help-posts/{id}/restore", json!({}), committee), outsiders),
        hidden(case(Method::POST, "/api/v1/help-posts/{id}/claim", json!({}), members), outsiders),
        hidden(case(Method::POST, "/api/v1/help-posts/{id}/withdraw", json!({}), &["demo-admin"]), outsiders),
        hidden(case(Method::POST, "/api/v1/help-posts/{id}/complete", json!({}), &[]), outsiders),
        hidden(case(Method::POST, "/api/v1/help-posts/{id}/confirm", json!({}), &[]), outsiders),
        hidden(case(Method::POST, "/api/v1/help-posts/{id}/cancel", json!({}), &[]), outsiders),
        hidden(case(Method::POST, "/api/v1/help-posts/{id}/decision", json!({"outcome": "pay"}), committee), outsiders),
        case(Method::GET, "/api/v1/communities/{id}/help-posts/disputes", json!(null), committee),
        case(Method::GET, "/api/v1/communities/{id}/help-posts/settings", json!(null), members),
        case(
            Method::PUT,
            "/api/v1/communities/{id}/help-posts/settings",
            json!({"confirmation_bonus": "0"}),
            committee,
        ),
        // Last: everyone in the community publishes a post of their own.
        hidden(case(Method::POST, "/api/v1/help-posts", post, members), outsiders),
    ]
}
