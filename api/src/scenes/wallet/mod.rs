//! The volunteer's wallet: their points as the ledger holds them (`GET /me/points`) and what
//! happened to them, in their own words (`GET /me/points/history`). Read from the ledger through
//! `points::balance_of` and `points::history_of`; a wallet is kept per instance only until the next
//! committed change to it (`kept.rs`). It also owns
//! points expiry for residents: what expires soon on `GET /me/points`, and the daily job
//! (`jobs.rs`) that expires points past their day through `points::expire_due` and reminds
//! residents 30 days ahead (`points_expiry_notices`, one row per resident and day).

mod http;
pub mod jobs;
pub mod kept;
pub mod service;
mod store;

pub use kept::changed;

use crate::routes::Routes;

pub fn routes(routes: &mut Routes<'_>) {
    routes.get("/me/points", http::my_points);
    routes.get("/me/points/history", http::my_history);
}
