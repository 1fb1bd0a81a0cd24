//! 邻e家 API. The folders show the architecture (`docs/architecture.md` is the map):
//!
//! - [`platform`]: plumbing every scene uses — configuration, clock, database, cache, JSON, metrics,
//!   middleware, pagination, rate limits, telemetry, the WeChat client, the one error type;
//! - [`identity`]: who the caller is — sign-in and tokens, the profile, users;
//! - [`authz`]: what the caller may do — the `Actor` and one policy file per scene;
//! - [`domain`]: validated value types shared by scenes;
//! - [`scenes`]: one folder per scene, each with the same files;
//! - [`routes`], [`startup`], [`state`]: the app assembled; [`cli`] and [`demo`]: the `ehome` command.

pub mod authz;
pub mod cli;
pub mod demo;
pub mod domain;
pub mod identity;
pub mod platform;
pub mod points;
pub mod routes;
pub mod scenes;
pub mod startup;
pub mod state;
