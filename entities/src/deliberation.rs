//! `deliberations` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "deliberations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub community_id: i64,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub issue: String,
    #[sea_orm(column_type = "Text")]
    pub evidence: String,
    pub severity: String,
    pub urgency: String,
    pub scope_kind: String,
    #[sea_orm(column_type = "Text")]
    pub scope_ids: String,
    pub status: String,
    pub proposed_by: i64,
    pub anchored_by: Option<i64>,
    pub anchored_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text")]
    pub closing_note: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
