//! Faults (issue 16, items 2–4 and 6): the database going away under the app (through a TCP proxy the test
//! cuts, never the shared server), Redis unreachable when the app starts and coming back, SIGTERM to the
//! real `ehome` binary under load, and a backup taken while it writes, restored elsewhere.
//! docs/reliability.md states each promise.

mod backup;
mod cache;
mod database;
mod shutdown;
