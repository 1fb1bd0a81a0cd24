//! PostgreSQL: the transfers' foreign keys to their accounts give way to triggers that keep every
//! account row.
//!
//! A foreign key checks each inserted transfer with its own query (two per transfer, run one by one
//! after the statement); in a group commit of 512 transfers those 1,024 checks took a third of the
//! batch's database time. What they protect is kept otherwise: the ledger inserts a transfer only in
//! the statement that has just moved both of its accounts' balances (or after the guarded updates that
//! did), so its accounts exist; an account row can no longer be deleted or renumbered
//! (`ledger_accounts_no_delete`, `ledger_accounts_no_truncate`), so they keep existing; and
//! `ehome ledger verify` reports a transfer that names an unknown account. SQLite keeps its foreign keys
//! (they are cheap there, and SQLite cannot drop a constraint in place).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            r#"CREATE FUNCTION ledger_accounts_kept() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger_accounts rows are never deleted or renumbered (close the account instead): % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$ LANGUAGE plpgsql"#,
        )
        .await?;
        db.execute_unprepared(
            "CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE OR UPDATE OF id ON ledger_accounts \
               FOR EACH ROW EXECUTE FUNCTION ledger_accounts_kept(); \
             CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts \
               FOR EACH STATEMENT EXECUTE FUNCTION ledger_accounts_kept(); \
             ALTER TABLE ledger_transfers DROP CONSTRAINT fk_ledger_transfers_debit, \
               DROP CONSTRAINT fk_ledger_transfers_credit",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE ledger_transfers \
                   ADD CONSTRAINT fk_ledger_transfers_debit FOREIGN KEY (debit_account_id) \
                     REFERENCES ledger_accounts (id), \
                   ADD CONSTRAINT fk_ledger_transfers_credit FOREIGN KEY (credit_account_id) \
                     REFERENCES ledger_accounts (id); \
                 DROP TRIGGER ledger_accounts_no_truncate ON ledger_accounts; \
                 DROP TRIGGER ledger_accounts_no_delete ON ledger_accounts; \
                 DROP FUNCTION ledger_accounts_kept()",
            )
            .await?;
        Ok(())
    }
}
