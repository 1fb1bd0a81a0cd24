//! `request_daily_rollups` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "request_daily_rollups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub community_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: Date,
    #[sea_orm(primary_key, auto_increment = false)]
    pub category_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub grid_id: i64,
    pub reported: i64,
    pub open_count: i64,
    pub not_withdrawn: i64,
    pub resolved_for_good: i64,
    pub rated: i64,
    pub rating_sum: i64,
    pub handled: i64,
    #[sea_orm(column_type = "Text")]
    pub response_seconds: String,
    #[sea_orm(column_type = "Text")]
    pub resolution_seconds: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
