//! An offer's stock counts what codes have taken — issued and not released, captured and not
//! refunded — in one column, `stock_taken`, instead of `stock_reserved` and `stock_used`.
//!
//! Only what is still available (`stock_total − stock_taken`) decides whether a code may be issued;
//! the split between codes waiting at the counter and codes redeemed is in the redemptions' rows. With
//! the split in the offer's row, every capture wrote that row too, so all the captures of an offer
//! queued on it behind its codes; now a capture leaves it alone.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("ALTER TABLE offers RENAME COLUMN stock_reserved TO stock_taken").await?;
        db.execute_unprepared("UPDATE offers SET stock_taken = stock_taken + stock_used WHERE stock_used <> 0").await?;
        db.execute_unprepared("ALTER TABLE offers DROP COLUMN stock_used").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The split comes back from the redemptions: captured codes are used, the rest reserved.
        let db = manager.get_connection();
        db.execute_unprepared("ALTER TABLE offers ADD COLUMN stock_used BIGINT NOT NULL DEFAULT 0").await?;
        db.execute_unprepared(
            "UPDATE offers SET stock_used = (SELECT COALESCE(SUM(r.quantity), 0) FROM redemptions r \
               WHERE r.offer_id = offers.id AND r.status = 'captured') WHERE stock_total IS NOT NULL",
        )
        .await?;
        db.execute_unprepared("UPDATE offers SET stock_taken = stock_taken - stock_used").await?;
        db.execute_unprepared("ALTER TABLE offers RENAME COLUMN stock_taken TO stock_reserved").await?;
        Ok(())
    }
}
