//! The ledger operations in transactions of their own, retried a bounded number of times when a
//! concurrent writer causes a deadlock, a serialization failure or a busy database.

use std::future::Future;
use std::sync::Arc;

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, IsolationLevel,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::error::{BatchRejected, LedgerError};
use crate::retry::{MAX_ATTEMPTS, backoff};
use crate::store::{self, Transfer};
use crate::types::{AccountId, TransferAction, TransferRequest};

/// A handle on the ledger's database that runs each operation in its own transaction.
#[derive(Clone, Debug)]
pub struct Ledger {
    db: DatabaseConnection,
    /// Whether the pool's PostgreSQL sessions already run with `plan_cache_mode = force_generic_plan`
    /// (see [`store::prepare_transaction`]); asked once.
    generic_plans: Arc<tokio::sync::OnceCell<bool>>,
    /// Accounts seen to carry limit flags, which never change (see [`LimitedAccounts`]).
    limited: LimitedAccounts,
}

/// The accounts a [`Ledger`] has seen carrying a limit flag. A single transfer between two of them
/// takes the leaner one-statement shape (no shard to read or write). Sound because an account's limit
/// flags never change and account rows are never deleted or renumbered; bounded, since it is only a
/// hint.
#[derive(Clone, Debug, Default)]
struct LimitedAccounts(Arc<std::sync::RwLock<std::collections::HashSet<AccountId>>>);

impl LimitedAccounts {
    /// Remembered accounts at most; past it the set starts again.
    const MAX: usize = 1 << 20;

    fn known(&self, a: AccountId, b: AccountId) -> bool {
        self.0.read().is_ok_and(|set| set.contains(&a) && set.contains(&b))
    }

    fn learn(&self, accounts: &[AccountId]) {
        if accounts.is_empty() || self.0.read().is_ok_and(|set| accounts.iter().all(|a| set.contains(a))) {
            return;
        }
        if let Ok(mut set) = self.0.write() {
            if set.len() + accounts.len() > Self::MAX {
                set.clear();
            }
            set.extend(accounts.iter().copied());
        }
    }
}

/// A failure of one attempt: either final, or worth another attempt.
enum Failure<E> {
    Final(E),
    Retry(E),
}

impl Ledger {
    pub fn new(db: DatabaseConnection) -> Self {
        Ledger { db, generic_plans: Arc::default(), limited: LimitedAccounts::default() }
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Begins a write transaction. On SQLite it is `BEGIN IMMEDIATE`, so that the write lock is taken
    /// (waiting out the busy timeout) up front instead of failing at the first write with a busy error
    /// that waiting cannot fix. On PostgreSQL see [`crate::prepare_transaction`].
    pub async fn begin(&self) -> Result<DatabaseTransaction, LedgerError> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        let txn = self.db.begin_with_options(options).await?;
        if self.db.get_database_backend() == DbBackend::Postgres && !self.sessions_use_generic_plans(&txn).await? {
            store::prepare_transaction(&txn).await?;
        }
        Ok(txn)
    }

    /// Whether the sessions already use generic plans, as a pool connected with
    /// [`crate::connect_options`] does: then a transaction needs no `SET LOCAL` round trip.
    async fn sessions_use_generic_plans(&self, txn: &DatabaseTransaction) -> Result<bool, LedgerError> {
        let preset = self
            .generic_plans
            .get_or_try_init(|| async {
                let row = txn
                    .query_one_raw(sea_orm::Statement::from_string(DbBackend::Postgres, "SHOW plan_cache_mode"))
                    .await?;
                let mode: String = match row {
                    Some(row) => row.try_get_by_index(0)?,
                    None => String::new(),
                };
                Ok::<bool, LedgerError>(mode == "force_generic_plan")
            })
            .await?;
        Ok(*preset)
    }

