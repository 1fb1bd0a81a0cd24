//! `service_requests` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "service_requests")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub community_id: i64,
    pub category_id: i64,
    pub grid_id: i64,
    pub building_id: i64,
    pub reporter_id: i64,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub location: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub photos: String,
    pub urgency: String,
    pub anonymous: bool,
    pub status: String,
    pub is_open: bool,
    pub moderation: String,
    pub assignee_level: String,
    pub assignee_id: Option<i64>,
    pub escalation_level: i32,
    pub interest_count: i32,
    pub response_due_at: DateTimeUtc,
    pub resolution_due_at: DateTimeUtc,
    pub first_response_at: Option<DateTimeUtc>,
    pub resolved_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub rating: Option<i32>,
    #[sea_orm(column_type = "Text")]
    pub rating_text: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
