//! An offer's stock counts what codes have taken — issued and not released, captured and not
//! refunded — in one column, `stock_taken`, instead of `stock_reserved` and `stock_used`.
//!
//! Only what is still available (`stock_total − stock_taken`) decides whether a code may be issued;
//! the split between codes waiting at the counter and codes redeemed is in the redemptions' rows. With
//! the split in the offer's row, every capture wrote that row too, so all the captures of an offer
//! queued on it behind its codes; now a capture leaves it alone.

use sea_orm_migration::prelude::*;

use crate::schema_helpers::sql_migration;

#[derive(DeriveMigrationName)]
pub struct Migration;

sql_migration! {
    up: [
        "ALTER TABLE offers RENAME COLUMN stock_reserved TO stock_taken",
        "UPDATE offers SET stock_taken = stock_taken + stock_used WHERE stock_used <> 0",
        "ALTER TABLE offers DROP COLUMN stock_used",
    ],
    // The split comes back from the redemptions: captured codes are used, the rest reserved.
    down: [
        "ALTER TABLE offers ADD COLUMN stock_used BIGINT NOT NULL DEFAULT 0",
        "UPDATE offers SET stock_used = (SELECT COALESCE(SUM(r.quantity), 0) FROM redemptions r \
           WHERE r.offer_id = offers.id AND r.status = 'captured') WHERE stock_total IS NOT NULL",
        "UPDATE offers SET stock_taken = stock_taken - stock_used",
        "ALTER TABLE offers RENAME COLUMN stock_taken TO stock_reserved",
    ],
}
