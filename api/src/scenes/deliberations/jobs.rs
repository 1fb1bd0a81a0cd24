//! The background job: carry out resolved deliberations whose every resolution's request has been
//! confirmed. Each change is the compare-and-set of `resolutions::settle`, so it happens once however
//! many instances run.

use std::time::Duration as StdDuration;

use ehome_entities::deliberation;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::lifecycle::Status;
use super::resolutions;
use crate::platform::error::ApiError;
use crate::state::AppState;

/// Deliberations looked at per pass.
const BATCH: u64 = 200;

/// Returns how many were carried out.
pub async fn run_once(state: &AppState) -> Result<usize, ApiError> {
    let resolved = deliberation::Entity::find()
        .filter(deliberation::Column::Status.eq(Status::Resolved.as_str()))
        .order_by_asc(deliberation::Column::Id)
        .limit(BATCH)
        .all(&state.db)
        .await?;
    let mut carried_out = 0;
    for row in resolved {
        if resolutions::settle(state, row).await?.status == Status::CarriedOut.as_str() {
            carried_out += 1;
        }
    }
    Ok(carried_out)
}

/// Runs the job on the request job's interval until the process stops (at a safe point: between two runs).
pub fn spawn(state: AppState) {
    let interval = StdDuration::from_secs(state.settings.requests.job_interval_seconds.max(1));
    let shutdown = state.shutdown.clone();
    shutdown.every("deliberation jobs", interval, move || {
        let state = state.clone();
        async move {
            match run_once(&state).await {
                Ok(0) => {}
                Ok(carried_out) => tracing::info!(carried_out, "deliberation job"),
                Err(err) => tracing::warn!(error = %err, "deliberation job failed; retrying next tick"),
            }
        }
    });
}
