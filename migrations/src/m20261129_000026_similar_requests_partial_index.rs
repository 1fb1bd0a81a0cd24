//! The duplicate check's candidates in a partial index that holds only them — the open, published
//! requests — with the title beside the key, replacing 000021's index on (building_id, category_id,
//! is_open, id).
//!
//! 000021's index held every request, open or not, and the check then read each of its 200 candidates'
//! rows from the table (about 200 scattered pages at 1M requests) to learn the moderation state and the
//! title. This one holds the 3 % that are open, and the title: on PostgreSQL as an `INCLUDE` column, so
//! the check reads the index alone where the visibility map allows; SQLite has no `INCLUDE`, so there
//! the title is the key's last column. Nothing else used 000021's index (the queue's building filter
//! reads the queue's own indexes). `interest_count` stays out: a "me too" does not write this index.
//!
//! The predicate is what `requests::store::similar_candidate` writes in the query, word for word.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::schema_helpers::run_sql;

#[derive(DeriveMigrationName)]
pub struct Migration;

const PREDICATE: &str = "WHERE is_open = TRUE AND moderation = 'published'";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = match manager.get_database_backend() {
            DbBackend::Postgres => "(building_id, category_id, id) INCLUDE (title)",
            _ => "(building_id, category_id, id, title)",
        };
        let create = format!("CREATE INDEX ix_service_requests_similar_open ON service_requests {columns} {PREDICATE}");
        run_sql(manager, &[&create, "DROP INDEX ix_service_requests_building_id_category_id_is_open_id"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            &[
                "CREATE INDEX ix_service_requests_building_id_category_id_is_open_id \
                   ON service_requests (building_id, category_id, is_open, id)",
                "DROP INDEX ix_service_requests_similar_open",
            ],
        )
        .await
    }
}
