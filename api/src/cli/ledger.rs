//! `ehome ledger verify|export|bench`: thin wrappers over the `ehome-ledger` crate, with progress bars.
//!
//! Wiring (in `cli/mod.rs`): `pub mod ledger;` and a variant
//! `Ledger { #[command(subcommand)] action: ledger::LedgerCommand }` whose arm calls
//! `ledger::run(action, &db).await` and returns its exit code.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Subcommand, ValueEnum};
use ehome_ledger::bench::run_bench_url;
use ehome_ledger::{Asset, BenchConfig, BenchMode, ExportFormat, ExportOptions, Ledger};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sea_orm::DatabaseConnection;

/// Books smaller than this are checked without a progress bar.
const PROGRESS_BAR_MIN_TRANSFERS: u64 = 5_000;

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Recompute every balance from the transfers; check debits = credits per asset, the account
    /// flags and the hash chain; and, per merchant, that points captured = settled + outstanding.
    /// Exits non-zero on any fault.
    Verify {
        /// Print the report as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write the posted transfers as an hledger or beancount journal, ending with a balance
    /// assertion per account.
    Export {
        #[arg(long, value_enum)]
        format: FormatArg,
        /// Only this asset.
        #[arg(long, value_enum)]
        asset: Option<AssetArg>,
        /// Only transfers created at or before this time (RFC 3339, or a date for its end, UTC).
        #[arg(long, value_parser = parse_until)]
        until: Option<DateTime<Utc>>,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Drive the ledger in the configured database and print transfers/s with p50 and p99. The
    /// bench creates its own accounts and leaves its transfers for `verify` and `export`.
    Bench {
        /// Concurrent clients.
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// How long to run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, value_enum, default_value_t = ModeArg::Uniform)]
        mode: ModeArg,
        /// Transfers each client keeps in flight in batched mode (scripts/bench-ledger.sh uses 64, as a
        /// TigerBeetle client sends a batch; with 1, 32 clients give the poster at most 32 to group).
        #[arg(long, default_value_t = 1)]
        in_flight: usize,
        /// No-overdraft accounts to create for the run.
        #[arg(long, default_value_t = 1000)]
        accounts: usize,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FormatArg {
    Hledger,
    Beancount,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum AssetArg {
    #[value(name = "POINTS", alias = "points")]
    Points,
    #[value(name = "CNY", alias = "cny")]
    Cny,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Uniform,
    Hot,
    Batched,
}

fn parse_until(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_micro_opt(23, 59, 59, 999_999))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("{text:?} is neither an RFC 3339 time nor a YYYY-MM-DD date"))
}

/// Runs one `ehome ledger …` command against the configured database.
pub async fn run(cmd: LedgerCommand, db: &DatabaseConnection) -> anyhow::Result<ExitCode> {
    match cmd {
        LedgerCommand::Verify { json } => verify(db, json).await,
        LedgerCommand::Export { format, asset, until, output } => export(db, format, asset, until, output).await,
        LedgerCommand::Bench { clients, seconds, mode, in_flight, accounts, json } => {
            let mode = match mode {
                ModeArg::Uniform => BenchMode::Uniform,
                ModeArg::Hot => BenchMode::Hot,
                ModeArg::Batched => BenchMode::Batched,
            };
            let mut config = BenchConfig::new(clients, Duration::from_secs(seconds), mode);
            config.in_flight = in_flight;
            config.accounts = accounts;
            bench(db, &config, json).await
        }
    }
}

/// A progress bar on standard error that appears only for large books.
fn progress_bar(what: &'static str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    let style = ProgressStyle::with_template(
        "{msg} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} ({per_sec}, eta {eta})",
    );
    if let Ok(style) = style {
        bar.set_style(style);
    }
    bar.set_message(what);
    bar
}

fn update(bar: &ProgressBar, done: u64, total: u64) {
    if bar.length().is_none() {
        bar.set_length(total);
        if total >= PROGRESS_BAR_MIN_TRANSFERS {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }
    bar.set_position(done);
}

async fn verify(db: &DatabaseConnection, json: bool) -> anyhow::Result<ExitCode> {
    let bar = progress_bar("verifying");
    let ledger = Ledger::new(db.clone());
    let report = ledger.verify(&mut |done, total| update(&bar, done, total)).await.context("verifying the ledger")?;
    bar.finish_and_clear();
    let merchants = crate::scenes::ledger_admin::check_merchants(db).await.context("checking the merchants")?;
    if json {
        // The ledger's report as before, with the application's check beside it.
        let mut value = serde_json::to_value(&report)?;
        value["merchants"] = serde_json::to_value(&merchants)?;
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print!("{report}");
        print!("{merchants}");
    }
    Ok(if report.is_clean() && merchants.is_clean() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

async fn export(
    db: &DatabaseConnection,
    format: FormatArg,
    asset: Option<AssetArg>,
    until: Option<DateTime<Utc>>,
    output: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let mut options = ExportOptions::new(match format {
        FormatArg::Hledger => ExportFormat::Hledger,
        FormatArg::Beancount => ExportFormat::Beancount,
    });
    options.asset = asset.map(|a| match a {
        AssetArg::Points => Asset::Points,
        AssetArg::Cny => Asset::Cny,
    });
    options.until = until;
    let mut out: BufWriter<Box<dyn Write + Send>> = BufWriter::new(match &output {
        Some(path) => Box::new(File::create(path).with_context(|| format!("creating {}", path.display()))?),
        None => Box::new(std::io::stdout()),
    });
    let bar = progress_bar("exporting");
    let summary = ehome_ledger::export(db, &options, &mut out, &mut |done, total| update(&bar, done, total))
        .await
        .context("exporting the ledger")?;
    out.flush().context("writing the journal")?;
    bar.finish_and_clear();
    eprintln!(
        "exported {} transactions over {} accounts{}",
        summary.transactions,
        summary.accounts,
        output.map(|p| format!(" to {}", p.display())).unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

async fn bench(db: &DatabaseConnection, config: &BenchConfig, json: bool) -> anyhow::Result<ExitCode> {
    eprintln!("ledger bench: mode {:?}, {} clients, {} s", config.mode, config.clients, config.duration.as_secs());
    // A pool of its own, sized for the clients, when the database URL is known.
    let report = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => run_bench_url(&url, config).await,
        _ => ehome_ledger::run_bench(db, config).await,
    }
    .context("running the ledger bench")?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}
