//! 邻互助 help posts: a resident posts a need or an offer with an optional points reward (held from
//! their balance when published), a neighbour claims it (the first claim wins), the helper marks it
//! done and the poster confirms (the hold paid to the helper, the confirmed minutes on the helper's
//! permanent record of service hours); unconfirmed after 7 days it goes to the committee, who pays,
//! releases or splits the hold. Cancelled or expired before a claim, the hold is released.

pub mod error;
mod http;
pub mod jobs;
pub mod lifecycle;
mod notices;
pub mod service;
mod settings;
mod store;

use crate::routes::Routes;

pub fn routes(routes: &mut Routes<'_>) {
    routes.post("/help-posts", http::create);
    routes.get("/help-posts", http::list);
    routes.get("/help-posts/{id}", http::detail);
    routes.post("/help-posts/{id}/claim", http::claim);
    routes.post("/help-posts/{id}/withdraw", http::withdraw);
    routes.post("/help-posts/{id}/complete", http::complete);
    routes.post("/help-posts/{id}/confirm", http::confirm);
    routes.post("/help-posts/{id}/cancel", http::cancel);
    routes.post("/help-posts/{id}/report", http::report);
    routes.post("/help-posts/{id}/restore", http::restore);
    routes.post("/help-posts/{id}/decision", http::decide);
    routes.get("/communities/{id}/help-posts/disputes", http::disputes);
    routes.get("/communities/{id}/help-posts/settings", http::settings);
    routes.add(actix_web::http::Method::PUT, "/communities/{id}/help-posts/settings", http::set_settings);
}
