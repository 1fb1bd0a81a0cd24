//! Faults (issue 16, items 2–4): the database going away under the app (through a TCP proxy the test
//! cuts, never the shared server), Redis unreachable when the app starts and coming back, and SIGTERM to
//! the real `ehome` binary under load. docs/reliability.md states each promise.

mod cache;
mod database;
mod shutdown;
