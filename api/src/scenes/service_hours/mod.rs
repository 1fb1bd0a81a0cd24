//! 邻互助 service hours: the organiser reviews an activity's attendance and approves, adjusts or
//! declines each volunteer's hours; approved hours earn points through `points::award` in the same
//! transaction; volunteers read their records and print a certificate; the community reads its
//! leaderboards and volunteering statistics.
//!
//! The activities scene (volunteers, activities, sign-ups, check-in) is read only through its
//! `service` functions.

mod certificate;
mod decide;
pub mod error;
pub mod from_help;
pub mod hours;
mod http;
pub mod leaderboard;
pub mod lifecycle;
pub mod service;
pub mod stats;
mod store;
mod views;

use crate::routes::Routes;

pub use store::lifetime_minutes;

pub fn routes(routes: &mut Routes<'_>) {
    routes.get("/activities/{id}/hours", http::review);
    routes.post("/activities/{id}/hours/approve", http::approve);
    routes.post("/activities/{id}/hours/{signup_id}/adjust", http::adjust);
    routes.post("/activities/{id}/hours/{signup_id}/decline", http::decline);
    routes.get("/me/hours", http::my_hours);
    routes.get("/me/hours/certificate.csv", http::certificate_csv);
    routes.get("/me/hours/certificate.html", http::certificate_html);
    routes.get("/communities/{id}/leaderboard", http::leaderboard);
    routes.get("/communities/{id}/volunteering.csv", stats::volunteering_csv);
}

/// The activity titles of hour records by record id (wording a points history).
pub async fn titles_of_records(
    db: &impl sea_orm::ConnectionTrait,
    record_ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>, crate::platform::error::ApiError> {
    let records = store::by_ids(db, record_ids).await?;
    let activity_ids: Vec<i64> = records.iter().map(|r| r.activity_id).collect();
    let titles = crate::scenes::activities::service::titles(db, &activity_ids).await?;
    Ok(records.into_iter().filter_map(|r| Some((r.id, titles.get(&r.activity_id)?.clone()))).collect())
}
