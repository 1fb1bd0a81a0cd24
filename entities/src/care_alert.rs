//! `care_alerts` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "care_alerts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub vendor: String,
    pub event_id: String,
    pub device_id: i64,
    pub kind: String,
    pub observed_at: DateTimeUtc,
    pub task_id: i64,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
