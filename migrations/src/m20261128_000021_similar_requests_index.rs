//! The open requests of one building and category, newest first: what the duplicate check before a
//! report reads (`GET /requests/similar`, `POST /requests`), its last 200 candidates.
//!
//! The index of 000003 on (building_id, category_id, is_open) finds them but not in order, so every
//! report read and sorted all the open requests of its building and category before keeping 200. With
//! `id` last, the newest 200 are one backward range scan.

use sea_orm_migration::prelude::*;

use crate::schema_helpers::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "service_requests";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(index(TABLE, &["building_id", "category_id", "is_open", "id"], false)).await?;
        let old = Index::drop().name("ix_service_requests_building_id_category_id_is_open").table(TABLE).to_owned();
        manager.drop_index(old).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(index(TABLE, &["building_id", "category_id", "is_open"], false)).await?;
        let new = Index::drop().name("ix_service_requests_building_id_category_id_is_open_id").table(TABLE).to_owned();
        manager.drop_index(new).await
    }
}
