//! Resolutions: each with an owner, a due date and a description, recorded while meeting, and each a
//! 邻办事 request in the community's 协商决议 category (assigned to the owner, reported by the
//! committee member who recorded it, who confirms it when done). The deliberation shows their progress
//! and is carried out when every one is confirmed (`settle`, run on reading and by the job).

use chrono::{NaiveDate, TimeZone};
use ehome_entities::{deliberation, deliberation_resolution, service_request};

use super::error::DeliberationError;
use super::lifecycle::Status;
use super::meetings_store::{self, NewResolution};
use super::service::{Loaded, screen};
use super::store;
use crate::authz::{self, Actor};
use crate::domain::{Description, UserId};
use crate::platform::error::{ApiError, ApiResult};
use crate::scenes::requests::service::{self as requests, Commission};
use crate::state::AppState;

pub struct ResolutionDraft {
    pub owner: UserId,
    pub due_on: NaiveDate,
    pub description: Description,
    /// The building the work is about; the first affected building when absent.
    pub building_id: Option<i64>,
}

/// The end of the due day in Shanghai, as the request's resolution deadline.
fn end_of(day: NaiveDate) -> ApiResult<chrono::DateTime<chrono::Utc>> {
    let last = day.and_hms_opt(23, 59, 59).ok_or_else(|| ApiError::validation("due_on", "not a day"))?;
    chrono_tz::Asia::Shanghai
        .from_local_datetime(&last)
        .single()
        .map(|at| at.with_timezone(&chrono::Utc))
        .ok_or_else(|| ApiError::validation("due_on", "not a day"))
}

/// The committee records a resolution; its request is opened in the same transaction.
pub async fn record(
    state: &AppState,
    actor: &Actor,
    loaded: &Loaded,
    draft: ResolutionDraft,
) -> ApiResult<(deliberation_resolution::Model, service_request::Model)> {
    authz::steer_deliberation(actor, loaded.community())?;
    let status = loaded.status()?;
    if !status.records_resolutions() {
        let status = status.as_str().to_owned();
        return Err(DeliberationError::WrongStatus { action: "record_resolution".to_owned(), status }.into());
    }
    let now = state.clock.now();
    let due_at = end_of(draft.due_on)?;
    if due_at < now {
        return Err(ApiError::validation("due_on", "a day from today on"));
    }
    let building = match draft.building_id {
        Some(id) => loaded.buildings.iter().find(|b| b.id == id),
        None => loaded.buildings.first(),
    }
    .ok_or_else(|| ApiError::validation("building_id", "only buildings the deliberation affects"))?;
    let title: String = format!("协商决议：{}", loaded.deliberation.title).chars().take(60).collect();
    let [title, description] = screen(state, actor, [title, draft.description.into_inner()]).await?;
    let commission = Commission {
        community_id: loaded.deliberation.community_id,
        grid_id: building.grid_id,
        building_id: building.id,
        title,
        description: description.clone(),
        owner: draft.owner,
        due_at,
    };
    let level = requests::check_owner(&state.db, actor.id, &commission).await?;
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let category = requests::resolution_category(&txn, loaded.community(), now).await?;
    let request = requests::open_commissioned(&txn, actor.id, &category, commission, level, now).await?;
    let new = NewResolution {
        deliberation_id: loaded.deliberation.id,
        owner_id: draft.owner.0,
        due_on: draft.due_on,
        description,
        request_id: request.id,
    };
    let resolution = meetings_store::insert_resolution(&txn, new, now).await?;
    txn.commit().await?;
    requests::requests_changed(state, [crate::domain::CommunityId(request.community_id)]).await;
    Ok((resolution, request))
}

/// A resolution with its request and whether the request is done.
pub struct Progress {
    pub resolution: deliberation_resolution::Model,
    pub request: Option<service_request::Model>,
    pub done: bool,
}

pub async fn progress(state: &AppState, id: i64) -> ApiResult<Vec<Progress>> {
    let resolutions = meetings_store::resolutions_of(&state.db, id).await?;
    let ids: Vec<i64> = resolutions.iter().map(|r| r.request_id).collect();
    let requests = requests::progress_of(&state.db, &ids).await?;
    Ok(resolutions
        .into_iter()
        .map(|resolution| {
            let found = requests.iter().find(|(r, _)| r.id == resolution.request_id);
            Progress { done: found.is_some_and(|(_, done)| *done), request: found.map(|(r, _)| r.clone()), resolution }
        })
        .collect())
}

/// A resolved deliberation whose every resolution's request is confirmed becomes `carried_out`
/// (a compare-and-set: with many instances and readers it happens once). Returns the row as it is now.
pub async fn settle(state: &AppState, row: deliberation::Model) -> ApiResult<deliberation::Model> {
    let status = store::status_of(&row)?;
    let Some(to) = status.after_carried_out() else { return Ok(row) };
    let progress = progress(state, row.id).await?;
    if progress.is_empty() || progress.iter().any(|p| !p.done) {
        return Ok(row);
    }
    match store::set_status(&state.db, row.id, Status::Resolved, to, None, state.clock.now()).await {
        Ok(updated) => Ok(updated),
        Err(ApiError::Deliberations(DeliberationError::WrongStatus { .. })) => store::get(&state.db, row.id).await,
        Err(err) => Err(err),
    }
}
