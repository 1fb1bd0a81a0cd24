//! The activity state machine, pure: which action moves which status where, who may take it, and
//! when. People's actions and the jobs' system actions (start at the scheduled start, end at the
//! scheduled end) go through the same [`Action::decide`]; the hours scene's approval too.
//!
//! ```text
//! draft ─publish→ published ─start / start_due→ in_progress ─end / end_due→ ended ─approve_hours→ hours_approved
//!   └──cancel──────┴─cancel→ cancelled
//! ```

use chrono::{DateTime, Utc};

use crate::stored_enum;

stored_enum! {
    pub enum Status {
        Draft => "draft",
        Published => "published",
        Cancelled => "cancelled",
        InProgress => "in_progress",
        Ended => "ended",
        HoursApproved => "hours_approved",
    }
}

impl Status {
    /// The word the mini-program shows (≤ 5 characters, as a subscribe `phrase` must be).
    pub fn label(self) -> &'static str {
        match self {
            Status::Draft => "草稿",
            Status::Published => "报名中",
            Status::Cancelled => "已取消",
            Status::InProgress => "进行中",
            Status::Ended => "已结束",
            Status::HoursApproved => "时长已审",
        }
    }

    /// Volunteers may sign up or cancel their sign-up (the deadline applies besides).
    pub fn takes_signups(self) -> bool {
        self == Status::Published
    }

    /// Check-in and check-out are open (the time window applies besides).
    pub fn takes_attendance(self) -> bool {
        matches!(self, Status::Published | Status::InProgress)
    }
}

stored_enum! {
    /// A resident's registration as a volunteer of a community.
    pub enum VolunteerStatus {
        Pending => "pending",
        Approved => "approved",
        Declined => "declined",
        Withdrawn => "withdrawn",
    }
}

stored_enum! {
    /// Who may sign up.
    pub enum Audience {
        Community => "community",
        Grid => "grid",
        Building => "building",
        Team => "team",
    }
}

stored_enum! {
    pub enum Action {
        Publish => "publish",
        Cancel => "cancel",
        Start => "start",
        End => "end",
        /// The job's: the scheduled start has come.
        #[serde(skip_deserializing)]
        StartDue => "start_due",
        /// The job's: the scheduled end has come.
        #[serde(skip_deserializing)]
        EndDue => "end_due",
        /// The hours scene's, once the organiser approved the attendance.
        #[serde(skip_deserializing)]
        ApproveHours => "approve_hours",
    }
}

/// Who takes an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// The committee, a social worker of the community, the leader of the activity's team.
    Organiser,
    /// A background job; no person may take these actions through `/transitions`.
    System,
    /// The hours scene, once an organiser approved the attendance (never through `/transitions`).
    HoursReview,
}

/// What the machine needs to know of an activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    pub status: Status,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// Why an action is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not allowed from this status.
    NotAllowed,
    /// A system action before its time (the job checks, and so does the machine).
    NotYet,
}

impl Action {
    pub fn actor(self) -> ActorKind {
        match self {
            Action::Publish | Action::Cancel | Action::Start | Action::End => ActorKind::Organiser,
            Action::StartDue | Action::EndDue => ActorKind::System,
            Action::ApproveHours => ActorKind::HoursReview,
        }
    }

    /// The status the action leads to from `from`, or `None` when it is not allowed from there.
    pub fn apply(self, from: Status) -> Option<Status> {
        use Status::*;
        let to = match (self, from) {
            (Action::Publish, Draft) => Published,
            (Action::Cancel, Draft | Published) => Cancelled,
            (Action::Start | Action::StartDue, Published) => InProgress,
            (Action::End | Action::EndDue, InProgress) => Ended,
            // A published activity nobody started by hand ends at its end, passing through in progress.
            (Action::EndDue, Published) => Ended,
            (Action::ApproveHours, Ended) => HoursApproved,
            _ => return None,
        };
        Some(to)
    }

    /// Whether the action is allowed from `state` at `now`, and the status it leads to.
    pub fn decide(self, state: &State, now: DateTime<Utc>) -> Result<Status, Refusal> {
        let to = self.apply(state.status).ok_or(Refusal::NotAllowed)?;
        let due = match self {
            Action::StartDue => now >= state.starts_at,
            Action::EndDue => now >= state.ends_at,
            _ => true,
        };
        if !due {
            return Err(Refusal::NotYet);
        }
        Ok(to)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000, 0).unwrap()
    }

    fn state(status: Status) -> State {
        State { status, starts_at: now() + Duration::hours(1), ends_at: now() + Duration::hours(3) }
    }

    #[test]
    fn the_happy_path() {
        let mut status = Status::Draft;
        for action in [Action::Publish, Action::Start, Action::End, Action::ApproveHours] {
            status = action.apply(status).unwrap_or_else(|| panic!("{action:?} from {status:?}"));
        }
        assert_eq!(status, Status::HoursApproved);
    }

    #[test]
    fn finished_activities_accept_nothing() {
        for status in [Status::Cancelled, Status::HoursApproved] {
            for action in Action::ALL {
                assert_eq!(action.apply(status), None, "{action:?} from {status:?}");
            }
        }
        assert_eq!(Action::Cancel.apply(Status::InProgress), None);
        assert_eq!(Action::ApproveHours.apply(Status::InProgress), None);
    }

    #[test]
    fn system_actions_wait_for_their_time_and_are_not_for_people() {
        let published = state(Status::Published);
        assert_eq!(Action::StartDue.decide(&published, now()), Err(Refusal::NotYet));
        assert_eq!(Action::StartDue.decide(&published, now() + Duration::hours(1)), Ok(Status::InProgress));
        let running = state(Status::InProgress);
        assert_eq!(Action::EndDue.decide(&running, now() + Duration::hours(2)), Err(Refusal::NotYet));
        assert_eq!(Action::EndDue.decide(&running, now() + Duration::hours(3)), Ok(Status::Ended));
        assert_eq!(Action::EndDue.decide(&published, now() + Duration::hours(3)), Ok(Status::Ended));
        assert_eq!(Action::Start.decide(&published, now()), Ok(Status::InProgress));
        for action in [Action::StartDue, Action::EndDue, Action::ApproveHours] {
            let parsed: Result<Action, _> = serde_json::from_value(serde_json::json!(action.as_str()));
            assert!(parsed.is_err(), "{action:?} must not come from a request body");
        }
        assert_eq!(Action::StartDue.actor(), ActorKind::System);
    }
}
