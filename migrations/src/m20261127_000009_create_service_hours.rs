//! 邻互助 service hours: one immutable row per decision about a volunteer's attendance at an activity.
//!
//! A sign-up gets at most one `original` record (approved or declined; the partial unique index makes
//! a second approval — a retry, another API instance, a replay after a crash — fail instead of
//! recording or awarding twice). A correction is an `adjustment` record naming the record it corrects;
//! rows are never updated or deleted once committed (`transfer_id` is set in the inserting
//! transaction, after the award whose id derives from the row's id). Besides the full values of the decision (`minutes`,
//! `credited_minutes`, `points_minor`), each row carries what it changes in the volunteer's totals
//! (`credited_delta_minutes`, `points_delta_minor`), so that leaderboards and statistics are sums, and
//! its credited minutes per Asia/Shanghai day (`credited_by_day`, JSON), which the daily cap reads.

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
                    .table("hour_records")
                    .col(big_pk_auto("id"))
                    .col(big_integer("community_id"))
                    .col(big_integer("activity_id"))
                    .col(big_integer("user_id"))
                    .col(big_integer("signup_id"))
                    .col(string("kind"))
                    .col(big_integer_null("corrects_id"))
                    .col(string("status"))
                    .col(integer("minutes"))
                    .col(integer("credited_minutes"))
                    .col(big_integer("points_minor"))
                    .col(integer("credited_delta_minutes"))
                    .col(big_integer("points_delta_minor"))
                    .col(text("credited_by_day"))
                    .col(string_null("transfer_id"))
                    .col(string("flags"))
                    .col(text_null("reason"))
                    .col(big_integer("decided_by"))
                    .col(date("service_day"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("hour_records", "community_id", "communities"))
                    .foreign_key(&mut fk("hour_records", "activity_id", "activities"))
                    .foreign_key(&mut fk("hour_records", "user_id", "users"))
                    .foreign_key(&mut fk("hour_records", "signup_id", "activity_signups"))
                    .foreign_key(&mut fk("hour_records", "corrects_id", "hour_records"))
                    .to_owned(),
            )
            .await?;
        // One original decision per sign-up, whoever approves it and however often (the same SQL on
        // both backends).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ix_hour_records_original_signup ON hour_records (signup_id) \
                 WHERE kind = 'original'",
            )
            .await?;
        manager.create_index(index("hour_records", &["activity_id", "signup_id", "id"], false)).await?;
        manager.create_index(index("hour_records", &["user_id", "id"], false)).await?;
        manager.create_index(index("hour_records", &["community_id", "service_day"], false)).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("hour_records").if_exists().to_owned()).await?;
        Ok(())
    }
}
