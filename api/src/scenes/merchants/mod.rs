//! 商家联盟 the merchant alliance, its shops and their offers: a shop owner applies, the committee
//! (or, for a street's or district's alliance, a platform admin) approves, suspends or reinstates;
//! the owner invites staff with one-time codes; owner and staff publish offers that residents of the
//! alliance see. Redemption at the counter is the `redemptions` scene.

pub mod error;
mod http;
pub mod lifecycle;
pub mod offer_service;
mod offers;
pub mod service;
mod store;

use actix_web::http::Method;

use crate::routes::Routes;

pub fn routes(routes: &mut Routes<'_>) {
    routes.post("/merchants", http::apply);
    routes.get("/merchants", http::list);
    routes.get("/merchants/{id}", http::detail);
    routes.post("/merchants/{id}/transitions", http::decide);
    routes.post("/merchants/{id}/staff-invites", http::invite);
    routes.get("/merchants/{id}/staff", http::staff);
    routes.add(Method::DELETE, "/merchants/{id}/staff/{user_id}", http::remove_staff);
    routes.post("/staff-invites/accept", http::join);
    routes.post("/merchants/{id}/offers", http::create_offer);
    routes.get("/merchants/{id}/offers", http::merchant_offers);
    routes.get("/offers", http::offers);
    routes.get("/offers/{id}", http::offer);
    routes.add(Method::PATCH, "/offers/{id}", http::update_offer);
    routes.add(Method::DELETE, "/offers/{id}", http::withdraw_offer);
}
