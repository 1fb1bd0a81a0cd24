//! 邻办事 neighbour services: residents report problems and ask for services; building leaders, grid
//! workers and the committee handle them under an SLA, escalated when overdue, closed with the
//! resident's confirmation and rating, and measured.

mod calendar;
mod categories;
mod commissioned;
pub mod error;
mod export_csv;
pub mod handover;
mod http;
pub mod jobs;
pub mod kept;
pub mod lifecycle;
pub mod queue;
pub mod rollup;
mod routing;
pub mod service;
mod similarity;
pub mod stats;
mod store;
mod views;
mod writes;

use actix_web::http::Method;
use ehome_entities::service_request;

use crate::routes::Routes;
use crate::scenes::notifications::Notice;
use lifecycle::Status;

pub fn routes(routes: &mut Routes<'_>) {
    routes.post("/requests", http::submit);
    routes.get("/requests", http::list);
    routes.get("/requests/similar", http::similar);
    routes.get("/requests/{id}", http::detail);
    routes.post("/requests/{id}/transitions", http::transition);
    routes.post("/requests/{id}/comments", http::comment);
    routes.post("/requests/{id}/rating", http::rate);
    routes.post("/requests/{id}/me-too", http::me_too);
    routes.get("/communities/{id}/categories", http::list_categories);
    routes.post("/communities/{id}/categories", http::create_category);
    routes.add(Method::PATCH, "/categories/{id}", http::update_category);
    routes.get("/communities/{id}/stats", http::stats);
    routes.get("/communities/{id}/requests.csv", export_csv::requests_csv);
}

/// What the reporter and every follower ("me too") are told when a request changes status.
pub fn status_notices(request: &service_request::Model, to: Status, followers: &[i64]) -> Vec<Notice> {
    followers
        .iter()
        .map(|&user_id| {
            let whose = if user_id == request.reporter_id { "您反映的" } else { "您关注的" };
            Notice {
                user_id,
                kind: "request_status",
                title: request.title.clone(),
                body: format!("{whose}「{}」状态更新为：{}", request.title, to.label()),
                request_id: Some(request.id),
                phrase: to.label().to_owned(),
            }
        })
        .collect()
}

/// Records the notices in the transaction; `notifications::push_all` them after it commits.
pub async fn record_status_change(
    db: &impl sea_orm::ConnectionTrait,
    request: &service_request::Model,
    to: Status,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Notice>, crate::platform::error::ApiError> {
    let followers = store::followers(db, request.id).await?;
    let notices = status_notices(request, to, &followers);
    for notice in &notices {
        crate::scenes::notifications::record(db, notice, now).await?;
    }
    Ok(notices)
}
