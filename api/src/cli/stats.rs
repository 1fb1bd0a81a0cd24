//! `ehome stats rebuild`: recomputes the 邻办事 daily rollups from the requests (after rows were written
//! around the app, such as the benchmark's bulk seeding). `ehome stats verify [--community N]`: compares
//! the statistics the endpoint serves from the rollups with a recount from the requests, day by day,
//! over the last year (366 days up to today, Shanghai), and fails on any difference.

use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use ehome_entities::community;
use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder};

use crate::platform::clock::{Clock, SystemClock};
use crate::scenes::requests::{rollup, stats};

#[derive(Debug, Subcommand)]
pub enum StatsCommand {
    /// Recompute every daily rollup from the requests.
    Rebuild,
    /// Compare the statistics from the rollups with a recount from the requests.
    Verify {
        /// Only this community (default: every community).
        #[arg(long)]
        community: Option<i64>,
    },
}

/// The communities whose rollups differ from a recount over the year up to `now`.
pub async fn differing(
    db: &DatabaseConnection,
    community: Option<i64>,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<i64>> {
    let ids = match community {
        Some(id) => vec![id],
        None => community::Entity::find()
            .order_by_asc(community::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect(),
    };
    let today = stats::shanghai_date(now);
    let from = today - chrono::Days::new(stats::RANGE_DAYS_MAX - 1);
    let range = stats::DateRange::parse(Some(&from.to_string()), None, today).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut differing = Vec::new();
    for id in ids {
        let served = stats::from_store(db, id, stats::Period::Day, range, now).await;
        let counted = stats::recount(db, id, stats::Period::Day, range, now).await;
        let (served, counted) =
            (served.map_err(|e| anyhow::anyhow!("{e}"))?, counted.map_err(|e| anyhow::anyhow!("{e}"))?);
        if served != counted {
            differing.push(id);
        }
    }
    Ok(differing)
}

pub async fn run(cmd: StatsCommand, db: &DatabaseConnection) -> anyhow::Result<ExitCode> {
    match cmd {
        StatsCommand::Rebuild => {
            let rows =
                rollup::rebuild(db).await.map_err(|e| anyhow::anyhow!("{e}")).context("rebuilding the rollups")?;
            println!("rebuilt the request rollups: {rows} rows");
            Ok(ExitCode::SUCCESS)
        }
        StatsCommand::Verify { community } => {
            // The command runs outside the app: the system clock is the instant the figures are for.
            let differing = differing(db, community, SystemClock.now()).await?;
            if differing.is_empty() {
                println!("the request statistics from the rollups equal a recount");
                Ok(ExitCode::SUCCESS)
            } else {
                println!(
                    "the rollups differ from a recount in communities {differing:?}; `ehome stats rebuild` repairs them"
                );
                Ok(ExitCode::FAILURE)
            }
        }
    }
}
