//! 邻办事 requests as the tests drive them: submit, act, read back.

use reqwest::Response;
use serde_json::{Value, json};

use crate::TestApp;

impl TestApp {
    /// Submits a request titled `title` (its description says so again) and returns the request as the
    /// API answered it; anything but 201 fails the test.
    pub async fn submit(&self, token: &str, category: i64, title: &str) -> Value {
        let body = json!({"category_id": category, "title": title, "description": format!("{title}，请尽快处理")});
        self.submit_body(token, &body).await
    }

    /// Submits a request with this body and returns the request as the API answered it (201 or the
    /// test fails).
    pub async fn submit_body(&self, token: &str, body: &Value) -> Value {
        let response = self.post("/requests", Some(token), body).await;
        assert_eq!(response.status(), 201, "submit {}", body["title"].as_str().unwrap_or_default());
        let answer: Value = response.json().await.unwrap();
        answer["request"].clone()
    }

    /// Takes `action` on request `id`, with a note if given; the response is the caller's to check.
    pub async fn act(&self, token: &str, id: i64, action: &str, note: Option<&str>) -> Response {
        let mut body = json!({"action": action});
        if let Some(note) = note {
            body["note"] = json!(note);
        }
        self.post(&format!("/requests/{id}/transitions"), Some(token), &body).await
    }

    /// The request's status, as the holder of `token` sees it.
    pub async fn request_status(&self, token: &str, id: i64) -> String {
        let detail = self.get_json(&format!("/requests/{id}"), Some(token)).await;
        detail["request"]["status"].as_str().unwrap().to_owned()
    }

    /// The ids of the requests `GET /requests?{query}` lists, with the status it answered.
    pub async fn request_ids(&self, token: &str, query: &str) -> (u16, Vec<i64>) {
        let response = self.get(&format!("/requests?{query}"), Some(token)).await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        let ids = body["items"]
            .as_array()
            .map(|items| items.iter().map(|r| r["id"].as_i64().unwrap()).collect())
            .unwrap_or_default();
        (status, ids)
    }
}
