//! `poll_ballots` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "poll_ballots")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub poll_id: i64,
    pub seq: Option<i64>,
    pub voter_tag: String,
    pub choices: String,
    pub receipt: String,
    pub proxy: bool,
    pub counted: bool,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
    pub voter_key: Option<String>,
    pub cast_by: Option<i64>,
    pub building_id: Option<i64>,
    pub proxy_note: Option<String>,
    pub cast_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
