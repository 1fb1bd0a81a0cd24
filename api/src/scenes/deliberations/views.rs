//! What deliberations look like in JSON.

use chrono::{DateTime, NaiveDate, Utc};
use ehome_entities::{
    deliberation, deliberation_attendee, deliberation_group, deliberation_meeting, deliberation_minutes,
    deliberation_panel,
};
use serde::Serialize;

use super::meetings::MeetingSummary;
use super::resolutions::Progress;
use super::service::Overview;

#[derive(Debug, Serialize)]
pub struct ScopeView {
    kind: String,
    ids: Vec<i64>,
}

#[derive(Debug, Serialize)]
pub struct DeliberationView {
    id: i64,
    community_id: i64,
    title: String,
    issue: String,
    evidence: String,
    severity: String,
    urgency: String,
    scope: ScopeView,
    status: String,
    proposed_by: i64,
    anchored_by: Option<i64>,
    anchored_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    closing_note: Option<String>,
    created_at: DateTime<Utc>,
}

pub fn deliberation_view(row: deliberation::Model) -> DeliberationView {
    DeliberationView {
        id: row.id,
        community_id: row.community_id,
        title: row.title,
        issue: row.issue,
        evidence: row.evidence,
        severity: row.severity,
        urgency: row.urgency,
        scope: ScopeView { ids: serde_json::from_str(&row.scope_ids).unwrap_or_default(), kind: row.scope_kind },
        status: row.status,
        proposed_by: row.proposed_by,
        anchored_by: row.anchored_by,
        anchored_at: row.anchored_at,
        closed_at: row.closed_at,
        closing_note: row.closing_note,
        created_at: row.created_at,
    }
}

#[derive(Debug, Serialize)]
pub struct GroupView {
    id: i64,
    name: String,
    description: String,
    member_ids: Vec<i64>,
    /// The poll electing its representatives, when one was opened.
    poll_id: Option<i64>,
}

pub fn group_view(group: deliberation_group::Model, members: Vec<i64>) -> GroupView {
    GroupView {
        id: group.id,
        name: group.name,
        description: group.description,
        member_ids: members,
        poll_id: group.poll_id,
    }
}

#[derive(Debug, Serialize)]
pub struct SeatView {
    id: i64,
    user_id: i64,
    kind: String,
    group_id: Option<i64>,
    chosen_by: String,
    profession: Option<String>,
    reason: Option<String>,
    decided_by: Option<i64>,
    created_at: DateTime<Utc>,
}

pub fn seat_view(seat: deliberation_panel::Model) -> SeatView {
    SeatView {
        id: seat.id,
        user_id: seat.user_id,
        kind: seat.kind,
        group_id: Some(seat.group_id).filter(|g| *g != 0),
        chosen_by: seat.chosen_by,
        profession: seat.profession,
        reason: seat.reason,
        decided_by: seat.decided_by,
        created_at: seat.created_at,
    }
}

#[derive(Debug, Serialize)]
pub struct AttendeeView {
    user_id: i64,
    capacity: String,
    marked_by: i64,
    marked_at: DateTime<Utc>,
}

pub fn attendee_view(row: deliberation_attendee::Model) -> AttendeeView {
    AttendeeView { user_id: row.user_id, capacity: row.capacity, marked_by: row.marked_by, marked_at: row.marked_at }
}

#[derive(Debug, Serialize)]
pub struct MeetingView {
    id: i64,
    chair_id: i64,
    starts_at: DateTime<Utc>,
    place: String,
    agenda: String,
    attendees: Vec<AttendeeView>,
    published_version: Option<i32>,
}

pub fn meeting_view(
    meeting: deliberation_meeting::Model,
    attendees: Vec<AttendeeView>,
    published: Option<i32>,
) -> MeetingView {
    MeetingView {
        id: meeting.id,
        chair_id: meeting.chair_id,
        starts_at: meeting.starts_at,
        place: meeting.place,
        agenda: meeting.agenda,
        attendees,
        published_version: published,
    }
}

fn summary_view(summary: MeetingSummary) -> MeetingView {
    let attendees = summary.attendees.into_iter().map(attendee_view).collect();
    meeting_view(summary.meeting, attendees, summary.published_version)
}

#[derive(Debug, Serialize)]
pub struct MinutesView {
    id: i64,
    meeting_id: i64,
    version: i32,
    text: String,
    decisions: String,
    correction_note: Option<String>,
    written_by: i64,
    signed_off_by: Option<i64>,
    signed_off_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

pub fn minutes_view(row: deliberation_minutes::Model) -> MinutesView {
    MinutesView {
        id: row.id,
        meeting_id: row.meeting_id,
        version: row.version,
        text: row.text,
        decisions: row.decisions,
        correction_note: row.correction_note,
        written_by: row.written_by,
        signed_off_by: row.signed_off_by,
        signed_off_at: row.signed_off_at,
        created_at: row.created_at,
    }
}

#[derive(Debug, Serialize)]
pub struct ResolutionView {
    id: i64,
    owner_id: i64,
    due_on: NaiveDate,
    description: String,
    request_id: i64,
    request_status: Option<String>,
    done: bool,
}

pub fn resolution_view(progress: Progress) -> ResolutionView {
    let row = progress.resolution;
    ResolutionView {
        id: row.id,
        owner_id: row.owner_id,
        due_on: row.due_on,
        description: row.description,
        request_id: row.request_id,
        request_status: progress.request.map(|r| r.status),
        done: progress.done,
    }
}

pub fn overview_json(overview: Overview) -> serde_json::Value {
    let resolutions: Vec<ResolutionView> = overview.resolutions.into_iter().map(resolution_view).collect();
    let done = resolutions.iter().filter(|r| r.done).count();
    let total = resolutions.len();
    serde_json::json!({
        "deliberation": deliberation_view(overview.deliberation),
        "building_ids": overview.building_ids,
        "request_ids": overview.request_ids,
        "groups": overview.groups.into_iter().map(|(g, m)| group_view(g, m)).collect::<Vec<_>>(),
        "panel": overview.panel.into_iter().map(seat_view).collect::<Vec<_>>(),
        "meetings": overview.meetings.into_iter().map(summary_view).collect::<Vec<_>>(),
        "resolutions": resolutions,
        "progress": {"done": done, "total": total},
    })
}
