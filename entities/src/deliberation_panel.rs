//! `deliberation_panel` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "deliberation_panel")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub deliberation_id: i64,
    pub group_id: i64,
    pub user_id: i64,
    pub kind: String,
    pub chosen_by: String,
    pub profession: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub reason: Option<String>,
    pub decided_by: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
