//! The background job: codes whose five minutes ran out are expired and what they reserved (the
//! hold, the stock, the limit) given back. Each code changes by compare-and-set in its own
//! transaction, so with many instances each expires once, and a capture racing it has one outcome.
//! The ledger's own expiry job may void the hold first; the give-back accepts that.

use std::time::Duration;

use crate::platform::error::ApiError;
use crate::state::AppState;

/// Codes handled per pass; the next pass takes the rest.
const BATCH: u64 = 500;

/// One pass; how many codes it expired.
pub async fn run_once(state: &AppState) -> Result<usize, ApiError> {
    super::service::expire_codes(state, BATCH).await
}

/// Runs the job every `interval` until the process stops (at a safe point: between two runs).
pub fn spawn(state: AppState, interval: Duration) {
    let shutdown = state.shutdown.clone();
    shutdown.every("redemption code expiry", interval, move || {
        let state = state.clone();
        async move {
            match run_once(&state).await {
                Ok(0) => {}
                Ok(expired) => tracing::info!(expired, "redemption codes expired"),
                Err(err) => tracing::warn!(error = %err, "redemption expiry failed; retrying next tick"),
            }
        }
    });
}
