//! 邻自治 deliberation, "烦事有计倾": a hard issue (possibly from 邻办事 requests) is anchored by the
//! committee; stakeholder groups each get 1–3 representatives (appointed with a reason, or elected by
//! a poll restricted to the group); professionals join the panel; meetings are chaired, attended and
//! minuted (published to the affected buildings once signed off, corrected by new versions); the
//! resolutions become 邻办事 requests (category 协商决议), and the deliberation is carried out when
//! every one is confirmed.

mod election;
pub mod error;
mod http;
pub mod jobs;
pub mod lifecycle;
mod meetings;
mod meetings_store;
mod resolutions;
pub mod service;
mod store;
mod views;

use crate::routes::Routes;

pub fn routes(routes: &mut Routes<'_>) {
    routes.post("/deliberations", http::propose);
    routes.get("/deliberations", http::list);
    routes.get("/deliberations/{id}", http::detail);
    routes.post("/deliberations/{id}/transitions", http::transition);
    routes.post("/deliberations/{id}/groups", http::add_group);
    routes.post("/deliberations/{id}/groups/{group_id}/representatives", http::appoint);
    routes.post("/deliberations/{id}/groups/{group_id}/election", http::open_election);
    routes.post("/deliberations/{id}/groups/{group_id}/election/seats", http::seat_elected);
    routes.post("/deliberations/{id}/professionals", http::invite_professional);
    routes.post("/deliberations/{id}/meetings", http::schedule);
    routes.post("/deliberations/{id}/meetings/{meeting_id}/attendees", http::mark_attendees);
    routes.get("/deliberations/{id}/meetings/{meeting_id}/minutes", http::list_minutes);
    routes.post("/deliberations/{id}/meetings/{meeting_id}/minutes", http::write_minutes);
    routes.post("/deliberations/{id}/meetings/{meeting_id}/minutes/{version}/sign-off", http::sign_off);
    routes.post("/deliberations/{id}/resolutions", http::record_resolution);
}