    /// Runs `body` in a transaction of its own, committing on success and retrying on conflicts.
    /// `wrap` turns a failure to begin or commit into the caller's error type.
    async fn run<T, E, F, Fut>(&self, mut body: F, wrap: impl Fn(LedgerError) -> E) -> Result<T, E>
    where
        F: FnMut(DatabaseTransaction) -> Fut,
        Fut: Future<Output = (DatabaseTransaction, Result<T, Failure<E>>)>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = match self.begin().await {
                Err(e) => retry_if_busy(e, &wrap),
                Ok(txn) => {
                    let (txn, result) = body(txn).await;
                    match result {
                        Ok(value) => match txn.commit().await {
                            Ok(()) => return Ok(value),
                            Err(e) => retry_if_busy(e.into(), &wrap),
                        },
                        Err(failure) => {
                            // Rolling back can fail only if the connection is gone, and then the
                            // pool discards it; the transaction is lost either way.
                            let _ = txn.rollback().await;
                            failure
                        }
                    }
                }
            };
            match failure {
                Failure::Retry(e) if attempt >= MAX_ATTEMPTS => return Err(e),
                Failure::Retry(_) => tokio::time::sleep(backoff(attempt)).await,
                Failure::Final(e) => return Err(e),
            }
        }
    }

    /// Posts a linked batch (all or none) in its own transaction.
    pub async fn post_linked(&self, requests: &[TransferRequest]) -> Result<Vec<Transfer>, BatchRejected> {
        self.post_linked_with(requests, store::OneStatement::Try).await
    }

    async fn post_linked_with(
        &self,
        requests: &[TransferRequest],
        one_statement: store::OneStatement,
    ) -> Result<Vec<Transfer>, BatchRejected> {
        let len = requests.len();
        let body = |txn| async move {
            let result = store::post_linked_with(&txn, requests, store::now_us(), one_statement).await;
            let result = result.map_err(|batch| {
                if batch.failures.iter().any(|f| f.error == LedgerError::Busy) {
                    Failure::Retry(batch)
                } else {
                    Failure::Final(batch)
                }
            });
            (txn, result)
        };
        self.run(body, |e| BatchRejected::all(len, e)).await
    }

    /// Posts one transfer in its own transaction. On PostgreSQL a single transfer is first tried as
    /// one statement that commits by itself (one round trip instead of six); when that cannot decide,
    /// the general path runs in a transaction.
    pub async fn post(&self, request: &TransferRequest) -> Result<Transfer, LedgerError> {
        if let TransferAction::Single { debit, credit, .. } = request.action {
            let shape = if self.limited.known(debit, credit) { store::Shape::OwnLimited } else { store::Shape::Own };
            if let Some((posted, limited)) =
                store::post_in_one_statement(&self.db, request, store::now_us(), shape).await?
            {
                self.limited.learn(&limited);
                return Ok(posted);
            }
        }
        let mut posted = self.post_linked_with(std::slice::from_ref(request), store::OneStatement::Skip).await?;
        posted.pop().ok_or_else(|| LedgerError::Invariant("a batch of one returned nothing".into()))
    }

    /// Posts independent transfers in one transaction (each posts or fails on its own).
    pub async fn post_independent(
        &self,
        requests: &[TransferRequest],
    ) -> Result<Vec<Result<Transfer, LedgerError>>, LedgerError> {
        self.run(
            |txn| async move {
                let result = store::post_independent(&txn, requests, store::now_us()).await;
                (txn, result.map_err(classify))
            },
            |e| e,
        )
        .await
    }

    /// Closes an account in its own transaction: once this returns, no transfer that the account's
    /// closing refuses is posted any more (see [`store::close_account`]).
    pub async fn close_account(&self, id: AccountId) -> Result<store::Account, LedgerError> {
        self.run(
            |txn| async move {
                let result = store::close_account(&txn, id).await;
                (txn, result.map_err(classify))
            },
            |e| e,
        )
        .await
    }

    /// Verifies the books in one read transaction, so that accounts and transfers are read as of one
    /// instant while writers go on (REPEATABLE READ on PostgreSQL; a read transaction on SQLite).
    pub async fn verify(
        &self,
        progress: crate::verify::Progress<'_>,
    ) -> Result<crate::verify::VerifyReport, LedgerError> {
        let txn = self.db.begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly)).await?;
        let report = crate::verify::verify(&txn, progress).await;
        txn.rollback().await?;
        report
    }

    /// Starts the hold-expiry job: every `every`, expire all timed-out holds (in rounds of 1,000). Any
    /// number of API instances may run it: expiry ids derive from the hold, so each hold expires once.
    /// Stops when the returned handle is aborted.
    pub fn spawn_expiry_job(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let ledger = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                loop {
                    match ledger.expire_holds(1000).await {
                        Ok(0) => break,
                        Ok(n) => tracing::info!(expired = n, "ledger holds expired"),
                        Err(e) => {
                            tracing::warn!(error = %e, "ledger hold expiry failed");
                            break;
                        }
                    }
                }
            }
        })
    }

    /// Expires up to `limit` timed-out holds; returns how many were expired.
    pub async fn expire_holds(&self, limit: u64) -> Result<usize, LedgerError> {
        self.run(
            |txn| async move {
                let result = store::expire_holds(&txn, store::now_us(), limit).await;
                (txn, result.map(|v| v.len()).map_err(classify))
            },
            |e| e,
        )
        .await
    }
}

fn classify(e: LedgerError) -> Failure<LedgerError> {
    if e == LedgerError::Busy { Failure::Retry(e) } else { Failure::Final(e) }
}

fn retry_if_busy<E>(e: LedgerError, wrap: impl Fn(LedgerError) -> E) -> Failure<E> {
    if e == LedgerError::Busy { Failure::Retry(wrap(e)) } else { Failure::Final(wrap(e)) }
}
