//! The care round's background work, run by every instance: escalate alert tasks left unacknowledged
//! past their SLA to the committee, and escalate missed visits (none within the schedule plus a grace
//! period) step by step — the visitors, then the grid worker, then the committee. Each step is a
//! compare-and-set decided by `lifecycle.rs`, so with many instances it happens, and is told, once.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use ehome_entities::{care_recipient, care_task};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::lifecycle::{MissedStage, TaskLevel, TaskStatus, escalate};
use super::{store, tasks};
use crate::domain::{CommunityId, Role};
use crate::platform::error::ApiError;
use crate::scenes::notifications::{self, Notice};
use crate::state::AppState;

const BATCH: u64 = 200;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JobOutcome {
    pub tasks_escalated: usize,
    pub missed_visits_escalated: usize,
}

pub async fn run_once(state: &AppState) -> Result<JobOutcome, ApiError> {
    let now = state.clock.now();
    Ok(JobOutcome {
        tasks_escalated: escalate_tasks(state, now).await?,
        missed_visits_escalated: escalate_missed_visits(state, now).await?,
    })
}

pub fn spawn(state: AppState) {
    let seconds = state.settings.care.job_interval_seconds;
    if seconds == 0 {
        return;
    }
    let shutdown = state.shutdown.clone();
    shutdown.every("care jobs", StdDuration::from_secs(seconds), move || {
        let state = state.clone();
        async move {
            match run_once(&state).await {
                Ok(outcome) if outcome != JobOutcome::default() => tracing::info!(?outcome, "care job"),
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "care job failed; retrying next tick"),
            }
        }
    });
}

async fn escalate_tasks(state: &AppState, now: DateTime<Utc>) -> Result<usize, ApiError> {
    let overdue = care_task::Entity::find()
        .filter(care_task::Column::Status.eq(TaskStatus::Open.as_str()))
        .filter(care_task::Column::Level.eq(TaskLevel::Team.as_str()))
        .filter(care_task::Column::AckDueAt.lt(now))
        .order_by_asc(care_task::Column::AckDueAt)
        .limit(BATCH)
        .all(&state.db)
        .await?;
    let mut changed = 0;
    for task in overdue {
        let (Some(status), Some(level)) = (TaskStatus::parse(&task.status), TaskLevel::parse(&task.level)) else {
            continue;
        };
        let Some(to) = escalate(status, level) else { continue };
        let txn = crate::platform::db::begin_write(&state.db).await?;
        if !store::escalate_task(&txn, &task, to, now).await? {
            txn.rollback().await?;
            continue;
        }
        let recipient = store::recipient(&txn, task.recipient_id).await?;
        let notices = tasks::task_notices(&txn, &task, &recipient, to, now).await?;
        txn.commit().await?;
        notifications::push_all(state, notices, now).await;
        changed += 1;
    }
    Ok(changed)
}

async fn escalate_missed_visits(state: &AppState, now: DateTime<Utc>) -> Result<usize, ApiError> {
    let grace = Duration::hours(state.settings.care.missed_grace_hours);
    let due = care_recipient::Entity::find()
        .filter(care_recipient::Column::NextVisitDueAt.lt(now - grace))
        .filter(care_recipient::Column::MissedStage.ne(MissedStage::Committee.as_str()))
        .order_by_asc(care_recipient::Column::NextVisitDueAt)
        .limit(BATCH)
        .all(&state.db)
        .await?;
    let mut changed = 0;
    for recipient in due {
        let Some(stage) = MissedStage::parse(&recipient.missed_stage) else { continue };
        // Each step waits a grace period after the one before.
        if recipient.missed_stage_at.is_some_and(|at| at > now - grace) {
            continue;
        }
        let Some(to) = stage.next() else { continue };
        let txn = crate::platform::db::begin_write(&state.db).await?;
        if !store::advance_missed_stage(&txn, &recipient, to, now).await? {
            txn.rollback().await?;
            continue;
        }
        let notices = missed_notices(&txn, &recipient, to, now).await?;
        txn.commit().await?;
        notifications::push_all(state, notices, now).await;
        changed += 1;
    }
    Ok(changed)
}

async fn missed_notices(
    db: &impl sea_orm::ConnectionTrait,
    recipient: &care_recipient::Model,
    stage: MissedStage,
    now: DateTime<Utc>,
) -> Result<Vec<Notice>, ApiError> {
    let community = CommunityId(recipient.community_id);
    let users = match stage {
        MissedStage::None => vec![],
        MissedStage::Visitor => store::visitors_of(db, recipient.id).await?,
        MissedStage::GridWorker => store::holders(db, community, Role::GridWorker, Some(recipient.grid_id)).await?,
        MissedStage::Committee => store::holders(db, community, Role::Committee, None).await?,
    };
    let mut notices = Vec::new();
    for user_id in users {
        let notice = Notice {
            user_id,
            kind: "care_missed_visit",
            title: "关爱走访逾期".to_owned(),
            body: format!("关爱对象 #{} 的走访已逾期，请尽快安排", recipient.id),
            request_id: None,
            phrase: "走访逾期".to_owned(),
        };
        notifications::record(db, &notice, now).await?;
        notices.push(notice);
    }
    Ok(notices)
}
