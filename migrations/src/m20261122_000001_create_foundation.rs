//! Users, sessions, refresh tokens, the community structure (district → street → community → grid →
//! building → household), memberships, join requests, roles and merchants.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_helpers::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Tables in creation order; dropped in reverse.
const TABLES: &[&str] = &[
    "districts",
    "streets",
    "communities",
    "grids",
    "buildings",
    "households",
    "users",
    "wechat_sessions",
    "refresh_tokens",
    "household_members",
    "join_requests",
    "merchants",
    "member_roles",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(Table::create().table("districts").col(big_pk_auto("id")).col(string("name")).to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("streets")
                    .col(big_pk_auto("id"))
                    .col(big_integer("district_id"))
                    .col(string("name"))
                    .foreign_key(&mut fk("streets", "district_id", "districts"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("communities")
                    .col(big_pk_auto("id"))
                    .col(big_integer("street_id"))
                    .col(string("name"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("communities", "street_id", "streets"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("grids")
                    .col(big_pk_auto("id"))
                    .col(big_integer("community_id"))
                    .col(string("name"))
                    .foreign_key(&mut fk("grids", "community_id", "communities"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("buildings")
                    .col(big_pk_auto("id"))
                    .col(big_integer("community_id"))
                    .col(big_integer("grid_id"))
                    .col(string("name"))
                    .foreign_key(&mut fk("buildings", "community_id", "communities"))
                    .foreign_key(&mut fk("buildings", "grid_id", "grids"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("households")
                    .col(big_pk_auto("id"))
                    .col(big_integer("community_id"))
                    .col(big_integer("building_id"))
                    .col(string("label"))
                    .foreign_key(&mut fk("households", "community_id", "communities"))
                    .foreign_key(&mut fk("households", "building_id", "buildings"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("users")
                    .col(big_pk_auto("id"))
                    .col(string_uniq("openid"))
                    .col(string_null("unionid"))
                    .col(string("nickname"))
                    .col(string_null("avatar_url"))
                    .col(string_null("phone"))
                    .col(boolean("is_admin").default(false))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        // The WeChat session_key stays on the server, apart from the user row that handlers read.
        manager
            .create_table(
                Table::create()
                    .table("wechat_sessions")
                    .col(big_integer("user_id").primary_key())
                    .col(string("session_key"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("wechat_sessions", "user_id", "users"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("refresh_tokens")
                    .col(big_pk_auto("id"))
                    .col(big_integer("user_id"))
                    .col(string("family_id"))
                    .col(string_uniq("token_hash"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("rotated_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(&mut fk("refresh_tokens", "user_id", "users"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("refresh_tokens", &["family_id"], false)).await?;
        manager
            .create_table(
                Table::create()
                    .table("household_members")
                    .col(big_pk_auto("id"))
                    .col(big_integer("household_id"))
                    .col(big_integer("community_id"))
                    .col(big_integer("user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("household_members", "household_id", "households"))
                    .foreign_key(&mut fk("household_members", "user_id", "users"))
                    .to_owned(),
            )
            .await?;
        // A resident belongs to at most one household per community, enforced by the database.
        manager.create_index(index("household_members", &["community_id", "user_id"], true)).await?;
        manager
            .create_table(
                Table::create()
                    .table("join_requests")
                    .col(big_pk_auto("id"))
                    .col(big_integer("household_id"))
                    .col(big_integer("community_id"))
                    .col(big_integer("building_id"))
                    .col(big_integer("user_id"))
                    .col(string("status"))
                    .col(string_null("note"))
                    .col(big_integer_null("decided_by"))
                    .col(string_null("decision_note"))
                    .col(timestamp_with_time_zone_null("decided_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("join_requests", "household_id", "households"))
                    .foreign_key(&mut fk("join_requests", "user_id", "users"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("join_requests", &["community_id", "status"], false)).await?;
        manager.create_index(index("join_requests", &["user_id", "status"], false)).await?;
        manager
            .create_table(
                Table::create()
                    .table("merchants")
                    .col(big_pk_auto("id"))
                    .col(big_integer("community_id"))
                    .col(string("name"))
                    .col(string("status"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("merchants", "community_id", "communities"))
                    .to_owned(),
            )
            .await?;
        // scope_id is 0 for roles without a scope, so that the unique index sees no NULLs.
        manager
            .create_table(
                Table::create()
                    .table("member_roles")
                    .col(big_pk_auto("id"))
                    .col(big_integer("community_id"))
                    .col(big_integer("user_id"))
                    .col(string("role"))
                    .col(big_integer("scope_id").default(0))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("member_roles", "community_id", "communities"))
                    .foreign_key(&mut fk("member_roles", "user_id", "users"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("member_roles", &["community_id", "user_id", "role", "scope_id"], true)).await?;
        manager.create_index(index("member_roles", &["user_id"], false)).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES.iter().rev() {
            manager.drop_table(Table::drop().table(*table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
