//! Refresh-token families get an absolute lifetime: every row carries the instant its family (one
//! sign-in) began, so a rotation can cap its successor's expiry at `family_started_at` plus the
//! configured maximum instead of sliding it forever.
//!
//! The column is nullable because SQLite cannot add a NOT NULL column without a default in place; the
//! existing rows are filled from the oldest row of their family, and the application writes it on
//! every new row.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::timestamp_with_time_zone_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("refresh_tokens")
                    .add_column(timestamp_with_time_zone_null("family_started_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE refresh_tokens SET family_started_at = \
                   (SELECT MIN(first.created_at) FROM refresh_tokens first \
                     WHERE first.family_id = refresh_tokens.family_id)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("refresh_tokens").drop_column("family_started_at").to_owned()).await
    }
}
