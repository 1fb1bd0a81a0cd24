//! 邻自治 ballots are sealed into their poll's hash chain just after they are cast, by the sealer, so
//! that casting never waits on the chain: until then a ballot has no place (`seq`) and no hashes.
//! `poll_ballots.seq`, `prev_hash` and `hash` become nullable. PostgreSQL drops the NOT NULLs in place;
//! SQLite cannot alter a column, so the table is rebuilt (renamed aside, created again, copied, the old
//! one dropped) with the same columns, foreign key and indexes as migration 000011 gave it.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_helpers::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

const ASIDE: &str = "poll_ballots_before_000019";
const INDEXES: [&str; 3] =
    ["ix_poll_ballots_poll_id_seq", "ix_poll_ballots_poll_id_receipt", "ix_poll_ballots_counted"];
const COLUMNS: &str = "id, poll_id, seq, voter_tag, choices, receipt, proxy, counted, prev_hash, hash, voter_key, \
                       cast_by, building_id, proxy_note, cast_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on every backend: SQLite's rebuild is several statements, which must run on one
    /// connection (another of the pool may still read the schema as it was) and land together.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_chain_nullable(manager, true).await
    }

    /// Refused by the database while an unsealed ballot (a NULL `seq`) exists.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_chain_nullable(manager, false).await
    }
}

async fn set_chain_nullable(manager: &SchemaManager<'_>, nullable: bool) -> Result<(), DbErr> {
    let db = manager.get_connection();
    if manager.get_database_backend() != DbBackend::Sqlite {
        let verb = if nullable { "DROP" } else { "SET" };
        db.execute_unprepared(&format!(
            "ALTER TABLE poll_ballots ALTER COLUMN seq {verb} NOT NULL, ALTER COLUMN prev_hash {verb} NOT NULL, \
             ALTER COLUMN hash {verb} NOT NULL"
        ))
        .await?;
        return Ok(());
    }
    for name in INDEXES {
        db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
    }
    db.execute_unprepared(&format!("ALTER TABLE poll_ballots RENAME TO {ASIDE}")).await?;
    let chain_column = |name: &'static str, kind: fn(&'static str) -> ColumnDef| {
        let mut column = kind(name);
        if nullable {
            column.null();
        }
        column
    };
    manager
        .create_table(
            Table::create()
                .table("poll_ballots")
                .col(big_pk_auto("id"))
                .col(big_integer("poll_id"))
                .col(chain_column("seq", big_integer))
                .col(string("voter_tag"))
                .col(text("choices"))
                .col(string("receipt"))
                .col(boolean("proxy"))
                .col(boolean("counted"))
                .col(chain_column("prev_hash", string))
                .col(chain_column("hash", string))
                .col(string_null("voter_key"))
                .col(big_integer_null("cast_by"))
                .col(big_integer_null("building_id"))
                .col(text_null("proxy_note"))
                .col(timestamp_with_time_zone_null("cast_at"))
                .foreign_key(&mut fk("poll_ballots", "poll_id", "polls"))
                .to_owned(),
        )
        .await?;
    db.execute_unprepared(&format!("INSERT INTO poll_ballots ({COLUMNS}) SELECT {COLUMNS} FROM {ASIDE}")).await?;
    db.execute_unprepared(&format!("DROP TABLE {ASIDE}")).await?;
    manager.create_index(index("poll_ballots", &["poll_id", "seq"], true)).await?;
    manager.create_index(index("poll_ballots", &["poll_id", "receipt"], true)).await?;
    db.execute_unprepared(
        "CREATE UNIQUE INDEX ix_poll_ballots_counted ON poll_ballots (poll_id, voter_tag) WHERE counted",
    )
    .await?;
    Ok(())
}
