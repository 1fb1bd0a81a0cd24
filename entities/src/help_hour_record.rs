//! `help_hour_records` table: service hours a helper served on a help post, flagged 邻里互助, on the
//! same permanent record as activity hours; never updated or deleted once committed.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "help_hour_records")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub community_id: i64,
    pub help_post_id: i64,
    pub user_id: i64,
    pub minutes: i32,
    pub credited_minutes: i32,
    pub flags: String,
    pub confirmed_by: i64,
    pub service_day: Date,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
