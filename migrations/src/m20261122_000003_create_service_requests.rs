//! 邻办事: request categories with SLAs, requests, their immutable timeline, followers ("me too"),
//! and the in-app notification inbox.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_helpers::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] =
    &["request_categories", "service_requests", "request_events", "request_followers", "notifications"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("request_categories")
                    .col(big_pk_auto("id"))
                    .col(big_integer("community_id"))
                    .col(string("key"))
                    .col(string("name"))
                    .col(integer("response_sla_hours"))
                    .col(integer("resolution_sla_hours"))
                    .col(boolean("active").default(true))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("request_categories", "community_id", "communities"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("request_categories", &["community_id", "key"], true)).await?;
        manager
            .create_table(
                Table::create()
                    .table("service_requests")
                    .col(big_pk_auto("id"))
                    .col(big_integer("community_id"))
                    .col(big_integer("category_id"))
                    .col(big_integer("grid_id"))
                    .col(big_integer("building_id"))
                    .col(big_integer("reporter_id"))
                    .col(string("title"))
                    .col(text("description"))
                    .col(string_null("location"))
                    .col(text("photos"))
                    .col(string("urgency"))
                    .col(boolean("anonymous"))
                    .col(string("status"))
                    // Open requests (not resolved and not finished) carry is_open = true, so the queue
                    // and the escalation job walk a small index range.
                    .col(boolean("is_open"))
                    .col(string("moderation"))
                    .col(string("assignee_level"))
                    .col(big_integer_null("assignee_id"))
                    .col(integer("escalation_level").default(0))
                    .col(integer("interest_count").default(0))
                    .col(timestamp_with_time_zone("response_due_at"))
                    .col(timestamp_with_time_zone("resolution_due_at"))
                    .col(timestamp_with_time_zone_null("first_response_at"))
                    .col(timestamp_with_time_zone_null("resolved_at"))
                    .col(timestamp_with_time_zone_null("closed_at"))
                    .col(integer_null("rating"))
                    .col(text_null("rating_text"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("service_requests", "community_id", "communities"))
                    .foreign_key(&mut fk("service_requests", "category_id", "request_categories"))
                    .foreign_key(&mut fk("service_requests", "reporter_id", "users"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("service_requests", &["community_id", "created_at", "id"], false)).await?;
        manager
            .create_index(index("service_requests", &["community_id", "is_open", "created_at", "id"], false))
            .await?;
        manager.create_index(index("service_requests", &["is_open", "resolution_due_at"], false)).await?;
        manager.create_index(index("service_requests", &["reporter_id", "created_at"], false)).await?;
        manager.create_index(index("service_requests", &["building_id", "category_id", "is_open"], false)).await?;
        manager.create_index(index("service_requests", &["status", "resolved_at"], false)).await?;
        manager
            .create_table(
                Table::create()
                    .table("request_events")
                    .col(big_pk_auto("id"))
                    .col(big_integer("request_id"))
                    .col(big_integer_null("actor_id"))
                    .col(string_null("actor_role"))
                    .col(string("kind"))
                    .col(string_null("from_status"))
                    .col(string_null("to_status"))
                    .col(big_integer_null("assignee_id"))
                    .col(text_null("note"))
                    .col(boolean("internal").default(false))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("request_events", "request_id", "service_requests"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("request_events", &["request_id", "id"], false)).await?;
        manager
            .create_table(
                Table::create()
                    .table("request_followers")
                    .col(big_integer("request_id"))
                    .col(big_integer("user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("request_id").col("user_id"))
                    .foreign_key(&mut fk("request_followers", "request_id", "service_requests"))
                    .foreign_key(&mut fk("request_followers", "user_id", "users"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("notifications")
                    .col(big_pk_auto("id"))
                    .col(big_integer("user_id"))
                    .col(string("kind"))
                    .col(string("title"))
                    .col(text("body"))
                    .col(big_integer_null("request_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("read_at"))
                    .foreign_key(&mut fk("notifications", "user_id", "users"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("notifications", &["user_id", "id"], false)).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES.iter().rev() {
            manager.drop_table(Table::drop().table(*table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
