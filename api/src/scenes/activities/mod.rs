//! 邻互助 volunteering: residents register as volunteers and are approved (the `volunteer` role),
//! teams with a leader and members, activities with an audience, capacity and a waitlist, and
//! attendance on site through a rotating check-in code. Service hours and points are the
//! `service_hours` scene's, which reads this one through `service`.

mod checkin;
mod code;
pub mod error;
mod for_hours;
mod http;
pub mod jobs;
pub mod lifecycle;
mod listing;
mod people_http;
pub mod service;
mod settings;
pub mod signups;
mod store;
mod teams;
mod views;
mod volunteers;

use actix_web::http::Method;

use crate::routes::Routes;

pub fn routes(routes: &mut Routes<'_>) {
    routes.post("/volunteers", people_http::register);
    routes.get("/volunteers", people_http::list);
    routes.get("/volunteers/me", people_http::mine);
    routes.add(Method::PATCH, "/volunteers/{id}", people_http::update_own);
    routes.post("/volunteers/{id}/decision", people_http::decide);
    routes.get("/communities/{id}/volunteering", people_http::community_settings);
    routes.post("/teams", people_http::create_team);
    routes.get("/teams", people_http::list_teams);
    routes.get("/teams/{id}", people_http::team);
    routes.post("/teams/{id}/members", people_http::add_member);
    routes.add(Method::DELETE, "/teams/{id}/members/{user_id}", people_http::remove_member);
    routes.post("/activities", http::create);
    routes.get("/activities", http::list);
    routes.get("/activities/{id}", http::detail);
    routes.add(Method::PATCH, "/activities/{id}", http::update);
    routes.post("/activities/{id}/transitions", http::transition);
    routes.post("/activities/{id}/beneficiaries", http::beneficiaries);
    routes.post("/activities/{id}/signups", http::sign_up);
    routes.get("/activities/{id}/signups", http::roster);
    routes.add(Method::DELETE, "/activities/{id}/signups/me", http::cancel_signup);
    routes.get("/activities/{id}/checkin-code", http::checkin_code);
    routes.get("/activities/{id}/wxacode", http::wxa_code);
    routes.post("/activities/{id}/checkin", http::check_in);
    routes.post("/activities/{id}/checkout", http::check_out);
}
