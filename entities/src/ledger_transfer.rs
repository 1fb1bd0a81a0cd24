//! `SeaORM` Entity for `ledger_transfers` (append-only).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "ledger_transfers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub chain_id: i32,
    pub chain_seq: i64,
    #[sea_orm(unique)]
    pub id: String,
    pub idempotency_key: Option<String>,
    pub kind: String,
    pub debit_account_id: i64,
    pub credit_account_id: i64,
    pub asset: String,
    pub amount: i64,
    pub code: String,
    pub pending_id: Option<String>,
    pub reverses: Option<String>,
    pub timeout_at_us: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub metadata: String,
    pub created_at_us: i64,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
