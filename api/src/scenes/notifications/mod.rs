//! The in-app inbox (`GET /me/notifications`, read marks) and WeChat subscribe messages. A status change
//! of a request lands in the reporter's inbox and, when a template is configured, on their phone; a
//! user who has not subscribed (43101) is normal and only the inbox gets it. Inboxes' first pages are
//! kept per instance until the next notice or read mark (`kept.rs`).

mod http;
pub mod kept;
mod service;

pub use service::{Notice, push, push_all, record};

use crate::routes::Routes;

pub fn routes(routes: &mut Routes<'_>) {
    routes.get("/me/notifications", http::list);
    routes.post("/me/notifications/{id}/read", http::mark_read);
    routes.post("/me/notifications/read-all", http::mark_all_read);
}
