//! `care_visits` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "care_visits")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub recipient_id: i64,
    pub visitor_id: i64,
    pub visited_at: DateTimeUtc,
    pub mode: String,
    pub wellbeing: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub photo_url: Option<String>,
    pub request_id: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
