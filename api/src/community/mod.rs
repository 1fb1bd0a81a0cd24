//! The community structure (district → street → community → grid → building → household), residents
//! claiming a household, and roles.

mod handlers;
pub mod service;

use actix_web::http::Method;

use crate::routes::Routes;

pub fn routes(routes: &mut Routes<'_>) {
    routes.get("/communities", handlers::list_communities);
    routes.post("/communities", handlers::create_community);
    routes.get("/communities/{id}", handlers::get_community);
    routes.get("/communities/{id}/grids", handlers::list_grids);
    routes.post("/communities/{id}/grids", handlers::create_grid);
    routes.get("/grids/{id}/buildings", handlers::list_buildings);
    routes.post("/grids/{id}/buildings", handlers::create_building);
    routes.get("/buildings/{id}/households", handlers::list_households);
    routes.post("/buildings/{id}/households", handlers::create_household);
    routes.post("/households/{id}/join-requests", handlers::create_join_request);
    routes.get("/communities/{id}/join-requests", handlers::list_join_requests);
    routes.post("/join-requests/{id}/approve", handlers::approve_join_request);
    routes.post("/join-requests/{id}/reject", handlers::reject_join_request);
    routes.get("/communities/{id}/members/{user_id}/roles", handlers::get_roles);
    routes.add(Method::PUT, "/communities/{id}/members/{user_id}/roles", handlers::put_roles);
}
