//! `SeaORM` Entity for `ledger_account_shards`: per-chain shards of an account's running balances
//! (PostgreSQL writers add to the shard of the chain they hold): the posted amounts of an account
//! without limits, and the credits, posted and pending, of an account whose debits must not exceed its
//! credits. An account's balances are its row plus the sum of its shards; a shard's `credits_pending`
//! alone may be negative (a hold placed on one chain and resolved on another).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "ledger_account_shards")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub shard: i32,
    pub debits_posted: i64,
    pub credits_posted: i64,
    pub credits_pending: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
