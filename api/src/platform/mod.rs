//! Plumbing that every scene uses and that knows no scene.

pub mod cache;
pub mod clock;
pub mod compression;
pub mod config;
pub mod content;
pub mod csv;
pub mod db;
pub mod db_health;
pub mod error;
pub mod etag;
pub mod html;
pub mod idempotency;
pub mod json;
pub mod kept;
pub mod metrics;
pub mod middleware;
pub mod ops;
pub mod pagination;
pub mod rate_limit;
pub mod shutdown;
pub mod telemetry;
pub mod transaction;
pub mod wechat;
