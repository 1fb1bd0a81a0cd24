//! The background job: escalate overdue requests one level up, and close resolved requests whose
//! reporter did not confirm in time. Both are system actions of the state machine (`lifecycle.rs`) and
//! go through the same compare-and-set as people's actions, so with many instances each request is
//! escalated or closed exactly once, and the timeline entry commits with it.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use ehome_entities::service_request;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::categories;
use super::error::RequestError;
use super::lifecycle::{ActingRole, Action, Level, Status};
use super::store::{self, Transition};
use crate::platform::error::ApiError;
use crate::state::AppState;

/// Requests handled per pass; the next pass takes the rest.
const BATCH: u64 = 200;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JobOutcome {
    pub escalated: usize,
    pub closed: usize,
}

pub async fn run_once(state: &AppState) -> Result<JobOutcome, ApiError> {
    let now = state.clock.now();
    let escalated = escalate_overdue(state, now).await?;
    let closed = close_unconfirmed(state, now).await?;
    Ok(JobOutcome { escalated, closed })
}

/// Runs the job every `job_interval_seconds` until the process stops (at a safe point: between two runs).
pub fn spawn(state: AppState) {
    let interval = StdDuration::from_secs(state.settings.requests.job_interval_seconds);
    let shutdown = state.shutdown.clone();
    shutdown.every("request jobs", interval, move || {
        let state = state.clone();
        async move {
            match run_once(&state).await {
                Ok(outcome) if outcome != JobOutcome::default() => tracing::info!(?outcome, "request job"),
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "request job failed; retrying next tick"),
            }
        }
    });
}

async fn escalate_overdue(state: &AppState, now: DateTime<Utc>) -> Result<usize, ApiError> {
    let overdue = service_request::Entity::find()
        .filter(super::queue::overdue_condition(now))
        .filter(service_request::Column::AssigneeLevel.ne(Level::Street.as_str()))
        .order_by_asc(service_request::Column::ResolutionDueAt)
        .limit(BATCH)
        .all(&state.db)
        .await?;
    apply_each(state, &overdue, Action::EscalateOverdue, now).await
}

async fn close_unconfirmed(state: &AppState, now: DateTime<Utc>) -> Result<usize, ApiError> {
    let cutoff = now - Duration::days(state.settings.requests.confirm_window_days);
    let due = service_request::Entity::find()
        .filter(service_request::Column::Status.eq(Status::Resolved.as_str()))
        .filter(service_request::Column::ResolvedAt.lt(cutoff))
        .order_by_asc(service_request::Column::ResolvedAt)
        .limit(BATCH)
        .all(&state.db)
        .await?;
    apply_each(state, &due, Action::CloseUnconfirmed, now).await
}

/// Takes `action` on each request in turn; how many it changed (the others changed first).
async fn apply_each(
    state: &AppState,
    requests: &[service_request::Model],
    action: Action,
    now: DateTime<Utc>,
) -> Result<usize, ApiError> {
    let mut changed = 0;
    for request in requests {
        if apply(state, request, action, now).await? {
            changed += 1;
        }
    }
    Ok(changed)
}

/// Takes a system action through the state machine, as a person's action is taken. `false` when the
/// request changed first (another instance, or a handler): the compare-and-set refused it.
async fn apply(
    state: &AppState,
    request: &service_request::Model,
    action: Action,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let category = categories::get(&txn, request.category_id).await?;
    let change = Transition { action, actor_id: None, actor_role: ActingRole::System, note: None, reassign_to: None };
    let window = Duration::days(state.settings.requests.confirm_window_days);
    let updated = match store::transition(&txn, request, &category, change, window, now).await {
        Ok(updated) => updated,
        Err(ApiError::Requests(RequestError::InvalidTransition { .. })) => {
            txn.rollback().await?;
            return Ok(false);
        }
        Err(err) => return Err(err),
    };
    let to = store::status_of(&updated)?;
    let notices = super::record_status_change(&txn, &updated, to, now).await?;
    txn.commit().await?;
    super::kept::changed(state, [crate::domain::CommunityId(updated.community_id)]).await;
    crate::scenes::notifications::push_all(state, notices, now).await;
    Ok(true)
}
