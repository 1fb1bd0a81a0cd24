//! `volunteers` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "volunteers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub community_id: i64,
    pub user_id: i64,
    pub status: String,
    #[sea_orm(column_type = "Text")]
    pub skills: String,
    #[sea_orm(column_type = "Text")]
    pub available_times: Option<String>,
    pub real_name: Option<String>,
    pub leaderboard_consent: bool,
    #[sea_orm(column_type = "Text")]
    pub note: Option<String>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
