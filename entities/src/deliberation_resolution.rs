//! `deliberation_resolutions` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "deliberation_resolutions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub deliberation_id: i64,
    pub owner_id: i64,
    pub due_on: Date,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub request_id: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
