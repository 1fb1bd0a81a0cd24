//! End-to-end tests: one binary, one module per area.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod activities;
mod alliance;
mod auth_tokens;
mod bad_input;
mod care;
mod community;
mod health;
mod logs;
mod openapi;
mod points;
mod requests_flow;
mod requests_lifecycle;
mod requests_stats;
mod roles_matrix;
mod scene_shape;
mod security_authz;
mod security_http;
mod security_platform;
mod service_hours;
mod text_safety;
mod wechat_client;
mod wechat_login;
mod wechat_token;
