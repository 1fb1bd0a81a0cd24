//! Redemption at the counter, exactly once: a resident asks for a one-time code for an offer (the
//! limit, the stock and the points are reserved, the points as a ledger hold that times out with the
//! code); the shop's staff redeem it (the hold captured); the resident may cancel it; the job expires
//! it; the shop (within 7 days) or the committee refunds it (a reversal naming the capture).

pub mod error;
mod for_settlement;
mod guard;
mod http;
pub mod jobs;
pub mod lifecycle;
pub mod service;
mod store;

use crate::routes::Routes;

pub fn routes(routes: &mut Routes<'_>) {
    routes.post("/redemptions/codes", http::issue);
    routes.post("/redemptions", http::capture);
    routes.post("/redemptions/{id}/cancel", http::cancel);
    routes.post("/redemptions/{id}/refund", http::refund);
    routes.get("/merchants/{id}/redemptions", http::books);
    routes.get("/me/redemptions", http::mine);
}
