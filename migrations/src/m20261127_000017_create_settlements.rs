//! Settlement with shops (issue 12, part 3): a community's settlement rate, statements drafted per
//! merchant and period, and their lines, one per redemption.
//!
//! A redemption is on exactly one live statement: `redemptions.settlement_id` names the statement
//! that holds it (set by a compare-and-set on `settlement_id IS NULL` when a draft claims it, cleared
//! when the draft is cancelled), and the partial unique index on `settlement_lines (redemption_id)`
//! over lines not cancelled makes the database refuse a second live line for it, whatever the code does.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_helpers::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// New tables in creation order; dropped in reverse.
const TABLES: &[&str] = &["settlement_rates", "settlements", "settlement_lines"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_rates(manager).await?;
        create_settlements(manager).await?;
        create_lines(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES.iter().rev() {
            manager.drop_table(Table::drop().table(*table).to_owned()).await?;
        }
        Ok(())
    }
}

async fn create_rates(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("settlement_rates")
                .col(big_pk_auto("id"))
                .col(big_integer("community_id"))
                // ¥ per point as decimal text ("0.10"): exact on both backends, parsed into rust_decimal.
                .col(string("rate"))
                .col(big_integer("set_by"))
                .col(timestamp_with_time_zone("set_at"))
                .foreign_key(&mut fk("settlement_rates", "community_id", "communities"))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("settlement_rates", &["community_id"], true)).await
}

async fn create_settlements(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("settlements")
                .col(big_pk_auto("id"))
                .col(big_integer("merchant_id"))
                .col(big_integer("community_id"))
                // The period's days in Asia/Shanghai, both included, and the instants they span.
                .col(date("period_first_day"))
                .col(date("period_last_day"))
                .col(timestamp_with_time_zone("period_start"))
                .col(timestamp_with_time_zone("period_end"))
                // NULL for a welfare supermarket run by the community: points retired, no CNY.
                .col(string_null("rate"))
                .col(big_integer("line_count").default(0))
                .col(big_integer("points_minor").default(0))
                // The sum of the lines' CNY (each rounded half-even to the fen), and the exact product
                // of the total points and the rate, unrounded, for the reconciliation.
                .col(big_integer("cny_minor").default(0))
                .col(string("cny_exact").default("0"))
                .col(string("status"))
                .col(big_integer("drafted_by"))
                .col(timestamp_with_time_zone("drafted_at"))
                .col(big_integer_null("approved_by"))
                .col(timestamp_with_time_zone_null("approved_at"))
                .col(string_null("points_transfer_id"))
                .col(string_null("cny_transfer_id"))
                .col(big_integer_null("paid_by"))
                .col(timestamp_with_time_zone_null("paid_at"))
                .col(string_null("bank_reference"))
                .col(string_null("payment_transfer_id"))
                .col(big_integer_null("cancelled_by"))
                .col(timestamp_with_time_zone_null("cancelled_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("settlements", "merchant_id", "merchants"))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("settlements", &["merchant_id", "id"], false)).await?;
    manager.create_index(index("settlements", &["community_id", "status"], false)).await
}

async fn create_lines(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("settlement_lines")
                .col(big_pk_auto("id"))
                .col(big_integer("settlement_id"))
                .col(big_integer("redemption_id"))
                .col(big_integer("offer_id"))
                .col(big_integer("quantity"))
                .col(big_integer("points_minor"))
                .col(big_integer("cny_minor"))
                .col(timestamp_with_time_zone("captured_at"))
                // Set when the line's draft is cancelled: the redemption is free for another statement.
                .col(timestamp_with_time_zone_null("cancelled_at"))
                .foreign_key(&mut fk("settlement_lines", "settlement_id", "settlements"))
                .foreign_key(&mut fk("settlement_lines", "redemption_id", "redemptions"))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("settlement_lines", &["settlement_id", "id"], false)).await?;
    // A redemption is on at most one live statement (the same SQL on both backends).
    manager
        .get_connection()
        .execute_unprepared(
            "CREATE UNIQUE INDEX ix_settlement_lines_live_redemption ON settlement_lines (redemption_id) \
             WHERE cancelled_at IS NULL",
        )
        .await?;
    Ok(())
}
