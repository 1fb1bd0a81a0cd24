//! 邻自治 notices and 烦事有计倾 deliberation. Notices: the notice, the buildings its scope covers (resolved
//! when it is published), one read receipt per household (the first member who opened it) and the
//! building leader's "told in person" marks. Deliberations: the topic and its source requests and
//! buildings, stakeholder groups with their members, the panel (representatives and professionals),
//! meetings with their attendees, minutes in versions, and resolutions (each a 邻办事 request).

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_helpers::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] = &[
    "notices",
    "notice_buildings",
    "notice_reads",
    "notice_told",
    "deliberations",
    "deliberation_requests",
    "deliberation_buildings",
    "deliberation_groups",
    "deliberation_group_members",
    "deliberation_panel",
    "deliberation_meetings",
    "deliberation_attendees",
    "deliberation_minutes",
    "deliberation_resolutions",
];

async fn create_notices(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("notices")
                .col(big_pk_auto("id"))
                .col(big_integer("community_id"))
                .col(big_integer("author_id"))
                .col(string("scope_kind"))
                .col(text("scope_ids"))
                .col(string("title"))
                .col(text("body"))
                .col(string("importance"))
                .col(text("attachments"))
                .col(timestamp_with_time_zone("published_at"))
                .foreign_key(&mut fk("notices", "community_id", "communities"))
                .foreign_key(&mut fk("notices", "author_id", "users"))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("notices", &["community_id", "id"], false)).await?;
    manager
        .create_table(
            Table::create()
                .table("notice_buildings")
                .col(big_integer("notice_id"))
                .col(big_integer("building_id"))
                .primary_key(Index::create().col("notice_id").col("building_id"))
                .foreign_key(&mut fk("notice_buildings", "notice_id", "notices"))
                .foreign_key(&mut fk("notice_buildings", "building_id", "buildings"))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("notice_buildings", &["building_id", "notice_id"], false)).await?;
    // One receipt per household: the primary key makes the first opener's row the only one.
    manager
        .create_table(
            Table::create()
                .table("notice_reads")
                .col(big_integer("notice_id"))
                .col(big_integer("household_id"))
                .col(big_integer("reader_id"))
                .col(timestamp_with_time_zone("read_at"))
                .primary_key(Index::create().col("notice_id").col("household_id"))
                .foreign_key(&mut fk("notice_reads", "notice_id", "notices"))
                .foreign_key(&mut fk("notice_reads", "household_id", "households"))
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table("notice_told")
                .col(big_integer("notice_id"))
                .col(big_integer("household_id"))
                .col(big_integer("told_by"))
                .col(text("note"))
                .col(timestamp_with_time_zone("told_at"))
                .primary_key(Index::create().col("notice_id").col("household_id"))
                .foreign_key(&mut fk("notice_told", "notice_id", "notices"))
                .foreign_key(&mut fk("notice_told", "household_id", "households"))
                .to_owned(),
        )
        .await?;
    Ok(())
}

