//! End-to-end tests: one binary, one module per area.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth_tokens;
mod bad_input;
mod community;
mod health;
mod logs;
mod openapi;
mod roles_matrix;
mod security_http;
mod security_platform;
mod services_flow;
mod services_lifecycle;
mod services_stats;
mod wechat_client;
mod wechat_login;
mod wechat_token;
