//! The shards of an account may hold its pending credits too, and an account with the
//! *debits must not exceed credits* limit may keep its credits in them.
//!
//! Every redemption at a shop places a hold towards the shop's account (`credits_pending` up) and its
//! capture posts it (`credits_pending` down, `credits_posted` up). With those columns only in the
//! account row, all the codes of one shop queued on that row. Credits can never break a
//! `debits ≤ credits` limit, so the ledger now adds a credit-only movement with a hold in it to the
//! account's shard of the chain it holds, and folds the shards back into the row before anything
//! debits the account (a refund, a settlement). A shard's `credits_pending` may be negative — a hold
//! placed on one chain and resolved on another — while the row plus all shards never is.

use sea_orm_migration::prelude::*;

use crate::schema_helpers::sql_migration;

#[derive(DeriveMigrationName)]
pub struct Migration;

sql_migration! {
    up: ["ALTER TABLE ledger_account_shards ADD COLUMN credits_pending BIGINT NOT NULL DEFAULT 0"],
    // Folds the pending credits back into their accounts' rows first, so no hold is lost.
    down: [
        "UPDATE ledger_accounts SET credits_pending = credits_pending + (SELECT COALESCE(SUM(s.credits_pending), 0) \
           FROM ledger_account_shards s WHERE s.account_id = ledger_accounts.id) \
         WHERE id IN (SELECT account_id FROM ledger_account_shards WHERE credits_pending <> 0)",
        "ALTER TABLE ledger_account_shards DROP COLUMN credits_pending",
    ],
}
