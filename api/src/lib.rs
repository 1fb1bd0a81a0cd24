//! 邻e家 API: configuration, start-up, auth, one module per scene, the WeChat client, the shared cache,
//! errors.

pub mod auth;
pub mod authz;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod community;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod json;
pub mod ledger_api;
pub mod me;
pub mod metrics;
pub mod middleware;
pub mod notifications;
pub mod ops;
pub mod pagination;
pub mod points;
pub mod rate_limit;
pub mod routes;
pub mod services;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod users;
pub mod wechat;
