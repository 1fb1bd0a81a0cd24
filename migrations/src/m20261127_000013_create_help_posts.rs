//! 邻互助 help posts: a resident's need or offer, its reward held from the poster's balance, one
//! claimer, two-sided completion, the committee's dispute queue. Status changes are compare-and-sets
//! on `status`, so one claim, one confirmation and one job pass win however many instances race.
//!
//! `help_hour_records` belongs to the service-hours scene: hours a helper served on a help post, on the
//! same permanent record as activity hours (never updated or deleted; one per post, the unique index
//! making a repeat fail instead of counting twice).

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
                    .table("help_posts")
                    .col(big_pk_auto("id"))
                    .col(big_integer("community_id"))
                    .col(big_integer_null("building_id"))
                    .col(big_integer_null("grid_id"))
                    .col(big_integer("author_id"))
                    .col(string("kind"))
                    .col(string("category"))
                    .col(string("title"))
                    .col(text("description"))
                    .col(string_null("location"))
                    .col(timestamp_with_time_zone_null("needed_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(big_integer("reward_minor"))
                    .col(string_null("hold_transfer_id"))
                    .col(string("status"))
                    .col(string("moderation"))
                    .col(text_null("moderation_note"))
                    .col(big_integer_null("helper_id"))
                    .col(timestamp_with_time_zone_null("claimed_at"))
                    .col(timestamp_with_time_zone_null("done_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .col(string_null("outcome"))
                    .col(big_integer("paid_minor").default(0))
                    .col(string_null("payment_transfer_id"))
                    .col(big_integer_null("decided_by"))
                    .col(integer_null("rating"))
                    .col(text_null("rating_text"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("help_posts", "community_id", "communities"))
                    .foreign_key(&mut fk("help_posts", "author_id", "users"))
                    .foreign_key(&mut fk("help_posts", "helper_id", "users"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("help_posts", &["community_id", "status", "id"], false)).await?;
        manager.create_index(index("help_posts", &["author_id", "id"], false)).await?;
        manager.create_index(index("help_posts", &["helper_id", "id"], false)).await?;
        manager.create_index(index("help_posts", &["status", "done_at"], false)).await?;
        manager.create_index(index("help_posts", &["status", "expires_at"], false)).await?;
        manager
            .create_table(
                Table::create()
                    .table("help_hour_records")
                    .col(big_pk_auto("id"))
                    .col(big_integer("community_id"))
                    .col(big_integer("help_post_id"))
                    .col(big_integer("user_id"))
                    .col(integer("minutes"))
                    .col(integer("credited_minutes"))
                    .col(string("flags"))
                    .col(big_integer("confirmed_by"))
                    .col(date("service_day"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("help_hour_records", "community_id", "communities"))
                    .foreign_key(&mut fk("help_hour_records", "help_post_id", "help_posts"))
                    .foreign_key(&mut fk("help_hour_records", "user_id", "users"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("help_hour_records", &["help_post_id"], true)).await?;
        manager.create_index(index("help_hour_records", &["user_id", "id"], false)).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("help_hour_records").if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table("help_posts").if_exists().to_owned()).await?;
        Ok(())
    }
}
