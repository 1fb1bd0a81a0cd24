//! `ehome polls verify {id}`: walks a poll's ballot chain, recounts from the chain alone, and
//! compares with the stored counted flags and the head published with the results. Exits non-zero
//! when anything disagrees (an edited, dropped or reordered ballot, or a flag that lies).

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sea_orm::DatabaseConnection;

use crate::scenes::polls::service;

/// Polls smaller than this are checked without a progress bar.
const PROGRESS_BAR_MIN_BALLOTS: u64 = 5_000;

#[derive(Debug, Subcommand)]
pub enum PollsCommand {
    /// Recount a poll from its ballot chain and check every link. Exits non-zero on any fault.
    Verify {
        /// The poll's id.
        id: i64,
        /// Print the report as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: PollsCommand, db: &DatabaseConnection) -> anyhow::Result<ExitCode> {
    match command {
        PollsCommand::Verify { id, json } => verify(db, id, json).await,
    }
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    if let Ok(style) = ProgressStyle::with_template("verifying [{elapsed_precise}] {wide_bar} {human_pos} ballots") {
        bar.set_style(style);
    }
    bar
}

async fn verify(db: &DatabaseConnection, id: i64, json: bool) -> anyhow::Result<ExitCode> {
    let bar = progress_bar();
    let progress = |done: u64| {
        if done == PROGRESS_BAR_MIN_BALLOTS {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        bar.set_position(done);
    };
    // Ballots cast since the sealer last ran join the chain first; sealing never touches a sealed ballot.
    crate::scenes::polls::jobs::seal(db, id).await.map_err(|err| anyhow::anyhow!("{err}")).context("sealing")?;
    let (poll, found) = service::verify(db, id, progress)
        .await
        .map_err(|err| anyhow::anyhow!("{err}"))
        .context("verifying the poll")?;
    bar.finish_and_clear();
    let clean = found.problems.is_empty();
    if json {
        let report = serde_json::json!({
            "poll_id": poll.id,
            "ballots": found.ballots,
            "counted": found.counted,
            "unsealed": found.unsealed,
            "tally": found.tally,
            "chain_seq": found.head_seq,
            "chain_head": found.head_hash,
            "problems": found.problems,
            "clean": clean,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("poll {}: {} ballots in the chain, {} counted", poll.id, found.ballots, found.counted);
        if found.unsealed > 0 {
            println!("  {} cast since the seal, counted in order of arrival", found.unsealed);
        }
        for (option, votes) in &found.tally {
            println!("  option {option}: {votes}");
        }
        println!("chain head: #{} {}", found.head_seq, found.head_hash);
        for problem in &found.problems {
            println!("PROBLEM: {problem}");
        }
        println!("{}", if clean { "OK" } else { "FAILED" });
    }
    Ok(if clean { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
