//! Integration tests of the ledger against a real database: SQLite by default,
//! PostgreSQL with `EHOME_TEST_BACKEND=postgres`. Each test gets a database of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bench_smoke;
mod concurrency;
mod export_tools;
mod operations;
mod properties;
mod shop_holds;
mod support;
mod tamper;
