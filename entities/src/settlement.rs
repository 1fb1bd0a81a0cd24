//! `settlements` table: a merchant's settlement statement for a period.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "settlements")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub merchant_id: i64,
    pub community_id: i64,
    pub period_first_day: Date,
    pub period_last_day: Date,
    pub period_start: DateTimeUtc,
    pub period_end: DateTimeUtc,
    pub rate: Option<String>,
    pub line_count: i64,
    pub points_minor: i64,
    pub cny_minor: i64,
    pub cny_exact: String,
    pub status: String,
    pub drafted_by: i64,
    pub drafted_at: DateTimeUtc,
    pub approved_by: Option<i64>,
    pub approved_at: Option<DateTimeUtc>,
    pub points_transfer_id: Option<String>,
    pub cny_transfer_id: Option<String>,
    pub paid_by: Option<i64>,
    pub paid_at: Option<DateTimeUtc>,
    pub bank_reference: Option<String>,
    pub payment_transfer_id: Option<String>,
    pub cancelled_by: Option<i64>,
    pub cancelled_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
