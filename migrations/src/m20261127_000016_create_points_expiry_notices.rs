//! Points expiry (issue 12): the residents told that points expire on a day, one row per resident and
//! expiry day. The primary key makes the reminder go out once however many instances run the job.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("points_expiry_notices")
                    .col(big_integer("user_id"))
                    // The Asia/Shanghai day the points expire on.
                    .col(date("expiry_date"))
                    // What was forecast to expire that day when the resident was told (hundredths).
                    .col(big_integer("amount_minor"))
                    .col(timestamp_with_time_zone("notified_at"))
                    .primary_key(Index::create().col("user_id").col("expiry_date"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("points_expiry_notices").to_owned()).await
    }
}
