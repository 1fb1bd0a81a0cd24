//! 邻互助 volunteering: residents register as volunteers and are approved (the `volunteer` role),
//! teams with a leader and members, activities with an audience, capacity and a waitlist, and
//! attendance on site through a rotating check-in code. Service hours and points are the
//! `service_hours` scene's, which reads this one through `service`.

// Routed in the next commits; the tables and the hours scene's functions come first.
#[allow(dead_code)]
mod checkin;
#[allow(dead_code)]
mod code;
pub mod error;
mod for_hours;
pub mod lifecycle;
pub mod service;
#[allow(dead_code)]
mod settings;
#[allow(dead_code)]
mod signups;
#[allow(dead_code)]
mod store;
#[allow(dead_code)]
mod volunteers;

use crate::routes::Routes;

pub fn routes(_routes: &mut Routes<'_>) {}
