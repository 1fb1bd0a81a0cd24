//! The volunteer's wallet: their points as the ledger holds them (`GET /me/points`) and what
//! happened to them, in their own words (`GET /me/points/history`). Read from the ledger through
//! `points::balance_of` and `points::history_of`, never from a copy that could drift.

mod http;
pub mod service;

use crate::routes::Routes;

pub fn routes(routes: &mut Routes<'_>) {
    routes.get("/me/points", http::my_points);
    routes.get("/me/points/history", http::my_history);
}
