//! The care round (issue 14, part 2): care recipients with their consent and emergency contacts, their
//! assigned visitors, their devices, the visits logged, the signed sensor alerts received (one row per
//! vendor event id, so a replay is refused by the unique index), and the care tasks an alert opens
//! (urgent visit tasks with an acknowledgement SLA, and maintenance notes for `battery_low`).

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_helpers::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Tables in creation order; dropped in reverse.
const TABLES: &[&str] =
    &["care_recipients", "care_visitors", "care_devices", "care_visits", "care_tasks", "care_alerts"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_recipients(manager).await?;
        create_visitors_and_devices(manager).await?;
        create_visits(manager).await?;
        create_tasks_and_alerts(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES.iter().rev() {
            manager.drop_table(Table::drop().table(*table).to_owned()).await?;
        }
        Ok(())
    }
}

async fn create_recipients(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("care_recipients")
                .col(big_pk_auto("id"))
                .col(big_integer("community_id"))
                .col(big_integer("grid_id"))
                .col(big_integer("building_id"))
                .col(big_integer("household_id"))
                // The recipient's own account when they have one (many do not).
                .col(big_integer_null("user_id"))
                .col(string("name"))
                // living_alone, widowed_childless (孤寡), disabled, other.
                .col(string("circumstance"))
                .col(string("risk_level"))
                // Who consented: the recipient themself or their guardian, and when it was recorded.
                .col(string("consent_by"))
                .col(string_null("guardian_name"))
                .col(timestamp_with_time_zone("consent_recorded_at"))
                // JSON array of {name, relation, phone}: seen by the care team only.
                .col(text("emergency_contacts"))
                .col(integer("visit_interval_days"))
                .col(timestamp_with_time_zone_null("last_visit_at"))
                .col(timestamp_with_time_zone("next_visit_due_at"))
                // The missed-visit escalation: none, visitor, grid_worker, committee; reset by a visit.
                .col(string("missed_stage").default("none"))
                .col(timestamp_with_time_zone_null("missed_stage_at"))
                .col(big_integer("registered_by"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("care_recipients", "community_id", "communities"))
                .foreign_key(&mut fk("care_recipients", "household_id", "households"))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("care_recipients", &["community_id", "risk_level"], false)).await?;
    manager.create_index(index("care_recipients", &["next_visit_due_at"], false)).await
}

async fn create_visitors_and_devices(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("care_visitors")
                .col(big_pk_auto("id"))
                .col(big_integer("recipient_id"))
                .col(big_integer("user_id"))
                .col(big_integer("assigned_by"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("care_visitors", "recipient_id", "care_recipients"))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("care_visitors", &["recipient_id", "user_id"], true)).await?;
    manager.create_index(index("care_visitors", &["user_id"], false)).await?;
    manager
        .create_table(
            Table::create()
                .table("care_devices")
                .col(big_pk_auto("id"))
                .col(big_integer("recipient_id"))
                .col(string("vendor"))
                // The vendor's own id of the device, as alerts name it.
                .col(string("device_key"))
                // water_meter, power_meter, smoke_sensor, fall_sensor.
                .col(string("kind"))
                .col(big_integer("registered_by"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("care_devices", "recipient_id", "care_recipients"))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("care_devices", &["vendor", "device_key"], true)).await
}

async fn create_visits(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("care_visits")
                .col(big_pk_auto("id"))
                .col(big_integer("recipient_id"))
                .col(big_integer("visitor_id"))
                .col(timestamp_with_time_zone("visited_at"))
                .col(string("mode"))
                .col(string("wellbeing"))
                .col(text_null("note"))
                .col(string_null("photo_url"))
                // The 邻办事 request a visit that found a need opened on the recipient's behalf.
                .col(big_integer_null("request_id"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("care_visits", "recipient_id", "care_recipients"))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("care_visits", &["recipient_id", "visited_at"], false)).await
}

async fn create_tasks_and_alerts(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("care_tasks")
                .col(big_pk_auto("id"))
                .col(big_integer("community_id"))
                .col(big_integer("recipient_id"))
                .col(big_integer("device_id"))
                // urgent_visit or maintenance.
                .col(string("task_kind"))
                // The alert kind: no_water_24h, no_power_24h, smoke, fall, battery_low.
                .col(string("alert_kind"))
                // `{device}:{kind}:{hour of the first event}`: alerts of one device and kind within the
                // hour fold into one task, across instances, through this unique key.
                .col(string("fold_key"))
                .col(string("status"))
                .col(string("level"))
                .col(integer("events_count").default(1))
                .col(timestamp_with_time_zone("first_observed_at"))
                .col(timestamp_with_time_zone("last_observed_at"))
                .col(timestamp_with_time_zone("opened_at"))
                .col(timestamp_with_time_zone_null("ack_due_at"))
                .col(timestamp_with_time_zone_null("acknowledged_at"))
                .col(big_integer_null("acknowledged_by"))
                .col(timestamp_with_time_zone_null("escalated_at"))
                .col(timestamp_with_time_zone_null("resolved_at"))
                .col(big_integer_null("resolved_by"))
                .foreign_key(&mut fk("care_tasks", "recipient_id", "care_recipients"))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("care_tasks", &["fold_key"], true)).await?;
    manager.create_index(index("care_tasks", &["status", "ack_due_at"], false)).await?;
    manager.create_index(index("care_tasks", &["community_id", "status"], false)).await?;
    manager
        .create_table(
            Table::create()
                .table("care_alerts")
                .col(big_pk_auto("id"))
                .col(string("vendor"))
                .col(string("event_id"))
                .col(big_integer("device_id"))
                .col(string("kind"))
                .col(timestamp_with_time_zone("observed_at"))
                .col(big_integer("task_id"))
                .col(timestamp_with_time_zone("received_at"))
                .foreign_key(&mut fk("care_alerts", "task_id", "care_tasks"))
                .to_owned(),
        )
        .await?;
    manager.create_index(index("care_alerts", &["vendor", "event_id"], true)).await
}
