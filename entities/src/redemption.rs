//! `redemptions` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "redemptions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub merchant_id: i64,
    pub offer_id: i64,
    pub community_id: i64,
    pub user_id: i64,
    pub code: String,
    pub quantity: i64,
    pub amount_minor: i64,
    pub status: String,
    pub period_key: String,
    pub hold_transfer_id: Option<String>,
    pub capture_transfer_id: Option<String>,
    pub refund_transfer_id: Option<String>,
    pub issued_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub captured_at: Option<DateTimeUtc>,
    pub captured_by: Option<i64>,
    pub ended_at: Option<DateTimeUtc>,
    pub end_reason: Option<String>,
    pub refunded_at: Option<DateTimeUtc>,
    pub refunded_by: Option<i64>,
    pub refund_reason: Option<String>,
    pub settlement_id: Option<i64>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
