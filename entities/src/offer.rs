//! `offers` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "offers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub merchant_id: i64,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub photo_url: Option<String>,
    pub price_minor: i64,
    pub stock_total: Option<i64>,
    /// What codes have taken of `stock_total`: issued and not released, captured and not refunded.
    pub stock_taken: i64,
    pub limit_quantity: Option<i32>,
    pub limit_period: Option<String>,
    pub valid_from: DateTimeUtc,
    pub valid_until: DateTimeUtc,
    pub status: String,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
