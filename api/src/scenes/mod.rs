//! One folder per scene, each with the same files: `mod.rs` (its routes), `http.rs` (bodies, views, thin
//! handlers), `service.rs` (use cases that own their transaction), `lifecycle.rs` (pure states and who may
//! move them) where the scene has states, `jobs.rs` for its background work, `error.rs` for its errors.
//! Scenes call each other's `service` functions only.

pub mod activities;
pub mod care;
pub mod community;
pub mod deliberations;
pub mod help_posts;
pub mod ledger_admin;
pub mod merchants;
pub mod notices;
pub mod notifications;
pub mod polls;
pub mod redemptions;
pub mod requests;
pub mod service_hours;
pub mod settlements;
pub mod wallet;
