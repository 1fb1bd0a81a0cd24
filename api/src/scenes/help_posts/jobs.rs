//! The background job: a post the poster has not confirmed within 7 days of the helper marking it
//! done goes to the committee's dispute queue; an open post past its date closes and its hold is
//! released. Both are system actions of the state machine, each a compare-and-set in its own
//! transaction with the ledger transfer, so with many instances each post moves exactly once.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use ehome_entities::help_post;
use sea_orm::DatabaseTransaction;

use super::lifecycle::{self, Action, Role, Status};
use super::service::{CONFIRM_WINDOW_DAYS, Failure};
use super::store::{self, Change};
use crate::platform::error::ApiError;
use crate::points::{self, TransferId};
use crate::scenes::wallet;
use crate::state::AppState;

/// Posts handled per pass; the next pass takes the rest.
const BATCH: u64 = 200;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JobOutcome {
    pub disputed: usize,
    pub expired: usize,
}

pub async fn run_once(state: &AppState) -> Result<JobOutcome, ApiError> {
    let now = state.clock.now();
    let cutoff = now - Duration::days(CONFIRM_WINDOW_DAYS);
    let unconfirmed = store::due(&state.db, Status::Done, help_post::Column::DoneAt, cutoff, BATCH).await?;
    let mut outcome = JobOutcome::default();
    for post in &unconfirmed {
        if apply(state, post.id, Action::Escalate, now).await? {
            outcome.disputed += 1;
        }
    }
    let past = store::due(&state.db, Status::Open, help_post::Column::ExpiresAt, now, BATCH).await?;
    for post in &past {
        if apply(state, post.id, Action::Expire, now).await? {
            outcome.expired += 1;
        }
    }
    Ok(outcome)
}

/// Runs the job every `interval` until the process stops (at a safe point: between two runs).
pub fn spawn(state: AppState, interval: StdDuration) {
    let shutdown = state.shutdown.clone();
    shutdown.every("help post jobs", interval, move || {
        let state = state.clone();
        async move {
            match run_once(&state).await {
                Ok(outcome) if outcome != JobOutcome::default() => tracing::info!(?outcome, "help post job"),
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "help post job failed; retrying next tick"),
            }
        }
    });
}

/// Takes a system action, again while the ledger is busy; `false` when the post changed first
/// (another instance, or a person). A loop of its own rather than `retrying`: the job runs in a
/// spawned task, whose future must be `Send`, which an async closure's cannot yet be shown to be.
async fn apply(state: &AppState, id: i64, action: Action, now: DateTime<Utc>) -> Result<bool, ApiError> {
    for attempt in 1..=crate::platform::transaction::ATTEMPTS {
        let txn = crate::platform::db::begin_write(&state.db).await?;
        match step(&txn, id, action, now).await {
            Ok(changed) => {
                txn.commit().await?;
                if let Some(post) = &changed {
                    wallet::changed(state, super::service::parties(post)).await;
                }
                return Ok(changed.is_some());
            }
            Err(Failure::Retry) => {
                txn.rollback().await?;
                tokio::time::sleep(StdDuration::from_millis(3 * attempt)).await;
            }
            Err(Failure::Answer(err)) => {
                txn.rollback().await?;
                return Err(err);
            }
        }
    }
    Err(ApiError::Unavailable("help post busy".to_owned()))
}

/// The post as read before the step (its poster and helper), or `None` when it changed first.
async fn step(
    txn: &DatabaseTransaction,
    id: i64,
    action: Action,
    now: DateTime<Utc>,
) -> Result<Option<help_post::Model>, Failure> {
    let post = store::get(txn, id).await?;
    let from = store::status_of(&post)?;
    let Some(to) = lifecycle::next(from, action, Role::System) else {
        return Ok(None);
    };
    let change = Change { finished_at: (to == Status::Expired).then_some(now), ..Change::default() };
    if !store::compare_and_set(txn, id, from, to, change, now).await? {
        return Ok(None);
    }
    if to == Status::Expired
        && let Some(text) = post.hold_transfer_id.as_deref()
    {
        let hold = TransferId::parse(text).map_err(|_| ApiError::internal(anyhow::anyhow!("hold of {id}")))?;
        points::release(txn, hold, now).await?;
    }
    Ok(Some(post))
}
