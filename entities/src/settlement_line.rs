//! `settlement_lines` table: one redemption on a settlement statement.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "settlement_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub settlement_id: i64,
    pub redemption_id: i64,
    pub offer_id: i64,
    pub quantity: i64,
    pub points_minor: i64,
    pub cny_minor: i64,
    pub captured_at: DateTimeUtc,
    pub cancelled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
