//! `care_recipients` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "care_recipients")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub community_id: i64,
    pub grid_id: i64,
    pub building_id: i64,
    pub household_id: i64,
    pub user_id: Option<i64>,
    pub name: String,
    pub circumstance: String,
    pub risk_level: String,
    pub consent_by: String,
    pub guardian_name: Option<String>,
    pub consent_recorded_at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub emergency_contacts: String,
    pub visit_interval_days: i32,
    pub last_visit_at: Option<DateTimeUtc>,
    pub next_visit_due_at: DateTimeUtc,
    pub missed_stage: String,
    pub missed_stage_at: Option<DateTimeUtc>,
    pub registered_by: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
