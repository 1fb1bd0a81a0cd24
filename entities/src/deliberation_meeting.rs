//! `deliberation_meetings` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "deliberation_meetings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub deliberation_id: i64,
    pub chair_id: i64,
    pub starts_at: DateTimeUtc,
    pub place: String,
    #[sea_orm(column_type = "Text")]
    pub agenda: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
