//! The ledger's view of the shared test harness (`ehome-test-harness`): a migrated database per test
//! (removed when the test ends, even if it panics), the ledger on it, and a small chart of accounts.

use ehome_ledger::prelude::*;
use ehome_ledger::{Account, store};
pub use ehome_test_harness::Backend;
use ehome_test_harness::TestDatabase;
use sea_orm::{ConnectionTrait, DatabaseConnection};

/// A migrated database of the test's own and a pool on it.
pub struct TestDb {
    pub db: DatabaseConnection,
    pub backend: Backend,
    database: TestDatabase,
}

impl TestDb {
    pub async fn new() -> TestDb {
        Self::with_pool(8).await
    }

    pub async fn with_pool(max_connections: u32) -> TestDb {
        let (database, db) = TestDatabase::migrated(max_connections).await;
        TestDb { db, backend: database.backend, database }
    }

    /// A second, independent pool on the same database (a second API instance).
    pub async fn second_pool(&self, max_connections: u32) -> DatabaseConnection {
        self.database.connect(max_connections).await
    }

    /// The ledger on this pool and on a second, independent one (two API instances).
    pub async fn two_instances(&self, max_connections: u32) -> [Ledger; 2] {
        [self.ledger(), Ledger::new(self.second_pool(max_connections).await)]
    }

    pub fn ledger(&self) -> Ledger {
        Ledger::new(self.db.clone())
    }

    pub async fn account(&self, code: &str, asset: Asset, flags: AccountFlags) -> Account {
        store::create_account(&self.db, &NewAccount::new(code, asset, flags)).await.unwrap()
    }

    /// Runs raw SQL as the database owner (superuser on PostgreSQL).
    pub async fn raw(&self, sql: &str) {
        self.db.execute_unprepared(sql).await.expect(sql);
    }
}

/// A small chart: issuance (unlimited), two residents (no overdraft), one CNY fund.
pub struct Chart {
    pub issuance: AccountId,
    pub alice: AccountId,
    pub bob: AccountId,
    pub fund: AccountId,
}

pub async fn chart(t: &TestDb) -> Chart {
    let no_overdraft = AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS;
    Chart {
        issuance: t.account("community:1:points:issuance", Asset::Points, AccountFlags::NONE).await.id,
        alice: t.account("user:1:points", Asset::Points, no_overdraft).await.id,
        bob: t.account("user:2:points", Asset::Points, no_overdraft).await.id,
        fund: t.account("community:1:cny:charity_fund", Asset::Cny, AccountFlags::NONE).await.id,
    }
}
