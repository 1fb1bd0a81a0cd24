//! Meetings of a deliberation: scheduled by the committee with a chair, attendees marked by the chair,
//! minutes written and signed off by the chair. Signing off publishes a version to the residents of
//! the affected buildings; a correction is the next version, and the old ones are kept.

use chrono::{DateTime, Utc};
use ehome_entities::{deliberation_attendee, deliberation_meeting, deliberation_minutes};

use super::error::DeliberationError;
use super::lifecycle::{Capacity, PanelKind, Status};
use super::meetings_store::{self, Draft, NewMeeting};
use super::service::{Loaded, screen};
use super::store;
use crate::authz::{self, Actor};
use crate::domain::{Description, Location, Note, UserId};
use crate::identity::auth::AuthUser;
use crate::platform::error::{ApiError, ApiResult};
use crate::scenes::community::service as community;
use crate::scenes::notifications::{self, Notice};
use crate::state::AppState;

pub struct MeetingDraft {
    pub starts_at: DateTime<Utc>,
    pub place: Location,
    pub agenda: Description,
    pub chair: Option<UserId>,
}

/// The committee schedules a meeting once the representatives are chosen; the first one moves the
/// deliberation to `meeting`. The chair (the caller unless named) is a committee member.
pub async fn schedule(
    state: &AppState,
    actor: &Actor,
    loaded: &Loaded,
    draft: MeetingDraft,
) -> ApiResult<deliberation_meeting::Model> {
    authz::steer_deliberation(actor, loaded.community())?;
    let from = loaded.status()?;
    let Some(to) = from.after_meeting_scheduled() else {
        let status = from.as_str().to_owned();
        return Err(DeliberationError::WrongStatus { action: "schedule_meeting".to_owned(), status }.into());
    };
    let chair = draft.chair.unwrap_or(actor.id);
    let chair_actor = Actor::load(&state.db, AuthUser { id: chair })
        .await
        .map_err(|_| ApiError::validation("chair_id", "no such user"))?;
    if !chair_actor.committee_or_admin(loaded.community()) {
        return Err(ApiError::validation("chair_id", "the chair is a committee member"));
    }
    let [place, agenda] = screen(state, actor, [draft.place.into_inner(), draft.agenda.into_inner()]).await?;
    let now = state.clock.now();
    let new = NewMeeting {
        deliberation_id: loaded.deliberation.id,
        chair_id: chair.0,
        starts_at: draft.starts_at,
        place,
        agenda,
    };
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let meeting = meetings_store::insert_meeting(&txn, new, now).await?;
    if to != from {
        store::set_status(&txn, loaded.deliberation.id, from, to, Some(actor.id.0), now).await?;
    }
    txn.commit().await?;
    Ok(meeting)
}

fn still_meeting(loaded: &Loaded, action: &str) -> ApiResult<()> {
    let status = loaded.status()?;
    if matches!(status, Status::Meeting | Status::Resolved) {
        Ok(())
    } else {
        Err(DeliberationError::WrongStatus { action: action.to_owned(), status: status.as_str().to_owned() }.into())
    }
}

/// The chair marks who attended: panel members (as representative or professional) and committee
/// members. Marking someone twice keeps the first mark.
pub async fn mark_attendees(
    state: &AppState,
    actor: &Actor,
    loaded: &Loaded,
    meeting: &deliberation_meeting::Model,
    users: &[UserId],
) -> ApiResult<Vec<deliberation_attendee::Model>> {
    authz::chair_meeting(actor, UserId(meeting.chair_id))?;
    still_meeting(loaded, "mark_attendees")?;
    let panel = store::panel_of(&state.db, loaded.deliberation.id).await?;
    let mut marks = Vec::with_capacity(users.len());
    for user in users {
        let seat = panel.iter().find(|s| s.user_id == user.0);
        let capacity = match seat.map(|s| PanelKind::parse(&s.kind)) {
            Some(Some(PanelKind::Representative)) => Capacity::Representative,
            Some(Some(PanelKind::Professional)) => Capacity::Professional,
            _ => {
                let member = Actor::load(&state.db, AuthUser { id: *user })
                    .await
                    .map_err(|_| ApiError::validation("user_ids", "no such user"))?;
                if !member.committee_or_admin(loaded.community()) {
                    return Err(ApiError::validation("user_ids", "only the panel and the committee attend"));
                }
                Capacity::Committee
            }
        };
        marks.push((*user, capacity));
    }
    let now = state.clock.now();
    let txn = crate::platform::db::begin_write(&state.db).await?;
    for (user, capacity) in marks {
        meetings_store::mark_attendee(&txn, meeting.id, user.0, capacity, actor.id.0, now).await?;
    }
    txn.commit().await?;
    meetings_store::attendees_of(&state.db, &[meeting.id]).await
}

