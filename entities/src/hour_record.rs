//! `hour_records` table: decisions about volunteers' service hours, never updated or deleted once
//! committed. (`transfer_id` is filled in the inserting transaction, right after the award it names:
//! the transfer's id is derived from the row's id, which exists only once the row is inserted.)

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "hour_records")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub community_id: i64,
    pub activity_id: i64,
    pub user_id: i64,
    pub signup_id: i64,
    pub kind: String,
    pub corrects_id: Option<i64>,
    pub status: String,
    pub minutes: i32,
    pub credited_minutes: i32,
    pub points_minor: i64,
    pub credited_delta_minutes: i32,
    pub points_delta_minor: i64,
    #[sea_orm(column_type = "Text")]
    pub credited_by_day: String,
    pub transfer_id: Option<String>,
    pub flags: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub reason: Option<String>,
    pub decided_by: i64,
    pub service_day: Date,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
