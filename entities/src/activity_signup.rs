//! `activity_signups` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "activity_signups")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub activity_id: i64,
    pub user_id: i64,
    pub status: String,
    pub arrival: i64,
    pub checked_in_at: Option<DateTimeUtc>,
    pub checkin_flags: Option<String>,
    pub checked_out_at: Option<DateTimeUtc>,
    pub checkout_flags: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
