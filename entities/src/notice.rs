//! `notices` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "notices")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub community_id: i64,
    pub author_id: i64,
    pub scope_kind: String,
    #[sea_orm(column_type = "Text")]
    pub scope_ids: String,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub importance: String,
    #[sea_orm(column_type = "Text")]
    pub attachments: String,
    pub published_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
