//! Settlement with shops (issue 12, part 3): a community's settlement rate; statements drafted per
//! merchant and period (each captured, unrefunded redemption on exactly one), approved by the
//! committee (the points retired and the CNY owed, one linked ledger batch through `points`), paid
//! with the bank's reference (the shop's owner told of both, `notices.rs`), or cancelled as drafts;
//! statements and the committee's alliance report as JSON and CSV; and the per-merchant check
//! `ehome ledger verify` adds (`report::check_merchants`).
//!
//! No `jobs.rs`: nothing in settlement times out or runs by itself.

pub mod error;
mod http;
pub mod lifecycle;
mod notices;
pub mod report;
mod rounding;
pub mod service;
mod store;
mod views;

use actix_web::http::Method;

use crate::routes::Routes;

pub fn routes(routes: &mut Routes<'_>) {
    routes.get("/communities/{id}/settlement-rate", http::get_rate);
    routes.add(Method::PUT, "/communities/{id}/settlement-rate", http::put_rate);
    routes.post("/merchants/{id}/settlements", http::draft);
    routes.get("/merchants/{id}/settlements", http::list);
    routes.get("/settlements/{id}", http::get);
    routes.get("/settlements/{id}/statement.csv", http::get_csv);
    routes.post("/settlements/{id}/approve", http::approve);
    routes.post("/settlements/{id}/paid", http::paid);
    routes.post("/settlements/{id}/cancel", http::cancel);
    routes.get("/communities/{id}/alliance-report", http::report_json);
    routes.get("/communities/{id}/alliance-report.csv", http::report_csv);
}
