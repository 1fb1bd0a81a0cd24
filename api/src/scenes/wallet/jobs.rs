//! The daily points expiry job: points past their day expire (oldest first), and a resident whose
//! points expire within 30 days is told once per expiry day.
//!
//! Every instance runs it; it acts once. Each resident is handled in a write transaction that locks
//! their account, posts the `expiry` transfers whose ids derive from the community, the resident and
//! the day (a second run that day finds them and posts nothing), and claims each reminder by the
//! primary key of `points_expiry_notices`. The job only needs to run once a day; running it more
//! often (the default is hourly, so a missed run is caught up soon) changes nothing.

use std::time::Duration;

use super::service;
use crate::platform::error::ApiError;
use crate::points::{self, days_after, shanghai_day};
use crate::state::AppState;

/// Residents read per page of candidates.
const BATCH: u64 = 200;

/// Days before points expire that their holder is told.
pub const NOTICE_DAYS: u64 = 30;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryOutcome {
    /// Residents whose points expired in this run.
    pub residents_expired: usize,
    /// `expiry` transfers posted.
    pub transfers: usize,
    /// Reminders recorded (and sent).
    pub reminders: usize,
    /// Residents whose handling failed (logged; the next run tries again).
    pub failures: usize,
}

/// One pass over the residents who may have points expiring within the notice window.
pub async fn run_once(state: &AppState) -> Result<ExpiryOutcome, ApiError> {
    let rule = service::expiry_rule(state)?;
    let now = state.clock.now();
    let today = shanghai_day(now);
    let notice_until = days_after(today, NOTICE_DAYS);
    let mut outcome = ExpiryOutcome::default();
    let mut after = 0;
    loop {
        let page = points::residents_with_expiring_points(&state.db, rule, notice_until, after, BATCH).await?;
        for &(user, _) in &page {
            match service::expire_and_remind(state, rule, user, now).await {
                Ok(handled) => {
                    outcome.residents_expired += usize::from(handled.transfers > 0);
                    outcome.transfers += handled.transfers;
                    outcome.reminders += handled.reminders;
                }
                Err(err) => {
                    outcome.failures += 1;
                    tracing::warn!(error = %err, user = user.0, "points expiry failed for a resident; next run retries");
                }
            }
        }
        match page.last() {
            Some(&(_, account)) if page.len() as u64 == BATCH => after = account,
            _ => break,
        }
    }
    Ok(outcome)
}

/// Runs the job every `interval` until the process ends.
pub fn spawn(state: AppState, interval: Duration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match run_once(&state).await {
                Ok(outcome) if outcome != ExpiryOutcome::default() => tracing::info!(?outcome, "points expiry job"),
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "points expiry job failed; retrying next tick"),
            }
        }
    });
}
