//! Shards of the 邻办事 daily rollups: a change of counts alone (a report, most transitions) adds to one
//! of a few rows beside its rollup row, chosen by the request, instead of the rollup row itself.
//!
//! Every report of a day, category and grid added to the one rollup row, and held its lock until the
//! commit was on disk, so a community's reports committed one after another (`scripts/bench-api.sh`
//! sampled their sessions waiting on that row and on the commit's WAL flush). A row's figures are its
//! rollup row plus its shards; durations (for the exact medians) stay in the rollup row, the only row
//! whose values are ever taken away one by one.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_helpers::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "request_rollup_shards";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table.table(TABLE).col(big_integer("community_id")).col(date("day")).col(big_integer("category_id"));
        table.col(big_integer("grid_id")).col(integer("shard"));
        for count in ["reported", "open_count", "not_withdrawn", "resolved_for_good", "rated", "rating_sum", "handled"]
        {
            table.col(big_integer(count).default(0));
        }
        let key =
            Index::create().col("community_id").col("day").col("category_id").col("grid_id").col("shard").to_owned();
        manager
            .create_table(
                table
                    .primary_key(&mut key.clone())
                    .foreign_key(&mut fk(TABLE, "community_id", "communities"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(TABLE).to_owned()).await
    }
}
