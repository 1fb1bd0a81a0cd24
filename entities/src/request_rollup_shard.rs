//! `request_rollup_shards` table: counts added to a daily rollup row beside it (migration 000022).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "request_rollup_shards")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub community_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: Date,
    #[sea_orm(primary_key, auto_increment = false)]
    pub category_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub grid_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub shard: i32,
    pub reported: i64,
    pub open_count: i64,
    pub not_withdrawn: i64,
    pub resolved_for_good: i64,
    pub rated: i64,
    pub rating_sum: i64,
    pub handled: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
