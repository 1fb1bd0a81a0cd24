//! Per-chain shards of an unlimited account's posted running balances.
//!
//! Every volunteer award debits the one issuance account; with its running balances in one row, every
//! award waits for that row's lock, held until the awarding transaction commits. An account without
//! limit flags has no guard that needs its exact balance at write time, so on PostgreSQL a transfer
//! adds its posted amounts on such an account to the shard row of the hash chain it holds
//! (`(account_id, shard)`, shard = chain id): writers on different chains touch different rows, and
//! the account's balances are its row plus the sum of its shards. Pending amounts, limited accounts
//! and SQLite (one writer) keep using the account row, so on SQLite the table stays empty.

use sea_orm_migration::prelude::*;

const CHAINS: i32 = 64;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE TABLE ledger_account_shards ( \
                   account_id BIGINT NOT NULL REFERENCES ledger_accounts (id), \
                   shard INTEGER NOT NULL CHECK (shard >= 0 AND shard < {CHAINS}), \
                   debits_posted BIGINT NOT NULL CHECK (debits_posted >= 0), \
                   credits_posted BIGINT NOT NULL CHECK (credits_posted >= 0), \
                   PRIMARY KEY (account_id, shard))"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Folds the shards back into their accounts' rows first, so no posted amount is lost.
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE ledger_accounts SET \
               debits_posted = debits_posted + (SELECT COALESCE(SUM(s.debits_posted), 0) \
                 FROM ledger_account_shards s WHERE s.account_id = ledger_accounts.id), \
               credits_posted = credits_posted + (SELECT COALESCE(SUM(s.credits_posted), 0) \
                 FROM ledger_account_shards s WHERE s.account_id = ledger_accounts.id) \
             WHERE id IN (SELECT account_id FROM ledger_account_shards)",
        )
        .await?;
        db.execute_unprepared("DROP TABLE ledger_account_shards").await?;
        Ok(())
    }
}
