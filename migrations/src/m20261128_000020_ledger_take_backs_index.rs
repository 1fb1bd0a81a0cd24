//! The transfers that take points back from a resident (`reversal`, `award_adjustment`), indexed by
//! the account they debit: the wallet (`GET /me/points`) and the expiry forecast sum them for one
//! resident.
//!
//! Without it the database cannot tell that such a sum is small. Nearly every debit of the points
//! ledger comes from a handful of issuance accounts, so the statistics of `debit_account_id` say that
//! any one account is debited by most transfers, and the plan for "this resident's take-backs" is a
//! scan of every transfer: 18–25 ms at 100,000 transfers, per wallet read, once the tables are
//! analysed. The partial index holds only take-backs (rare), costs other transfers nothing, and its
//! predicate is the one the queries state, so they use it whatever the statistics say.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The same SQL on both backends (SQLite has partial indexes too).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_ledger_transfers_take_backs ON ledger_transfers (debit_account_id) \
                 WHERE code IN ('reversal', 'award_adjustment')",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX idx_ledger_transfers_take_backs").await.map(|_| ())
    }
}
