//! `care_tasks` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "care_tasks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub community_id: i64,
    pub recipient_id: i64,
    pub device_id: i64,
    pub task_kind: String,
    pub alert_kind: String,
    pub fold_key: String,
    pub status: String,
    pub level: String,
    pub events_count: i32,
    pub first_observed_at: DateTimeUtc,
    pub last_observed_at: DateTimeUtc,
    pub opened_at: DateTimeUtc,
    pub ack_due_at: Option<DateTimeUtc>,
    pub acknowledged_at: Option<DateTimeUtc>,
    pub acknowledged_by: Option<i64>,
    pub escalated_at: Option<DateTimeUtc>,
    pub resolved_at: Option<DateTimeUtc>,
    pub resolved_by: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
