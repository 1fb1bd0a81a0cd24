//! `volunteering_settings` table: a community's volunteering settings (absent row: the defaults).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "volunteering_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub community_id: i64,
    #[sea_orm(column_type = "Text")]
    pub skills: String,
    pub points_per_hour_minor: i64,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
