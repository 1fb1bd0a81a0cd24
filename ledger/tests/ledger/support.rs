//! An isolated database per test: a temporary SQLite file, or a fresh PostgreSQL database
//! `ehome_t_<uuid>` that is dropped (`WITH (FORCE)`) when the test ends, even if it panics.

use std::time::Duration;

use ehome_ledger::prelude::*;
use ehome_ledger::{Account, store};
use ehome_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("EHOME_TEST_BACKEND").as_deref() {
        Ok("postgres") | Ok("pg") | Ok("postgresql") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

fn pg_server_url() -> String {
    std::env::var("EHOME_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
        .trim_end_matches('/')
        .to_owned()
}

pub struct TestDb {
    pub db: DatabaseConnection,
    pub url: String,
    pub backend: Backend,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteFile(std::path::PathBuf),
    PgDatabase(String),
}

pub async fn connect(url: &str, max_connections: u32) -> DatabaseConnection {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(60))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| o.busy_timeout(Duration::from_secs(60)));
    Database::connect(options).await.expect("connect")
}

impl TestDb {
    pub async fn new() -> TestDb {
        Self::with_pool(8).await
    }

    pub async fn with_pool(max_connections: u32) -> TestDb {
        let name = format!("ehome_t_{}", uuid::Uuid::new_v4().simple());
        let (url, cleanup) = match backend() {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                (format!("sqlite://{}?mode=rwc", path.display()), Cleanup::SqliteFile(path))
            }
            Backend::Postgres => {
                let admin = connect(&format!("{}/postgres", pg_server_url()), 1).await;
                admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create database");
                admin.close().await.ok();
                (format!("{}/{name}", pg_server_url()), Cleanup::PgDatabase(name))
            }
        };
        let db = connect(&url, max_connections).await;
        if backend() == Backend::Sqlite {
            db.execute_unprepared("PRAGMA journal_mode=WAL").await.expect("wal");
        }
        Migrator::up(&db, None).await.expect("migrations");
        TestDb { db, url, backend: backend(), cleanup }
    }

    /// A second, independent pool on the same database (a second API instance).
    pub async fn second_pool(&self, max_connections: u32) -> DatabaseConnection {
        connect(&self.url, max_connections).await
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

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Cleanup::PgDatabase(name) => {
                let name = name.clone();
                // Drop runs on the test's runtime, which is blocked here: the cleanup gets a runtime of
                // its own and leaves the test's pool alone (FORCE ends its connections).
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
                    if let Ok(rt) = rt {
                        rt.block_on(async move {
                            let admin = connect(&format!("{}/postgres", pg_server_url()), 1).await;
                            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                            admin.execute_unprepared(&sql).await.ok();
                            admin.close().await.ok();
                        });
                    }
                })
                .join();
            }
        }
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
