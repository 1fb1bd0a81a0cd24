//! `help_posts` table: 邻互助 needs and offers between neighbours, with their held rewards.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "help_posts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub community_id: i64,
    pub building_id: Option<i64>,
    pub grid_id: Option<i64>,
    pub author_id: i64,
    pub kind: String,
    pub category: String,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub location: Option<String>,
    pub needed_at: Option<DateTimeUtc>,
    pub expires_at: DateTimeUtc,
    pub reward_minor: i64,
    pub hold_transfer_id: Option<String>,
    pub status: String,
    pub moderation: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub moderation_note: Option<String>,
    pub helper_id: Option<i64>,
    pub claimed_at: Option<DateTimeUtc>,
    pub done_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub outcome: Option<String>,
    pub paid_minor: i64,
    pub payment_transfer_id: Option<String>,
    pub decided_by: Option<i64>,
    pub rating: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub rating_text: Option<String>,
    /// The community's bonus paid from issuance on confirmation (0: none).
    pub bonus_minor: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
