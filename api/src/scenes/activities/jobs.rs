//! The background job: start activities at their scheduled start, end them at their scheduled end
//! (system actions of the lifecycle, through the same compare-and-set as an organiser's), and check
//! out at the scheduled end every volunteer who checked in and never checked out — flagged
//! `auto_checkout`. Each change is conditional on the row still being as read, so however many
//! instances run the job, each happens once.

use chrono::{DateTime, Utc};
use ehome_entities::{activity, activity_signup};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::checkin::FLAG_AUTO_CHECKOUT;
use super::lifecycle::{Action, Status};
use super::service;
use super::signups::SignupStatus;
use crate::platform::error::ApiError;
use crate::state::AppState;

/// Rows handled per pass; the next pass takes the rest.
const BATCH: u64 = 200;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JobOutcome {
    pub started: usize,
    pub ended: usize,
    pub checked_out: u64,
}

pub async fn run_once(state: &AppState) -> Result<JobOutcome, ApiError> {
    let now = state.clock.now();
    let started = move_due(state, Status::Published, activity::Column::StartsAt, Action::StartDue, now).await?;
    let mut ended = move_due(state, Status::InProgress, activity::Column::EndsAt, Action::EndDue, now).await?;
    ended += move_due(state, Status::Published, activity::Column::EndsAt, Action::EndDue, now).await?;
    let checked_out = check_out_at_end(state, now).await?;
    Ok(JobOutcome { started, ended, checked_out })
}

/// Runs the job every `job_interval_seconds` (the requests job's interval) until the process stops (at a safe point: between two runs).
pub fn spawn(state: AppState) {
    let interval = std::time::Duration::from_secs(state.settings.requests.job_interval_seconds);
    let shutdown = state.shutdown.clone();
    shutdown.every("activity jobs", interval, move || {
        let state = state.clone();
        async move {
            match run_once(&state).await {
                Ok(outcome) if outcome != JobOutcome::default() => tracing::info!(?outcome, "activities job"),
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "activities job failed; retrying next tick"),
            }
        }
    });
}

async fn move_due(
    state: &AppState,
    from: Status,
    due_column: activity::Column,
    action: Action,
    now: DateTime<Utc>,
) -> Result<usize, ApiError> {
    let due = activity::Entity::find()
        .filter(activity::Column::Status.eq(from.as_str()))
        .filter(due_column.lte(now))
        .order_by_asc(due_column)
        .limit(BATCH)
        .all(&state.db)
        .await?;
    let mut moved = 0;
    for row in due {
        if service::apply(&state.db, &row, action, now).await?.is_some() {
            moved += 1;
            // The committee's statistics count the activities held.
            crate::scenes::requests::service::stats_changed(state, [crate::domain::CommunityId(row.community_id)])
                .await;
        }
    }
    Ok(moved)
}

/// Checks out, at the activity's scheduled end, every confirmed volunteer still checked in after it.
async fn check_out_at_end(state: &AppState, now: DateTime<Utc>) -> Result<u64, ApiError> {
    let open = activity_signup::Entity::find()
        .select_only()
        .column(activity_signup::Column::ActivityId)
        .distinct()
        .filter(activity_signup::Column::Status.eq(SignupStatus::Confirmed.as_str()))
        .filter(activity_signup::Column::CheckedInAt.is_not_null())
        .filter(activity_signup::Column::CheckedOutAt.is_null())
        .into_tuple::<i64>()
        .all(&state.db)
        .await?;
    let ended = activity::Entity::find()
        .filter(activity::Column::Id.is_in(open))
        .filter(activity::Column::EndsAt.lte(now))
        .limit(BATCH)
        .all(&state.db)
        .await?;
    let mut checked_out = 0;
    for row in ended {
        let updated = activity_signup::Entity::update_many()
            .col_expr(activity_signup::Column::CheckedOutAt, Expr::value(row.ends_at))
            .col_expr(activity_signup::Column::CheckoutFlags, Expr::value(FLAG_AUTO_CHECKOUT))
            .col_expr(activity_signup::Column::UpdatedAt, Expr::value(now))
            .filter(activity_signup::Column::ActivityId.eq(row.id))
            .filter(activity_signup::Column::Status.eq(SignupStatus::Confirmed.as_str()))
            .filter(activity_signup::Column::CheckedInAt.is_not_null())
            .filter(activity_signup::Column::CheckedOutAt.is_null())
            .exec(&state.db)
            .await?;
        checked_out += updated.rows_affected;
    }
    Ok(checked_out)
}
