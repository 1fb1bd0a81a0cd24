//! The books for platform admins: accounts and transfers by id, verification, journal export. Read-only
//! over the ledger crate, so the scene has no service or lifecycle of its own. Verification adds the
//! application's per-merchant check (settlements' `report::check_merchants`: points captured =
//! settled + outstanding), which the ledger crate, knowing nothing of merchants, cannot make.

mod http;

pub use http::check_merchants;

use crate::routes::Routes;

pub fn routes(routes: &mut Routes<'_>) {
    routes.get("/ledger/accounts/{code}", http::get_account);
    routes.get("/ledger/transfers/{id}", http::get_transfer);
    routes.post("/ledger/verify", http::verify);
    routes.get("/ledger/export", http::export);
}
