//! `ehome leaderboard rebuild [--community N]`: recomputes the hours leaderboards (this month, this
//! year, all time) of one community or of every community with hour records, from the database
//! into the shared cache (Redis when `REDIS_URL` is set), with a progress bar.

use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::DatabaseConnection;

use crate::domain::CommunityId;
use crate::platform::cache::Cache;
use crate::platform::clock::{Clock, SystemClock};
use crate::scenes::service_hours::leaderboard;

#[derive(Debug, Subcommand)]
pub enum LeaderboardCommand {
    /// Recompute the leaderboards from the hour records.
    Rebuild {
        /// Only this community (default: every community with hour records).
        #[arg(long)]
        community: Option<i64>,
    },
}

/// Rebuilds the boards; returns how many communities were rebuilt.
pub async fn rebuild(
    db: &DatabaseConnection,
    cache: &Cache,
    community: Option<CommunityId>,
    now: DateTime<Utc>,
    bar: &ProgressBar,
) -> anyhow::Result<usize> {
    let communities = match community {
        Some(one) => vec![one],
        None => leaderboard::communities(db).await.map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    bar.set_length(communities.len() as u64);
    for community in &communities {
        bar.set_message(format!("community {community}"));
        leaderboard::rebuild(db, cache, *community, now)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("rebuilding the leaderboards of community {community}"))?;
        bar.inc(1);
    }
    Ok(communities.len())
}

pub async fn run(cmd: LeaderboardCommand, db: &DatabaseConnection, cache: &Cache) -> anyhow::Result<ExitCode> {
    match cmd {
        LeaderboardCommand::Rebuild { community } => {
            let bar = ProgressBar::new(0);
            if let Ok(style) = ProgressStyle::with_template("{msg} [{elapsed_precise}] {wide_bar} {pos}/{len}") {
                bar.set_style(style);
            }
            // The command runs outside the app: the system clock names the current month and year.
            let now = SystemClock.now();
            let rebuilt = rebuild(db, cache, community.map(CommunityId), now, &bar).await?;
            bar.finish_and_clear();
            println!("rebuilt the hours leaderboards of {rebuilt} communities ({} cache)", cache.backend());
            if cache.backend() == "memory" {
                println!(
                    "without REDIS_URL each server keeps its own boards in memory and builds them from the database \
                     on first read; this rebuild reached none of them"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
