//! The background job: escalate overdue requests one level up, and close resolved requests whose
//! reporter did not confirm in time. Every API instance runs it; each change is a compare-and-set on
//! the request's (status, escalation level), so with many instances each request is escalated or closed
//! exactly once, and the timeline entry commits with it.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use ehome_entities::service_request;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::lifecycle::{Level, Status};
use super::requests::{self, Event};
use super::{categories, routing};
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

/// Runs the job every `job_interval_seconds` until the process ends.
pub fn spawn(state: AppState) {
    let interval = StdDuration::from_secs(state.settings.requests.job_interval_seconds);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
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
    let mut escalated = 0;
    for request in overdue {
        if escalate_one(state, &request, now).await? {
            escalated += 1;
        }
    }
    Ok(escalated)
}

async fn escalate_one(
    state: &AppState,
    request: &service_request::Model,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let Some(next) = Level::parse(&request.assignee_level).and_then(Level::next) else { return Ok(false) };
    let from = requests::status_of(request)?;
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let category = categories::get(&txn, request.category_id).await?;
    let (level, assignee) = routing::route_request(&txn, request, next).await?;
    let update = service_request::Entity::update_many()
        .col_expr(service_request::Column::Status, Expr::value(Status::Escalated.as_str()))
        .col_expr(service_request::Column::UpdatedAt, Expr::value(now))
        .filter(service_request::Column::Id.eq(request.id))
        .filter(service_request::Column::Status.eq(from.as_str()))
        .filter(service_request::Column::EscalationLevel.eq(request.escalation_level));
    let applied =
        requests::escalated(update, level, assignee, request.escalation_level + 1, &category, now).exec(&txn).await?;
    if applied.rows_affected != 1 {
        // Another instance (or a handler) changed it first.
        txn.rollback().await?;
        return Ok(false);
    }
    let which = if request.first_response_at.is_none() && request.response_due_at < now { "响应" } else { "办结" };
    let event = Event {
        actor_id: None,
        actor_role: "system",
        kind: "escalated",
        from: Some(from),
        to: Some(Status::Escalated),
        assignee_id: assignee,
        note: Some(format!("{which}超时，自动升级至{}", level_name(level))),
        internal: false,
    };
    requests::append_event(&txn, request.id, event, now).await?;
    let notices = super::record_status_change(&txn, request, Status::Escalated, now).await?;
    txn.commit().await?;
    super::push_all(state, notices, now);
    Ok(true)
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::BuildingLeader => "楼长",
        Level::GridWorker => "网格员",
        Level::Committee => "居委会",
        Level::Street => "街道",
    }
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
    let mut closed = 0;
    for request in due {
        let txn = crate::platform::db::begin_write(&state.db).await?;
        let applied = service_request::Entity::update_many()
            .col_expr(service_request::Column::Status, Expr::value(Status::ClosedTimeout.as_str()))
            .col_expr(service_request::Column::ClosedAt, Expr::value(now))
            .col_expr(service_request::Column::UpdatedAt, Expr::value(now))
            .filter(service_request::Column::Id.eq(request.id))
            .filter(service_request::Column::Status.eq(Status::Resolved.as_str()))
            .exec(&txn)
            .await?;
        if applied.rows_affected != 1 {
            txn.rollback().await?;
            continue;
        }
        let event = Event {
            actor_id: None,
            actor_role: "system",
            kind: "transition",
            from: Some(Status::Resolved),
            to: Some(Status::ClosedTimeout),
            assignee_id: request.assignee_id,
            note: Some("居民未在期限内确认，自动关闭".to_owned()),
            internal: false,
        };
        requests::append_event(&txn, request.id, event, now).await?;
        let notices = super::record_status_change(&txn, &request, Status::ClosedTimeout, now).await?;
        txn.commit().await?;
        super::push_all(state, notices, now);
        closed += 1;
    }
    Ok(closed)
}
