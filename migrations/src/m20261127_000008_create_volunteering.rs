//! 邻互助 volunteering: registered volunteers, teams and their members, activities with their audience,
//! capacity and check-in secret, sign-ups with arrival order and attendance, and each community's
//! volunteering settings (skill list, default points per hour).

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_helpers::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] = &[
    "volunteering_settings",
    "volunteers",
    "volunteer_teams",
    "volunteer_team_members",
    "activities",
    "activity_signups",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("volunteering_settings")
                    .col(big_integer("community_id").primary_key())
                    // JSON array of {"key", "name"}: the skills a volunteer of this community may list.
                    .col(text("skills"))
                    .col(big_integer("points_per_hour_minor"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("volunteering_settings", "community_id", "communities"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("volunteers")
                    .col(big_pk_auto("id"))
                    .col(big_integer("community_id"))
                    .col(big_integer("user_id"))
                    .col(string("status"))
                    .col(text("skills"))
                    .col(text_null("available_times"))
                    .col(string_null("real_name"))
                    .col(boolean("leaderboard_consent"))
                    .col(text_null("note"))
                    .col(big_integer_null("decided_by"))
                    .col(timestamp_with_time_zone_null("decided_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("volunteers", "community_id", "communities"))
                    .foreign_key(&mut fk("volunteers", "user_id", "users"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("volunteers", &["community_id", "user_id"], true)).await?;
        manager.create_index(index("volunteers", &["community_id", "status", "id"], false)).await?;
        manager.create_index(index("volunteers", &["user_id"], false)).await?;
        manager
            .create_table(
                Table::create()
                    .table("volunteer_teams")
                    .col(big_pk_auto("id"))
                    .col(big_integer("community_id"))
                    .col(string("name"))
                    .col(text_null("description"))
                    .col(big_integer("leader_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("volunteer_teams", "community_id", "communities"))
                    .foreign_key(&mut fk("volunteer_teams", "leader_id", "users"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("volunteer_teams", &["community_id", "id"], false)).await?;
        manager
            .create_table(
                Table::create()
                    .table("volunteer_team_members")
                    .col(big_integer("team_id"))
                    .col(big_integer("user_id"))
                    .col(timestamp_with_time_zone("joined_at"))
                    .primary_key(Index::create().col("team_id").col("user_id"))
                    .foreign_key(&mut fk("volunteer_team_members", "team_id", "volunteer_teams"))
                    .foreign_key(&mut fk("volunteer_team_members", "user_id", "users"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("volunteer_team_members", &["user_id"], false)).await?;
        manager
            .create_table(
                Table::create()
                    .table("activities")
                    .col(big_pk_auto("id"))
                    .col(big_integer("community_id"))
                    .col(big_integer("organiser_id"))
                    .col(big_integer_null("team_id"))
                    .col(string("title"))
                    .col(text("description"))
                    .col(string_null("place"))
                    .col(big_integer_null("grid_id"))
                    .col(big_integer_null("building_id"))
                    .col(double_null("latitude"))
                    .col(double_null("longitude"))
                    .col(integer_null("radius_m"))
                    .col(timestamp_with_time_zone("starts_at"))
                    .col(timestamp_with_time_zone("ends_at"))
                    .col(timestamp_with_time_zone("signup_deadline"))
                    .col(integer("capacity"))
                    .col(string("audience"))
                    .col(big_integer_null("audience_id"))
                    .col(big_integer("points_per_hour_minor"))
                    .col(string_null("cover_url"))
                    .col(integer_null("beneficiaries"))
                    .col(string("status"))
                    .col(string("checkin_secret"))
                    // Confirmed sign-ups, moved by a conditional UPDATE in the sign-up transaction, so
                    // that confirmed never exceeds capacity however many instances race.
                    .col(integer("confirmed_count").default(0))
                    // Sign-ups ever made: each takes the next number as its arrival (waitlist order).
                    .col(big_integer("signup_arrivals").default(0))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("activities", "community_id", "communities"))
                    .foreign_key(&mut fk("activities", "organiser_id", "users"))
                    .foreign_key(&mut fk("activities", "team_id", "volunteer_teams"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("activities", &["community_id", "starts_at", "id"], false)).await?;
        manager.create_index(index("activities", &["status", "starts_at"], false)).await?;
        manager.create_index(index("activities", &["status", "ends_at"], false)).await?;
        manager
            .create_table(
                Table::create()
                    .table("activity_signups")
                    .col(big_pk_auto("id"))
                    .col(big_integer("activity_id"))
                    .col(big_integer("user_id"))
                    .col(string("status"))
                    .col(big_integer("arrival"))
                    .col(timestamp_with_time_zone_null("checked_in_at"))
                    .col(string_null("checkin_flags"))
                    .col(timestamp_with_time_zone_null("checked_out_at"))
                    .col(string_null("checkout_flags"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("activity_signups", "activity_id", "activities"))
                    .foreign_key(&mut fk("activity_signups", "user_id", "users"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("activity_signups", &["activity_id", "user_id"], true)).await?;
        manager.create_index(index("activity_signups", &["activity_id", "status", "arrival"], false)).await?;
        manager.create_index(index("activity_signups", &["user_id", "id"], false)).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES.iter().rev() {
            manager.drop_table(Table::drop().table(*table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
