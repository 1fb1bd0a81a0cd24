//! The double-entry ledger: accounts, append-only transfers and the head of their hash chain.
//!
//! Amounts and balances are BIGINT minor units. Times are BIGINT microseconds since the Unix epoch,
//! so that the canonical content of a transfer (and therefore its hash) is the same on every backend.
//! The database guards what it can: CHECK constraints on amounts, balances and the no-overdraft flags,
//! unique transfer ids and idempotency keys, at most one resolution per hold, at most one reversal per
//! transfer, and triggers that make `ledger_transfers` append-only.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LedgerAccounts {
    Table,
    Id,
    Code,
    Asset,
    Flags,
    DebitsPosted,
    CreditsPosted,
    DebitsPending,
    CreditsPending,
    CreatedAtUs,
}

#[derive(DeriveIden)]
enum LedgerTransfers {
    Table,
    Seq,
    ChainId,
    ChainSeq,
    Id,
    IdempotencyKey,
    Kind,
    DebitAccountId,
    CreditAccountId,
    Asset,
    Amount,
    Code,
    PendingId,
    Reverses,
    TimeoutAtUs,
    Metadata,
    CreatedAtUs,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum LedgerChainHead {
    Table,
    Id,
    LastSeq,
    LastHash,
}

/// Number of hash chains. Transfers are spread over several chains so that concurrent writers do not
/// all queue on one chain head; each chain is a total order of its own.
const CHAINS: i32 = 16;

/// Hash that the first transfer of every chain links to.
const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn non_negative(col: LedgerAccounts) -> ColumnDef {
    let name = col.to_string();
    ColumnDef::new(col).big_integer().not_null().default(0).check(Expr::cust(format!("{name} >= 0"))).to_owned()
}

fn accounts_table() -> TableCreateStatement {
    Table::create()
        .table(LedgerAccounts::Table)
        .col(ColumnDef::new(LedgerAccounts::Id).big_integer().not_null().auto_increment().primary_key())
        .col(ColumnDef::new(LedgerAccounts::Code).string().not_null().unique_key())
        .col(ColumnDef::new(LedgerAccounts::Asset).string().not_null().check(Expr::cust("asset IN ('POINTS', 'CNY')")))
        .col(
            ColumnDef::new(LedgerAccounts::Flags)
                .integer()
                .not_null()
                .default(0)
                .check(Expr::cust("flags >= 0 AND flags < 8")),
        )
        .col(non_negative(LedgerAccounts::DebitsPosted))
        .col(non_negative(LedgerAccounts::CreditsPosted))
        .col(non_negative(LedgerAccounts::DebitsPending))
        .col(non_negative(LedgerAccounts::CreditsPending))
        .col(ColumnDef::new(LedgerAccounts::CreatedAtUs).big_integer().not_null())
        // django-hordak's idea: the database itself refuses a balance that breaks the account's flags,
        // whatever the application does. The guarded UPDATE in the store is the fast path; these are
        // the backstop.
        .check((
            "ledger_accounts_debits_within_credits",
            Expr::cust("(flags & 1) = 0 OR debits_posted + debits_pending <= credits_posted"),
        ))
        .check((
            "ledger_accounts_credits_within_debits",
            Expr::cust("(flags & 2) = 0 OR credits_posted + credits_pending <= debits_posted"),
        ))
        .to_owned()
}

fn transfers_table() -> TableCreateStatement {
    let account_ref = |col: LedgerTransfers, name: &str| {
        ForeignKey::create()
            .name(name)
            .from(LedgerTransfers::Table, col)
            .to(LedgerAccounts::Table, LedgerAccounts::Id)
            .to_owned()
    };
    Table::create()
        .table(LedgerTransfers::Table)
        // Global order: allocated from the column's sequence on PostgreSQL, under the write lock
        // on SQLite.
        .col(ColumnDef::new(LedgerTransfers::Seq).big_integer().not_null().auto_increment().primary_key())
        // Position in one of the hash chains.
        .col(
            ColumnDef::new(LedgerTransfers::ChainId)
                .integer()
                .not_null()
                .check(Expr::cust(format!("chain_id >= 0 AND chain_id < {CHAINS}"))),
        )
        .col(ColumnDef::new(LedgerTransfers::ChainSeq).big_integer().not_null().check(Expr::cust("chain_seq > 0")))
        .col(ColumnDef::new(LedgerTransfers::Id).string_len(36).not_null().unique_key())
        .col(ColumnDef::new(LedgerTransfers::IdempotencyKey).string().null())
        .col(
            ColumnDef::new(LedgerTransfers::Kind)
                .string()
                .not_null()
                .check(Expr::cust("kind IN ('single', 'pending', 'post_pending', 'void_pending', 'expire_pending')")),
        )
        .col(ColumnDef::new(LedgerTransfers::DebitAccountId).big_integer().not_null())
        .col(ColumnDef::new(LedgerTransfers::CreditAccountId).big_integer().not_null())
        .col(ColumnDef::new(LedgerTransfers::Asset).string().not_null())
        .col(ColumnDef::new(LedgerTransfers::Amount).big_integer().not_null().check(Expr::cust("amount > 0")))
        .col(ColumnDef::new(LedgerTransfers::Code).string().not_null())
        // Unique where present (partial indexes below): a hold is resolved at most once, a transfer is
        // reversed at most once.
        .col(ColumnDef::new(LedgerTransfers::PendingId).string_len(36).null())
        .col(ColumnDef::new(LedgerTransfers::Reverses).string_len(36).null())
        .col(ColumnDef::new(LedgerTransfers::TimeoutAtUs).big_integer().null())
        .col(ColumnDef::new(LedgerTransfers::Metadata).text().not_null())
        .col(ColumnDef::new(LedgerTransfers::CreatedAtUs).big_integer().not_null())
        .col(ColumnDef::new(LedgerTransfers::PrevHash).string_len(64).not_null())
        .col(ColumnDef::new(LedgerTransfers::Hash).string_len(64).not_null())
        .check(("ledger_transfers_distinct_accounts", Expr::cust("debit_account_id <> credit_account_id")))
        .check(("ledger_transfers_seq_positive", Expr::cust("seq > 0")))
        .foreign_key(&mut account_ref(LedgerTransfers::DebitAccountId, "fk_ledger_transfers_debit"))
        .foreign_key(&mut account_ref(LedgerTransfers::CreditAccountId, "fk_ledger_transfers_credit"))
        .to_owned()
}

fn chain_head_table() -> TableCreateStatement {
    Table::create()
        .table(LedgerChainHead::Table)
        .col(
            ColumnDef::new(LedgerChainHead::Id)
                .integer()
                .not_null()
                .primary_key()
                .check(Expr::cust(format!("id >= 0 AND id < {CHAINS}"))),
        )
        .col(ColumnDef::new(LedgerChainHead::LastSeq).big_integer().not_null())
        .col(ColumnDef::new(LedgerChainHead::LastHash).string_len(64).not_null())
        .to_owned()
}

fn history_index(col: LedgerTransfers, name: &str) -> IndexCreateStatement {
    Index::create().name(name).table(LedgerTransfers::Table).col(col).col(LedgerTransfers::Seq).to_owned()
}

/// Backend-specific exception: make `ledger_transfers` append-only in the database itself.
/// PostgreSQL needs a PL/pgSQL function; SQLite has `RAISE` in trigger bodies.
fn append_only_triggers(backend: DbBackend) -> Vec<&'static str> {
    match backend {
        DbBackend::Postgres => vec![
            r#"CREATE FUNCTION ledger_transfers_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger_transfers is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$ LANGUAGE plpgsql"#,
            "CREATE TRIGGER ledger_transfers_no_update_delete BEFORE UPDATE OR DELETE ON ledger_transfers \
             FOR EACH ROW EXECUTE FUNCTION ledger_transfers_append_only()",
            "CREATE TRIGGER ledger_transfers_no_truncate BEFORE TRUNCATE ON ledger_transfers \
             FOR EACH STATEMENT EXECUTE FUNCTION ledger_transfers_append_only()",
        ],
        DbBackend::Sqlite => vec![
            "CREATE TRIGGER ledger_transfers_no_update BEFORE UPDATE ON ledger_transfers \
             BEGIN SELECT RAISE(ABORT, 'ledger_transfers is append-only: UPDATE is not allowed'); END",
            "CREATE TRIGGER ledger_transfers_no_delete BEFORE DELETE ON ledger_transfers \
             BEGIN SELECT RAISE(ABORT, 'ledger_transfers is append-only: DELETE is not allowed'); END",
        ],
        _ => vec![],
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(accounts_table()).await?;
        manager.create_table(transfers_table()).await?;
        manager.create_table(chain_head_table()).await?;
        manager.create_index(history_index(LedgerTransfers::DebitAccountId, "idx_ledger_transfers_debit")).await?;
        manager.create_index(history_index(LedgerTransfers::CreditAccountId, "idx_ledger_transfers_credit")).await?;
        // Partial indexes (the same SQL on both backends): most transfers have no idempotency key, resolve
        // no hold, reverse nothing and time out never, so only the rows that do are indexed.
        let db = manager.get_connection();
        for sql in [
            "CREATE UNIQUE INDEX idx_ledger_transfers_idempotency_key ON ledger_transfers \
             (idempotency_key) WHERE idempotency_key IS NOT NULL",
            "CREATE UNIQUE INDEX idx_ledger_transfers_pending_id ON ledger_transfers (pending_id) \
             WHERE pending_id IS NOT NULL",
            "CREATE UNIQUE INDEX idx_ledger_transfers_reverses ON ledger_transfers (reverses) \
             WHERE reverses IS NOT NULL",
            "CREATE INDEX idx_ledger_transfers_pending_timeout ON ledger_transfers (timeout_at_us) \
             WHERE kind = 'pending' AND timeout_at_us IS NOT NULL",
        ] {
            db.execute_unprepared(sql).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_ledger_transfers_chain")
                    .table(LedgerTransfers::Table)
                    .col(LedgerTransfers::ChainId)
                    .col(LedgerTransfers::ChainSeq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        let mut heads = Query::insert()
            .into_table(LedgerChainHead::Table)
            .columns([LedgerChainHead::Id, LedgerChainHead::LastSeq, LedgerChainHead::LastHash])
            .to_owned();
        for chain in 0..CHAINS {
            heads.values_panic([chain.into(), 0i64.into(), GENESIS_HASH.into()]);
        }
        manager.exec_stmt(heads).await?;
        for sql in append_only_triggers(manager.get_database_backend()) {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("DROP TABLE IF EXISTS ledger_transfers").await?;
            db.execute_unprepared("DROP FUNCTION IF EXISTS ledger_transfers_append_only()").await?;
        } else {
            manager.drop_table(Table::drop().table(LedgerTransfers::Table).if_exists().to_owned()).await?;
        }
        manager.drop_table(Table::drop().table(LedgerChainHead::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(LedgerAccounts::Table).if_exists().to_owned()).await?;
        Ok(())
    }
}
