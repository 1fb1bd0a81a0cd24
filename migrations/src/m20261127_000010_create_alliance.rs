//! The merchant alliance (issue 12, part 1): merchants gain what an application names (kind,
//! category, address, contact phone, licence, the alliance they join, their owner, the decision),
//! and the alliance's own tables: one-time staff invites, offers with their stock, per-person limit
//! usage, and redemptions (a one-time code at the counter, captured, cancelled, expired or refunded).
//!
//! `merchants` is altered, never recreated: SQLite adds one column per statement, and a NOT NULL
//! column needs a default there, so the new text columns default to what the demo's shop is.
//! Existing merchants join their own community's alliance.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_helpers::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// New tables in creation order; dropped in reverse.
const TABLES: &[&str] = &["merchant_staff_invites", "offers", "offer_limit_usage", "redemptions"];

/// Columns added to `merchants`, dropped again by `down`.
fn merchant_columns() -> Vec<ColumnDef> {
    vec![
        string("kind").default("shop").to_owned(),
        string("business_category").default("").to_owned(),
        string("address").default("").to_owned(),
        string_null("contact_phone").to_owned(),
        string("licence_number").default("").to_owned(),
        string("alliance_level").default("community").to_owned(),
        big_integer("alliance_id").default(0).to_owned(),
        big_integer_null("owner_id").to_owned(),
        big_integer_null("decided_by").to_owned(),
        timestamp_with_time_zone_null("decided_at").to_owned(),
        string_null("decision_note").to_owned(),
        timestamp_with_time_zone_null("updated_at").to_owned(),
    ]
}

const MERCHANT_COLUMNS: &[&str] = &[
    "kind",
    "business_category",
    "address",
    "contact_phone",
    "licence_number",
    "alliance_level",
    "alliance_id",
    "owner_id",
    "decided_by",
    "decided_at",
    "decision_note",
    "updated_at",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for mut column in merchant_columns() {
            manager.alter_table(Table::alter().table("merchants").add_column(&mut column).to_owned()).await?;
        }
        manager
            .get_connection()
            .execute_unprepared("UPDATE merchants SET alliance_id = community_id, updated_at = created_at")
            .await?;
        manager.create_index(index("merchants", &["alliance_level", "alliance_id", "status"], false)).await?;
        manager.create_index(index("merchants", &["owner_id"], false)).await?;
        create_invites(manager).await?;
        create_offers(manager).await?;
        create_redemptions(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES.iter().rev() {
            manager.drop_table(Table::drop().table(*table).to_owned()).await?;
        }
        for name in ["ix_merchants_alliance_level_alliance_id_status", "ix_merchants_owner_id"] {
            manager.drop_index(Index::drop().name(name).table("merchants").to_owned()).await?;
        }
        for column in MERCHANT_COLUMNS {
            manager.alter_table(Table::alter().table("merchants").drop_column(*column).to_owned()).await?;
        }
        Ok(())
    }
}

async fn create_invites(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("merchant_staff_invites")
                .col(big_pk_auto("id"))
                .col(big_integer("merchant_id"))
                // SHA-256 of the one-time code, hex: the code itself is shown once and never stored.
                .col(string("code_hash"))
                .col(big_integer("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(big_integer_null("used_by"))
                .col(timestamp_with_time_zone_null("used_at"))
                .foreign_key(&mut fk("merchant_staff_invites", "merchant_id", "merchants"))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("merchant_staff_invites", &["code_hash"], true)).await
}

async fn create_offers(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("offers")
                .col(big_pk_auto("id"))
                .col(big_integer("merchant_id"))
                .col(string("title"))
                .col(text("description"))
                .col(string_null("photo_url"))
                .col(big_integer("price_minor"))
                // NULL: unlimited. Otherwise available = total − reserved (codes issued) − used (captured).
                .col(big_integer_null("stock_total"))
                .col(big_integer("stock_reserved").default(0))
                .col(big_integer("stock_used").default(0))
                .col(integer_null("limit_quantity"))
                .col(string_null("limit_period"))
                .col(timestamp_with_time_zone("valid_from"))
                .col(timestamp_with_time_zone("valid_until"))
                .col(string("status"))
                .col(big_integer("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("offers", "merchant_id", "merchants"))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("offers", &["merchant_id", "status"], false)).await?;
    manager
        .create_table(
            Table::create()
                .table("offer_limit_usage")
                .col(big_pk_auto("id"))
                .col(big_integer("offer_id"))
                .col(big_integer("user_id"))
                // `day:2026-11-27`, `week:2026-W48`, `month:2026-11` (Asia/Shanghai) or `ever`.
                .col(string("period_key"))
                // Reserved by live codes plus captured.
                .col(big_integer("quantity").default(0))
                .foreign_key(&mut fk("offer_limit_usage", "offer_id", "offers"))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("offer_limit_usage", &["offer_id", "user_id", "period_key"], true)).await
}

async fn create_redemptions(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("redemptions")
                .col(big_pk_auto("id"))
                .col(big_integer("merchant_id"))
                .col(big_integer("offer_id"))
                // The merchant's community: settlement and its books are per community.
                .col(big_integer("community_id"))
                .col(big_integer("user_id"))
                // Eight digits, unique per merchant for all time, so a repeat names the first use.
                .col(string("code"))
                .col(big_integer("quantity"))
                .col(big_integer("amount_minor"))
                .col(string("status"))
                .col(string("period_key"))
                .col(string_null("hold_transfer_id"))
                .col(string_null("capture_transfer_id"))
                .col(string_null("refund_transfer_id"))
                .col(timestamp_with_time_zone("issued_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("captured_at"))
                .col(big_integer_null("captured_by"))
                .col(timestamp_with_time_zone_null("ended_at"))
                .col(string_null("end_reason"))
                .col(timestamp_with_time_zone_null("refunded_at"))
                .col(big_integer_null("refunded_by"))
                .col(string_null("refund_reason"))
                // Set by settlement (issue 12, part 2): a captured, unrefunded redemption is on at
                // most one statement.
                .col(big_integer_null("settlement_id"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("redemptions", "merchant_id", "merchants"))
                .foreign_key(&mut fk("redemptions", "offer_id", "offers"))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("redemptions", &["merchant_id", "code"], true)).await?;
    manager.create_index(index("redemptions", &["status", "expires_at"], false)).await?;
    manager.create_index(index("redemptions", &["merchant_id", "status", "captured_at"], false)).await?;
    manager.create_index(index("redemptions", &["user_id", "id"], false)).await?;
    manager.create_index(index("redemptions", &["settlement_id"], false)).await
}
