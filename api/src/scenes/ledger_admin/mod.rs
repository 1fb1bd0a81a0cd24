//! The books for platform admins: accounts and transfers by id, verification, journal export. Read-only
//! over the ledger crate, so the scene has no service or lifecycle of its own.

mod http;

use crate::routes::Routes;

pub fn routes(routes: &mut Routes<'_>) {
    routes.get("/ledger/accounts/{code}", http::get_account);
    routes.get("/ledger/transfers/{id}", http::get_transfer);
    routes.post("/ledger/verify", http::verify);
    routes.get("/ledger/export", http::export);
}
