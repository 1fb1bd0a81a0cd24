//! The community structure (district → street → community → grid → building → household), residents
//! claiming a household, and roles.

mod area;
pub mod error;
mod http;
pub mod lifecycle;
pub mod service;

use actix_web::http::Method;

use crate::routes::Routes;

pub fn routes(routes: &mut Routes<'_>) {
    routes.get("/communities", http::list_communities);
    routes.post("/communities", http::create_community);
    routes.get("/communities/{id}", http::get_community);
    routes.get("/communities/{id}/grids", http::list_grids);
    routes.post("/communities/{id}/grids", http::create_grid);
    routes.get("/grids/{id}/buildings", http::list_buildings);
    routes.post("/grids/{id}/buildings", http::create_building);
    routes.get("/buildings/{id}/households", http::list_households);
    routes.post("/buildings/{id}/households", http::create_household);
    routes.post("/households/{id}/join-requests", http::create_join_request);
    routes.get("/communities/{id}/join-requests", http::list_join_requests);
    routes.post("/join-requests/{id}/approve", http::approve_join_request);
    routes.post("/join-requests/{id}/reject", http::reject_join_request);
    routes.get("/communities/{id}/members/{user_id}/roles", http::get_roles);
    routes.add(Method::PUT, "/communities/{id}/members/{user_id}/roles", http::put_roles);
}
