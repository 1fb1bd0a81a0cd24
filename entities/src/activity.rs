//! `activities` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "activities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub community_id: i64,
    pub organiser_id: i64,
    pub team_id: Option<i64>,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub place: Option<String>,
    pub grid_id: Option<i64>,
    pub building_id: Option<i64>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub radius_m: Option<i32>,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub signup_deadline: DateTimeUtc,
    pub capacity: i32,
    pub audience: String,
    pub audience_id: Option<i64>,
    pub points_per_hour_minor: i64,
    pub cover_url: Option<String>,
    pub beneficiaries: Option<i32>,
    pub status: String,
    pub checkin_secret: String,
    pub confirmed_count: i32,
    pub signup_arrivals: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