async fn create_deliberations(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("deliberations")
                .col(big_pk_auto("id"))
                .col(big_integer("community_id"))
                .col(string("title"))
                .col(text("issue"))
                .col(text("evidence"))
                .col(string("severity"))
                .col(string("urgency"))
                .col(string("scope_kind"))
                .col(text("scope_ids"))
                .col(string("status"))
                .col(big_integer("proposed_by"))
                .col(big_integer_null("anchored_by"))
                .col(timestamp_with_time_zone_null("anchored_at"))
                .col(timestamp_with_time_zone_null("closed_at"))
                .col(text_null("closing_note"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("deliberations", "community_id", "communities"))
                .foreign_key(&mut fk("deliberations", "proposed_by", "users"))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("deliberations", &["community_id", "id"], false)).await?;
    manager.create_index(index("deliberations", &["status", "id"], false)).await?;
    manager
        .create_table(
            Table::create()
                .table("deliberation_requests")
                .col(big_integer("deliberation_id"))
                .col(big_integer("request_id"))
                .primary_key(Index::create().col("deliberation_id").col("request_id"))
                .foreign_key(&mut fk("deliberation_requests", "deliberation_id", "deliberations"))
                .foreign_key(&mut fk("deliberation_requests", "request_id", "service_requests"))
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table("deliberation_buildings")
                .col(big_integer("deliberation_id"))
                .col(big_integer("building_id"))
                .primary_key(Index::create().col("deliberation_id").col("building_id"))
                .foreign_key(&mut fk("deliberation_buildings", "deliberation_id", "deliberations"))
                .foreign_key(&mut fk("deliberation_buildings", "building_id", "buildings"))
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table("deliberation_groups")
                .col(big_pk_auto("id"))
                .col(big_integer("deliberation_id"))
                .col(string("name"))
                .col(text("description"))
                .col(big_integer_null("poll_id"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("deliberation_groups", "deliberation_id", "deliberations"))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("deliberation_groups", &["deliberation_id", "id"], false)).await?;
    manager
        .create_table(
            Table::create()
                .table("deliberation_group_members")
                .col(big_integer("group_id"))
                .col(big_integer("user_id"))
                .primary_key(Index::create().col("group_id").col("user_id"))
                .foreign_key(&mut fk("deliberation_group_members", "group_id", "deliberation_groups"))
                .foreign_key(&mut fk("deliberation_group_members", "user_id", "users"))
                .to_owned(),
        )
        .await?;
    create_panel_and_meetings(manager).await
}

async fn create_panel_and_meetings(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    // Representatives (with their group) and professionals (group 0: none) of a deliberation's panel.
    manager
        .create_table(
            Table::create()
                .table("deliberation_panel")
                .col(big_pk_auto("id"))
                .col(big_integer("deliberation_id"))
                .col(big_integer("group_id"))
                .col(big_integer("user_id"))
                .col(string("kind"))
                .col(string("chosen_by"))
                .col(string_null("profession"))
                .col(text_null("reason"))
                .col(big_integer_null("decided_by"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("deliberation_panel", "deliberation_id", "deliberations"))
                .foreign_key(&mut fk("deliberation_panel", "user_id", "users"))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("deliberation_panel", &["deliberation_id", "group_id", "user_id"], true)).await?;
    manager
        .create_table(
            Table::create()
                .table("deliberation_meetings")
                .col(big_pk_auto("id"))
                .col(big_integer("deliberation_id"))
                .col(big_integer("chair_id"))
                .col(timestamp_with_time_zone("starts_at"))
                .col(string("place"))
                .col(text("agenda"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("deliberation_meetings", "deliberation_id", "deliberations"))
                .foreign_key(&mut fk("deliberation_meetings", "chair_id", "users"))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("deliberation_meetings", &["deliberation_id", "id"], false)).await?;
    manager
        .create_table(
            Table::create()
                .table("deliberation_attendees")
                .col(big_integer("meeting_id"))
                .col(big_integer("user_id"))
                .col(string("capacity"))
                .col(big_integer("marked_by"))
                .col(timestamp_with_time_zone("marked_at"))
                .primary_key(Index::create().col("meeting_id").col("user_id"))
                .foreign_key(&mut fk("deliberation_attendees", "meeting_id", "deliberation_meetings"))
                .foreign_key(&mut fk("deliberation_attendees", "user_id", "users"))
                .to_owned(),
        )
        .await?;
    // Every version of a meeting's minutes is kept; a correction is the next version.
    manager
        .create_table(
            Table::create()
                .table("deliberation_minutes")
                .col(big_pk_auto("id"))
                .col(big_integer("meeting_id"))
                .col(integer("version"))
                .col(text("text"))
                .col(text("decisions"))
                .col(text_null("correction_note"))
                .col(big_integer("written_by"))
                .col(big_integer_null("signed_off_by"))
                .col(timestamp_with_time_zone_null("signed_off_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("deliberation_minutes", "meeting_id", "deliberation_meetings"))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("deliberation_minutes", &["meeting_id", "version"], true)).await?;
    manager
        .create_table(
            Table::create()
                .table("deliberation_resolutions")
                .col(big_pk_auto("id"))
                .col(big_integer("deliberation_id"))
                .col(big_integer("owner_id"))
                .col(date("due_on"))
                .col(text("description"))
                .col(big_integer("request_id"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("deliberation_resolutions", "deliberation_id", "deliberations"))
                .foreign_key(&mut fk("deliberation_resolutions", "owner_id", "users"))
                .foreign_key(&mut fk("deliberation_resolutions", "request_id", "service_requests"))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("deliberation_resolutions", &["deliberation_id", "id"], false)).await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_notices(manager).await?;
        create_deliberations(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES.iter().rev() {
            manager.drop_table(Table::drop().table(*table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
