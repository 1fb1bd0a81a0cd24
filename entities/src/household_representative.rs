//! `household_representatives` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "household_representatives")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub household_id: i64,
    pub user_id: i64,
    pub named_by: i64,
    pub named_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
