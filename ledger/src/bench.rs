//! `ehome ledger bench`: drive the ledger in the configured database and measure it, as
//! `tigerbeetle benchmark` does. It creates its own accounts (codes `bench:<run>:…`), posts real
//! transfers and leaves them behind, so `verify` and `export` can be run on the result.

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend};
use serde::Serialize;

use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::poster::{BatchingPoster, PosterConfig};
use crate::store;
use crate::types::{AccountFlags, AccountId, Asset, NewAccount, TransferRequest};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BenchMode {
    /// Single transfers between uniformly random no-overdraft accounts, one transaction each.
    Uniform,
    /// Single transfers that all debit the one issuance account (every volunteer award does).
    Hot,
    /// Hot-account transfers submitted through the [`BatchingPoster`].
    Batched,
}

impl std::str::FromStr for BenchMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "uniform" => Ok(BenchMode::Uniform),
            "hot" => Ok(BenchMode::Hot),
            "batched" => Ok(BenchMode::Batched),
            other => Err(format!("unknown bench mode {other:?} (uniform, hot or batched)")),
        }
    }
}

#[derive(Clone, Debug)]
pub struct BenchConfig {
    pub clients: usize,
    pub duration: Duration,
    pub mode: BenchMode,
    /// No-overdraft accounts created for the run.
    pub accounts: usize,
    /// Transfers each client keeps in flight in batched mode (a client of the poster may pipeline,
    /// as TigerBeetle clients submit batches). Single-transfer modes always have one in flight.
    pub in_flight: usize,
}

impl BenchConfig {
    pub fn new(clients: usize, duration: Duration, mode: BenchMode) -> Self {
        BenchConfig { clients, duration, mode, accounts: 1000, in_flight: 1 }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub mode: BenchMode,
    pub clients: usize,
    pub run: String,
    pub seconds: f64,
    pub transfers: u64,
    pub rejected: u64,
    pub transfers_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "mode={:?} clients={} run={} transfers={} rejected={} seconds={:.1} \
             transfers/s={:.0} p50={:.2}ms p99={:.2}ms max={:.2}ms",
            self.mode,
            self.clients,
            self.run,
            self.transfers,
            self.rejected,
            self.seconds,
            self.transfers_per_second,
            self.p50_ms,
            self.p99_ms,
            self.max_ms
        )
    }
}

/// Connects a pool big enough for the clients and runs the benchmark.
pub async fn run_bench_url(url: &str, config: &BenchConfig) -> Result<BenchReport, LedgerError> {
    let pool = u32::try_from(config.clients + 4).unwrap_or(u32::MAX);
    let db = Database::connect(crate::connect_options(url, pool)).await?;
    run_bench(&db, config).await
}

/// Runs the benchmark on `db` (its pool should have at least `clients` connections).
pub async fn run_bench(db: &DatabaseConnection, config: &BenchConfig) -> Result<BenchReport, LedgerError> {
    let ledger = Ledger::new(db.clone());
    let run = format!("{:08x}", rand::random::<u32>());
    let (issuance, accounts) = setup(&ledger, &run, config.accounts.max(2)).await?;
    let poster =
        (config.mode == BenchMode::Batched).then(|| BatchingPoster::spawn(ledger.clone(), PosterConfig::default()));
    let deadline = Instant::now() + config.duration;
    let started = Instant::now();
    let in_flight = if config.mode == BenchMode::Batched { config.in_flight.max(1) } else { 1 };
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..config.clients.max(1) * in_flight {
        let ledger = ledger.clone();
        let poster = poster.clone();
        let accounts = accounts.clone();
        let mode = config.mode;
        tasks.spawn(async move {
            let mut rng = StdRng::seed_from_u64(client as u64 ^ 0x5eed);
            let mut latencies_us: Vec<u32> = Vec::with_capacity(4096);
            let mut rejected = 0u64;
            while Instant::now() < deadline {
                let request = next_request(&mut rng, mode, issuance, &accounts);
                let t0 = Instant::now();
                let result = match &poster {
                    Some(p) => p.submit(request).await,
                    None => ledger.post(&request).await,
                };
                let micros = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
                match result {
                    Ok(_) => latencies_us.push(micros),
                    Err(e) if e.is_rejection() => rejected += 1,
                    Err(e) => return Err(e),
                }
            }
            Ok::<_, LedgerError>((latencies_us, rejected))
        });
    }
    let mut latencies: Vec<u32> = vec![];
    let mut rejected = 0;
    while let Some(joined) = tasks.join_next().await {
        let (l, r) = joined.map_err(|e| LedgerError::Invariant(format!("bench task: {e}")))??;
        latencies.extend(l);
        rejected += r;
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        f64::from(latencies[i.min(latencies.len() - 1)]) / 1000.0
    };
    let transfers = latencies.len() as u64;
    Ok(BenchReport {
        mode: config.mode,
        clients: config.clients,
        run,
        seconds,
        transfers,
        rejected,
        transfers_per_second: transfers as f64 / seconds.max(1e-9),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: pct(1.0),
    })
}

fn next_request(rng: &mut StdRng, mode: BenchMode, issuance: AccountId, accounts: &[AccountId]) -> TransferRequest {
    let amount = rng.random_range(1..=100);
    let credit = accounts[rng.random_range(0..accounts.len())];
    let debit = match mode {
        BenchMode::Hot | BenchMode::Batched => issuance,
        BenchMode::Uniform => loop {
            let d = accounts[rng.random_range(0..accounts.len())];
            if d != credit {
                break d;
            }
        },
    };
    let code = if debit == issuance { "volunteer_award" } else { "bench_transfer" };
    TransferRequest::single(debit, credit, Asset::Points, amount, code)
}

/// Creates the run's issuance account and funded no-overdraft accounts.
async fn setup(ledger: &Ledger, run: &str, count: usize) -> Result<(AccountId, Vec<AccountId>), LedgerError> {
    let txn = ledger.begin().await?;
    let issuance = store::create_account(
        &txn,
        &NewAccount::new(format!("bench:{run}:points:issuance"), Asset::Points, AccountFlags::NONE),
    )
    .await?
    .id;
    let mut accounts = Vec::with_capacity(count);
    for i in 0..count {
        let new = NewAccount::new(
            format!("bench:{run}:user:{i}:points"),
            Asset::Points,
            AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS,
        );
        accounts.push(store::create_account(&txn, &new).await?.id);
    }
    txn.commit().await?;
    for chunk in accounts.chunks(500) {
        let funding: Vec<TransferRequest> = chunk
            .iter()
            .map(|a| TransferRequest::single(issuance, *a, Asset::Points, 100_000_000, "bench_funding"))
            .collect();
        ledger.post_linked(&funding).await?;
    }
    // Fresh statistics, as autovacuum would gather them within its next minute: the ledger's statements
    // run on generic plans, and PostgreSQL plans them with what it knows of the tables — on a database
    // created for the run, that the accounts table is empty.
    let db = ledger.connection();
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("ANALYZE ledger_accounts, ledger_account_shards, ledger_transfers, ledger_chain_head")
            .await?;
    }
    Ok((issuance, accounts))
}
