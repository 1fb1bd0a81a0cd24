//! 邻自治 notices: the committee (or a grid worker or building leader within their area) publishes a
//! notice to the community, some grids or some buildings; residents read it (a household has read it
//! when any member opened it); building leaders follow up important and urgent notices door to door
//! ("told in person"); the committee sees the reach per building.

pub mod error;
mod http;
pub mod lifecycle;
pub mod service;
mod store;

use crate::routes::Routes;

pub fn routes(routes: &mut Routes<'_>) {
    routes.post("/notices", http::publish);
    routes.get("/notices", http::list);
    routes.get("/notices/{id}", http::detail);
    routes.post("/notices/{id}/read", http::read);
    routes.get("/notices/{id}/unread-households", http::unread_households);
    routes.post("/notices/{id}/told-in-person", http::tell_in_person);
    routes.get("/notices/{id}/reach", http::reach);
}
