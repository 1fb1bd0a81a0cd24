//! How a request is shown: in full to its reporter and handlers, with the reporter anonymised to the
//! rest of the community.

use chrono::{DateTime, Utc};
use ehome_entities::{request_event, service_request, user};
use serde::Serialize;

use crate::authz::RequestAccess;
use crate::domain::phone;

#[derive(Debug, Serialize)]
pub struct ReporterView {
    pub id: Option<i64>,
    pub nickname: String,
    /// Masked; only handlers and the reporter see it.
    pub phone: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RequestView {
    pub id: i64,
    pub community_id: i64,
    pub category_id: i64,
    pub grid_id: i64,
    pub building_id: i64,
    pub title: String,
    pub description: String,
    pub location: Option<String>,
    pub photos: Vec<String>,
    pub urgency: String,
    pub anonymous: bool,
    pub status: String,
    /// `published`, or `held` for committee moderation (shown only to the reporter and handlers).
    pub moderation: String,
    pub assignee_level: String,
    pub assignee_id: Option<i64>,
    pub escalation_level: i32,
    pub interest_count: i32,
    pub response_due_at: DateTime<Utc>,
    pub resolution_due_at: DateTime<Utc>,
    pub response_overdue: bool,
    pub resolution_overdue: bool,
    pub overdue: bool,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub rating: Option<i32>,
    pub rating_text: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub reporter: Option<ReporterView>,
}

/// (response overdue, resolution overdue) at `now`.
pub fn overdue(request: &service_request::Model, now: DateTime<Utc>) -> (bool, bool) {
    let response = request.is_open && request.first_response_at.is_none() && request.response_due_at < now;
    let resolution = request.is_open && request.resolution_due_at < now;
    (response, resolution)
}

/// The last instant up to which [`overdue`] answers as it does at `at`: the earliest due time not yet
/// passed at `at` (a due time counts as passed only after it). None when nothing can change any more.
pub fn overdue_stands_until(request: &service_request::Model, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if !request.is_open {
        return None;
    }
    let response = request.first_response_at.is_none().then_some(request.response_due_at);
    [response, Some(request.resolution_due_at)].into_iter().flatten().filter(|due| *due >= at).min()
}

/// Whether a reader with this access sees the reporter in full (id and masked phone).
pub fn sees_reporter(access: &RequestAccess) -> bool {
    access.handler || access.reporter
}

pub fn request_view(
    request: service_request::Model,
    reporter: Option<&user::Model>,
    access: RequestAccess,
    now: DateTime<Utc>,
) -> RequestView {
    let (response_overdue, resolution_overdue) = overdue(&request, now);
    let full = sees_reporter(&access);
    let reporter = match reporter {
        Some(user) if full => Some(ReporterView {
            id: Some(user.id),
            nickname: user.nickname.clone(),
            phone: user.phone.as_deref().map(phone::mask),
        }),
        Some(user) if !request.anonymous => {
            Some(ReporterView { id: None, nickname: user.nickname.clone(), phone: None })
        }
        _ => None,
    };
    RequestView {
        id: request.id,
        community_id: request.community_id,
        category_id: request.category_id,
        grid_id: request.grid_id,
        building_id: request.building_id,
        title: request.title,
        description: request.description,
        location: request.location,
        photos: serde_json::from_str(&request.photos).unwrap_or_default(),
        urgency: request.urgency,
        anonymous: request.anonymous,
        status: request.status,
        moderation: request.moderation,
        assignee_level: request.assignee_level,
        assignee_id: request.assignee_id,
        escalation_level: request.escalation_level,
        interest_count: request.interest_count,
        response_due_at: request.response_due_at,
        resolution_due_at: request.resolution_due_at,
        response_overdue,
        resolution_overdue,
        overdue: response_overdue || resolution_overdue,
        first_response_at: request.first_response_at,
        resolved_at: request.resolved_at,
        closed_at: request.closed_at,
        rating: request.rating,
        rating_text: request.rating_text,
        created_at: request.created_at,
        updated_at: request.updated_at,
        reporter,
    }
}

#[derive(Debug, Serialize)]
pub struct EventView {
    pub id: i64,
    pub kind: String,
    /// Who acted: a user id, or null for the system (escalation and timeout jobs). Hidden from the
    /// public for the reporter of an anonymous request.
    pub actor_id: Option<i64>,
    pub actor_role: Option<String>,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub assignee_id: Option<i64>,
    pub note: Option<String>,
    pub internal: bool,
    pub created_at: DateTime<Utc>,
}

pub fn event_view(event: request_event::Model, hide_reporter: Option<i64>) -> EventView {
    let actor_id = event.actor_id.filter(|id| Some(*id) != hide_reporter);
    EventView {
        id: event.id,
        kind: event.kind,
        actor_id,
        actor_role: event.actor_role,
        from_status: event.from_status,
        to_status: event.to_status,
        assignee_id: event.assignee_id,
        note: event.note,
        internal: event.internal,
        created_at: event.created_at,
    }
}

/// A request for unit tests: submitted at `at`, open and published, in building 4 of grid 3 of
/// community 1, category 2, answer due in 4 hours and resolution in 24.
#[cfg(test)]
pub(crate) fn submitted_at(at: DateTime<Utc>) -> service_request::Model {
    service_request::Model {
        id: 7,
        community_id: 1,
        category_id: 2,
        grid_id: 3,
        building_id: 4,
        reporter_id: 5,
        title: "路灯不亮".to_owned(),
        description: "楼道路灯不亮".to_owned(),
        location: None,
        photos: "[]".to_owned(),
        urgency: "normal".to_owned(),
        anonymous: false,
        status: "submitted".to_owned(),
        is_open: true,
        moderation: "published".to_owned(),
        assignee_level: "building_leader".to_owned(),
        assignee_id: None,
        escalation_level: 0,
        interest_count: 0,
        response_due_at: at + chrono::Duration::hours(4),
        resolution_due_at: at + chrono::Duration::hours(24),
        first_response_at: None,
        resolved_at: None,
        closed_at: None,
        rating: None,
        rating_text: None,
        created_at: at,
        updated_at: at,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    /// `overdue` answers the same at every instant from `at` up to what `overdue_stands_until` says,
    /// and otherwise just after it, for every state a request's due times can be in.
    #[test]
    fn the_overdue_figures_stand_until_the_next_due_time_passes() {
        let start = Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap();
        let mut answered = submitted_at(start);
        answered.first_response_at = Some(start + Duration::hours(1));
        let mut closed = submitted_at(start);
        closed.is_open = false;
        for model in [submitted_at(start), answered, closed] {
            for hours in [0, 3, 4, 5, 23, 24, 30] {
                let at = start + Duration::hours(hours) - Duration::seconds(1);
                let until = overdue_stands_until(&model, at);
                let last = until.unwrap_or(at + Duration::days(365));
                for t in [at, at + (last - at) / 2, last] {
                    assert_eq!(overdue(&model, t), overdue(&model, at), "{hours} h: {t}");
                }
                if let Some(until) = until {
                    assert_ne!(overdue(&model, until + Duration::milliseconds(1)), overdue(&model, at), "{hours} h");
                }
            }
        }
    }
}
