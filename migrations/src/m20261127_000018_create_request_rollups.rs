//! 邻办事 daily rollups (issue 13): per community, Shanghai calendar day, category and grid, the figures
//! `GET /communities/{id}/stats` sums, so that a month's statistics read about thirty rows per
//! category and grid instead of every request of the month. The requests scene keeps them in the same
//! transaction as each submission, transition and rating; this migration creates the table and fills it
//! from the requests already stored (`backfill`, which `ehome stats rebuild` runs again).
//!
//! What a row holds, by the day a request was created: how many were reported, are open now, were not
//! withdrawn, were closed as resolved (confirmed or closed after the confirmation window), were rated
//! and the sum of their ratings, and every response and resolution time in whole seconds (a
//! comma-separated list; an exact median needs every value). By the day a request was resolved: how
//! many were handled. What depends on the instant of the question (overdue, not yet due) is not stored.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_helpers::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

pub const TABLE: &str = "request_daily_rollups";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TABLE)
                    .col(big_integer("community_id"))
                    .col(date("day"))
                    .col(big_integer("category_id"))
                    .col(big_integer("grid_id"))
                    .col(big_integer("reported").default(0))
                    .col(big_integer("open_count").default(0))
                    .col(big_integer("not_withdrawn").default(0))
                    .col(big_integer("resolved_for_good").default(0))
                    .col(big_integer("rated").default(0))
                    .col(big_integer("rating_sum").default(0))
                    .col(big_integer("handled").default(0))
                    .col(text("response_seconds").default(""))
                    .col(text("resolution_seconds").default(""))
                    .primary_key(Index::create().col("community_id").col("day").col("category_id").col("grid_id"))
                    .foreign_key(&mut fk(TABLE, "community_id", "communities"))
                    .to_owned(),
            )
            .await?;
        // The statistics correct the stored rates with the requests not yet due at the instant asked
        // about; those are a community's few most recent ones, found through this index.
        manager.create_index(index("service_requests", &["community_id", "resolution_due_at"], false)).await?;
        let db = manager.get_connection();
        db.execute_unprepared(&backfill(manager.get_database_backend())).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_service_requests_community_id_resolution_due_at")
                    .table("service_requests")
                    .to_owned(),
            )
            .await?;
        manager.drop_table(Table::drop().table(TABLE).to_owned()).await
    }
}

/// The Shanghai calendar date of a timestamp column, and the whole seconds from `from` to `to` as
/// chrono's `num_seconds` counts them (truncated). These are the backend-specific parts: PostgreSQL has
/// the zone database and exact intervals; SQLite stores the app's timestamps as RFC 3339 text in UTC
/// (`2026-03-28T15:59:55.123456+00:00`), so whole seconds come from `strftime('%s')` and one is taken
/// off when the fraction of `to` is below the fraction of `from` (fractions compared as text once their
/// trailing zeros and point are trimmed). Shanghai has kept UTC+8 all year since 1991.
struct Dialect {
    backend: DbBackend,
}

impl Dialect {
    fn day(&self, column: &str) -> String {
        match self.backend {
            DbBackend::Postgres => format!("(({column}) AT TIME ZONE 'Asia/Shanghai')::date"),
            _ => format!("date({column}, '+8 hours')"),
        }
    }

    fn seconds(&self, from: &str, to: &str) -> String {
        match self.backend {
            DbBackend::Postgres => format!("trunc(extract(epoch from ({to} - {from})))::bigint::text"),
            _ => {
                let fraction = |c: &str| format!("rtrim(substr({c}, 20, length({c}) - 25), '.0')");
                format!(
                    "CAST(CAST(strftime('%s', {to}) AS INTEGER) - CAST(strftime('%s', {from}) AS INTEGER) \
                     - (CASE WHEN {} < {} THEN 1 ELSE 0 END) AS TEXT)",
                    fraction(to),
                    fraction(from)
                )
            }
        }
    }

    fn list(&self, expression: &str) -> String {
        match self.backend {
            DbBackend::Postgres => format!("COALESCE(string_agg({expression}, ','), '')"),
            _ => format!("COALESCE(group_concat({expression}, ','), '')"),
        }
    }
}

/// One statement that fills the rollups from every stored request (the table must be empty).
pub fn backfill(backend: DbBackend) -> String {
    let d = Dialect { backend };
    let response = d.seconds("created_at", "first_response_at");
    let resolution = d.seconds("created_at", "resolved_at");
    format!(
        "INSERT INTO {TABLE} (community_id, day, category_id, grid_id, reported, open_count, not_withdrawn, \
         resolved_for_good, rated, rating_sum, handled, response_seconds, resolution_seconds) \
         SELECT community_id, day, category_id, grid_id, SUM(reported), SUM(open_count), SUM(not_withdrawn), \
         SUM(resolved_for_good), SUM(rated), SUM(rating_sum), SUM(handled), {response_list}, {resolution_list} \
         FROM (\
         SELECT community_id, {created_day} AS day, category_id, grid_id, 1 AS reported, \
         CASE WHEN is_open THEN 1 ELSE 0 END AS open_count, \
         CASE WHEN status <> 'withdrawn' THEN 1 ELSE 0 END AS not_withdrawn, \
         CASE WHEN status IN ('confirmed', 'closed_timeout') THEN 1 ELSE 0 END AS resolved_for_good, \
         CASE WHEN rating IS NULL THEN 0 ELSE 1 END AS rated, COALESCE(rating, 0) AS rating_sum, 0 AS handled, \
         CASE WHEN first_response_at IS NULL THEN NULL ELSE {response} END AS response_s, \
         CASE WHEN resolved_at IS NULL THEN NULL ELSE {resolution} END AS resolution_s \
         FROM service_requests \
         UNION ALL \
         SELECT community_id, {resolved_day} AS day, category_id, grid_id, 0, 0, 0, 0, 0, 0, 1, NULL, NULL \
         FROM service_requests WHERE resolved_at IS NOT NULL\
         ) parts GROUP BY community_id, day, category_id, grid_id",
        created_day = d.day("created_at"),
        resolved_day = d.day("resolved_at"),
        response_list = d.list("response_s"),
        resolution_list = d.list("resolution_s"),
    )
}
