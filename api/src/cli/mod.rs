//! The `ehome` command: `serve` (the default), `migrate`, `seed-demo`, `admin`, `ledger`, `polls`,
//! `leaderboard`, `stats`, `backup`, `restore`.

pub mod admin;
pub mod backup;
pub mod leaderboard;
pub mod ledger;
pub mod polls;
pub mod stats;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "ehome", about = "邻e家 · Neighbour e-Home: API server and tools", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply, roll back or list schema migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Load the demo community into the configured database.
    SeedDemo,
    /// Administrative tasks, such as granting the first committee member.
    Admin {
        #[command(subcommand)]
        action: admin::AdminAction,
    },
    /// The books: verify, export as a journal, benchmark.
    Ledger {
        #[command(subcommand)]
        action: ledger::LedgerCommand,
    },
    /// Polls: verify a poll's ballot chain and recount it.
    Polls {
        #[command(subcommand)]
        action: polls::PollsCommand,
    },
    /// The volunteers' hours leaderboards: rebuild them from the database.
    Leaderboard {
        #[command(subcommand)]
        action: leaderboard::LeaderboardCommand,
    },
    /// 邻办事 statistics: rebuild the daily rollups, or verify them against a recount.
    Stats {
        #[command(subcommand)]
        action: stats::StatsCommand,
    },
    /// Copy the embedded SQLite database to FILE while instances serve: a consistent snapshot, written
    /// under a temporary name, fsync'd, then renamed. (PostgreSQL: use pg_dump; see the README.)
    Backup {
        /// Where to write the backup.
        #[arg(long, value_name = "FILE")]
        to: std::path::PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Replace the configured SQLite database with a backup: checked (integrity, migration table),
    /// migrated, then renamed into place. Stop every instance first. (PostgreSQL: use pg_restore.)
    Restore {
        /// The backup to restore.
        #[arg(long, value_name = "FILE")]
        from: std::path::PathBuf,
        /// Replace the configured database if it exists.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the last migration (or `--steps N`).
    Down {
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}