pub struct MinutesDraft {
    pub text: Description,
    pub decisions: Description,
    pub correction_note: Option<Note>,
}

/// The chair writes the next version of the minutes. Once a version is signed off, a new one is a
/// correction and says why.
pub async fn write_minutes(
    state: &AppState,
    actor: &Actor,
    loaded: &Loaded,
    meeting: &deliberation_meeting::Model,
    draft: MinutesDraft,
) -> ApiResult<deliberation_minutes::Model> {
    authz::chair_meeting(actor, UserId(meeting.chair_id))?;
    still_meeting(loaded, "write_minutes")?;
    let versions = meetings_store::minutes_of(&state.db, meeting.id).await?;
    if versions.iter().any(|v| v.signed_off_by.is_some()) && draft.correction_note.is_none() {
        return Err(ApiError::validation("correction_note", "a correction of signed-off minutes says why"));
    }
    let next = versions.last().map_or(1, |v| v.version + 1);
    let texts = [
        draft.text.into_inner(),
        draft.decisions.into_inner(),
        draft.correction_note.map(Note::into_inner).unwrap_or_default(),
    ];
    let [text, decisions, note] = screen(state, actor, texts).await?;
    let correction_note = Some(note).filter(|n| !n.as_str().is_empty());
    let draft = Draft { text, decisions, correction_note };
    meetings_store::add_version(&state.db, meeting.id, next, draft, actor.id.0, state.clock.now()).await
}

/// The chair signs a version off: it is published to the residents of the affected buildings (inbox
/// and subscribe message).
pub async fn sign_off(
    state: &AppState,
    actor: &Actor,
    loaded: &Loaded,
    meeting: &deliberation_meeting::Model,
    version: i32,
) -> ApiResult<deliberation_minutes::Model> {
    authz::chair_meeting(actor, UserId(meeting.chair_id))?;
    let versions = meetings_store::minutes_of(&state.db, meeting.id).await?;
    let minutes = versions.into_iter().find(|v| v.version == version).ok_or(ApiError::NotFound("minutes"))?;
    let buildings: Vec<i64> = loaded.buildings.iter().map(|b| b.id).collect();
    let residents = community::residents_of_buildings(&state.db, &buildings).await?;
    let now = state.clock.now();
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let signed = meetings_store::sign_off(&txn, &minutes, actor.id.0, now).await?;
    let title = &loaded.deliberation.title;
    let notices: Vec<Notice> = residents
        .into_iter()
        .map(|user_id| Notice {
            user_id,
            kind: "deliberation_minutes",
            title: title.clone(),
            body: format!("「{title}」会议纪要（第{version}版）已发布"),
            request_id: None,
            phrase: "纪要发布".to_owned(),
        })
        .collect();
    for notice in &notices {
        notifications::record(&txn, notice, now).await?;
    }
    txn.commit().await?;
    notifications::push_all(state, notices, now).await;
    Ok(signed)
}

/// The versions of a meeting's minutes the caller may read: all of them for the committee and the
/// panel; the signed-off ones (old versions included) for everyone else who sees the deliberation.
pub async fn minutes(
    state: &AppState,
    loaded: &Loaded,
    meeting: &deliberation_meeting::Model,
) -> ApiResult<Vec<deliberation_minutes::Model>> {
    let versions = meetings_store::minutes_of(&state.db, meeting.id).await?;
    let insider = loaded.access.insider();
    Ok(versions.into_iter().filter(|v| insider || v.signed_off_by.is_some()).collect())
}

/// A meeting with its attendees and the latest version the caller may read.
pub struct MeetingSummary {
    pub meeting: deliberation_meeting::Model,
    pub attendees: Vec<deliberation_attendee::Model>,
    pub published_version: Option<i32>,
}

pub async fn summaries(state: &AppState, id: i64) -> ApiResult<Vec<MeetingSummary>> {
    let meetings = meetings_store::meetings_of(&state.db, id).await?;
    let ids: Vec<i64> = meetings.iter().map(|m| m.id).collect();
    let attendees = meetings_store::attendees_of(&state.db, &ids).await?;
    let mut out = Vec::with_capacity(meetings.len());
    for meeting in meetings {
        let versions = meetings_store::minutes_of(&state.db, meeting.id).await?;
        let published_version = versions.iter().filter(|v| v.signed_off_by.is_some()).map(|v| v.version).max();
        let of = attendees.iter().filter(|a| a.meeting_id == meeting.id).cloned().collect();
        out.push(MeetingSummary { meeting, attendees: of, published_version });
    }
    Ok(out)
}
