//! The sealer: appends newly cast ballots to their poll's hash chain, in batches. Casting only inserts
//! the ballot, so a burst of ballots never queues on one lock; every instance runs the sealer, and the
//! poll row's lock makes sealers of one poll take turns (a ballot is sealed only while unsealed, so two
//! sealers never give it two places). Results, receipts and `ehome polls verify` seal what is pending
//! before they read, so the head they publish covers every ballot committed before them.

use std::time::Duration as StdDuration;

use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::chain::{self, Link};
use super::store;
use crate::platform::db::begin_write;
use crate::platform::error::ApiResult;
use crate::state::AppState;

/// Ballots sealed per transaction.
const BATCH: u64 = 1_000;
/// How often each instance looks for ballots to seal.
const INTERVAL_MS: u64 = 1_000;

/// Seals one batch of a poll's unsealed ballots in the caller's transaction; returns how many.
async fn seal_batch(db: &impl ConnectionTrait, poll_id: i64) -> ApiResult<u64> {
    let (mut seq, mut head) = store::lock_chain(db, poll_id).await?;
    let pending = store::unsealed(db, poll_id, BATCH).await?;
    for ballot in &pending {
        seq += 1;
        let link = Link {
            poll_id,
            seq,
            voter_tag: &ballot.voter_tag,
            choices: &ballot.choices,
            receipt: &ballot.receipt,
            proxy: ballot.proxy,
            prev_hash: &head,
        };
        let hash = chain::hash(&link);
        store::seal_ballot(db, ballot.id, seq, &head, &hash).await?;
        head = hash;
    }
    if !pending.is_empty() {
        store::set_head(db, poll_id, seq, &head).await?;
    }
    Ok(pending.len() as u64)
}

/// Seals every ballot of the poll committed so far; returns how many were sealed.
pub async fn seal(db: &DatabaseConnection, poll_id: i64) -> ApiResult<u64> {
    let mut sealed = 0;
    loop {
        let txn = begin_write(db).await?;
        let done = seal_batch(&txn, poll_id).await?;
        txn.commit().await?;
        sealed += done;
        if done < BATCH {
            return Ok(sealed);
        }
    }
}

/// One pass over every poll with unsealed ballots.
pub async fn run_once(db: &DatabaseConnection) -> ApiResult<u64> {
    let mut sealed = 0;
    for poll_id in store::polls_to_seal(db, 100).await? {
        sealed += seal(db, poll_id).await?;
    }
    Ok(sealed)
}

/// Runs the sealer every second until the process stops (at a safe point: between two runs).
pub fn spawn(state: AppState) {
    let shutdown = state.shutdown.clone();
    shutdown.every("ballot sealer", StdDuration::from_millis(INTERVAL_MS), move || {
        let state = state.clone();
        async move {
            if let Err(err) = run_once(&state.db).await {
                tracing::warn!(error = %err, "ballot sealer failed; retrying next tick");
            }
        }
    });
}
