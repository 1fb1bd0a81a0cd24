//! `polls` table.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "polls")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub community_id: i64,
    pub created_by: i64,
    pub title: String,
    pub description: Option<String>,
    pub choices_min: i32,
    pub choices_max: i32,
    pub scope_kind: String,
    pub scope_ids: String,
    pub eligibility: String,
    pub secrecy: String,
    pub results_visibility: String,
    pub allow_change: bool,
    pub group_ref: Option<String>,
    pub opens_at: DateTimeUtc,
    pub closes_at: DateTimeUtc,
    pub chain_seq: i64,
    pub chain_head: String,
    pub voter_salt: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
