//! 邻自治 polls: a poll and its options, its named electors (a group poll), the household
//! representatives who cast a household's ballot, who took part (one row per household or resident,
//! unique), and the ballots themselves — what was chosen, recorded apart from who chose it, chained by
//! hash. A household's or resident's one counted ballot is a partial unique index, so "exactly once"
//! is the database's answer, however many instances race.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_helpers::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] =
    &["household_representatives", "polls", "poll_options", "poll_electors", "poll_participations", "poll_ballots"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("household_representatives")
                    .col(big_integer("household_id").primary_key())
                    .col(big_integer("user_id"))
                    .col(big_integer("named_by"))
                    .col(timestamp_with_time_zone("named_at"))
                    .foreign_key(&mut fk("household_representatives", "household_id", "households"))
                    .foreign_key(&mut fk("household_representatives", "user_id", "users"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("polls")
                    .col(big_pk_auto("id"))
                    .col(big_integer("community_id"))
                    .col(big_integer("created_by"))
                    .col(string("title"))
                    .col(text_null("description"))
                    .col(integer("choices_min"))
                    .col(integer("choices_max"))
                    .col(string("scope_kind"))
                    .col(text("scope_ids"))
                    .col(string("eligibility"))
                    .col(string("secrecy"))
                    .col(string("results_visibility"))
                    .col(boolean("allow_change"))
                    .col(string_null("group_ref"))
                    .col(timestamp_with_time_zone("opens_at"))
                    .col(timestamp_with_time_zone("closes_at"))
                    // The head of the ballots' hash chain: the last sequence number and its hash.
                    .col(big_integer("chain_seq").default(0))
                    .col(string("chain_head"))
                    // Salts the voters' tags on the ballots; never leaves the server.
                    .col(string("voter_salt"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("polls", "community_id", "communities"))
                    .foreign_key(&mut fk("polls", "created_by", "users"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("polls", &["community_id", "id"], false)).await?;
        manager.create_index(index("polls", &["group_ref"], false)).await?;
        manager
            .create_table(
                Table::create()
                    .table("poll_options")
                    .col(big_pk_auto("id"))
                    .col(big_integer("poll_id"))
                    .col(integer("position"))
                    .col(string("label"))
                    // The person a candidate option stands for (a group's election), if any.
                    .col(big_integer_null("subject_id"))
                    .foreign_key(&mut fk("poll_options", "poll_id", "polls"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("poll_options", &["poll_id", "position"], true)).await?;
        manager
            .create_table(
                Table::create()
                    .table("poll_electors")
                    .col(big_integer("poll_id"))
                    .col(big_integer("user_id"))
                    .primary_key(Index::create().col("poll_id").col("user_id"))
                    .foreign_key(&mut fk("poll_electors", "poll_id", "polls"))
                    .foreign_key(&mut fk("poll_electors", "user_id", "users"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("poll_participations")
                    .col(big_pk_auto("id"))
                    .col(big_integer("poll_id"))
                    // `h:{household}` or `u:{user}`: the unit that has one ballot.
                    .col(string("voter_key"))
                    .col(big_integer_null("household_id"))
                    .col(big_integer_null("building_id"))
                    .col(big_integer("cast_by"))
                    .col(boolean("proxy"))
                    .col(text_null("proxy_note"))
                    .col(integer("changes").default(0))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("poll_participations", "poll_id", "polls"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("poll_participations", &["poll_id", "voter_key"], true)).await?;
        manager
            .create_table(
                Table::create()
                    .table("poll_ballots")
                    .col(big_pk_auto("id"))
                    .col(big_integer("poll_id"))
                    .col(big_integer("seq"))
                    // A keyed hash of the voter's key: equal for one voter's ballots (so the last one
                    // counts), meaningless without the server's key. Open polls also name the voter.
                    .col(string("voter_tag"))
                    .col(text("choices"))
                    .col(string("receipt"))
                    .col(boolean("proxy"))
                    .col(boolean("counted"))
                    .col(string("prev_hash"))
                    .col(string("hash"))
                    .col(string_null("voter_key"))
                    .col(big_integer_null("cast_by"))
                    .col(big_integer_null("building_id"))
                    .col(text_null("proxy_note"))
                    .col(timestamp_with_time_zone_null("cast_at"))
                    .foreign_key(&mut fk("poll_ballots", "poll_id", "polls"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("poll_ballots", &["poll_id", "seq"], true)).await?;
        manager.create_index(index("poll_ballots", &["poll_id", "receipt"], true)).await?;
        // One counted ballot per voter, by the database: both backends take a partial unique index.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ix_poll_ballots_counted ON poll_ballots (poll_id, voter_tag) WHERE counted",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES.iter().rev() {
            manager.drop_table(Table::drop().table(*table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
