//! 邻自治 polls: the committee (or a building leader for their buildings) asks; one ballot per
//! household or resident (or per named person, for a deliberation group's election), secret or open,
//! counted exactly once by the database, chained by hash, verified by `ehome polls verify`.

pub mod chain;
pub mod eligibility;
pub mod error;
mod http;
pub mod jobs;
pub mod lifecycle;
mod results;
pub mod service;
mod store;
pub mod tally;

use actix_web::http::Method;

use crate::routes::Routes;

pub fn routes(routes: &mut Routes<'_>) {
    routes.post("/polls", http::create);
    routes.get("/polls", http::list);
    routes.get("/polls/{id}", http::detail);
    routes.post("/polls/{id}/ballots", http::cast);
    routes.post("/polls/{id}/proxy-ballots", http::cast_proxy);
    routes.get("/polls/{id}/results", http::results);
    routes.get("/polls/{id}/results.csv", http::results_csv);
    routes.get("/polls/{id}/receipts/{hash}", http::receipt);
    routes.add(Method::PUT, "/households/{id}/representative", http::name_representative);
}
