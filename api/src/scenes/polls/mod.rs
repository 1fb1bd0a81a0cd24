//! 邻自治 polls: the committee (or a building leader for their buildings) asks; one ballot per
//! household or resident (or per named person, for a deliberation group's election), secret or open,
//! counted exactly once by the database, chained by hash, verified by `ehome polls verify`.

pub mod chain;
pub mod eligibility;
pub mod error;
pub mod lifecycle;
pub mod service;
pub mod store;
pub mod tally;

use crate::routes::Routes;

pub fn routes(_routes: &mut Routes<'_>) {}
