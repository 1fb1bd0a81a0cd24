//! 邻互助's per-community bonus: a community may add points from issuance to the helper of every help
//! post its poster confirms (`help_post_settings`, absent row: no bonus, the default). A confirmed post
//! records the bonus it paid (`help_posts.bonus_minor`, 0 when none), so its view shows it. Help-post
//! hours are now counted in the leaderboards and statistics by community and day, which an index on
//! `help_hour_records` serves.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_helpers::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("help_post_settings")
                    .col(big_integer("community_id").primary_key())
                    .col(big_integer("confirmation_bonus_minor"))
                    .col(big_integer("updated_by"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("help_post_settings", "community_id", "communities"))
                    .foreign_key(&mut fk("help_post_settings", "updated_by", "users"))
                    .to_owned(),
            )
            .await?;
        // A default, so that SQLite can add the NOT NULL column in place and existing posts read 0.
        manager
            .alter_table(
                Table::alter().table("help_posts").add_column(big_integer("bonus_minor").default(0)).to_owned(),
            )
            .await?;
        manager.create_index(index("help_hour_records", &["community_id", "service_day"], false)).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_help_hour_records_community_id_service_day")
                    .table("help_hour_records")
                    .to_owned(),
            )
            .await?;
        manager.alter_table(Table::alter().table("help_posts").drop_column("bonus_minor").to_owned()).await?;
        manager.drop_table(Table::drop().table("help_post_settings").if_exists().to_owned()).await?;
        Ok(())
    }
}
