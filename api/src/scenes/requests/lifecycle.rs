//! The request state machine, pure: which action moves which status where, and who may take it.
//!
//! ```text
//! submitted ─accept→ accepted ─start→ in_progress ─resolve→ resolved ─confirm→ confirmed
//!     │  (resolve, reject, escalate, withdraw from any open status)      └─reopen (≤ 7 days)→ reopened
//!     └─escalate→ escalated ─accept→ …            resolved ─(7 days, job)→ closed_timeout
//! ```

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Submitted,
    Accepted,
    InProgress,
    Escalated,
    Reopened,
    Resolved,
    Confirmed,
    ClosedTimeout,
    Rejected,
    Withdrawn,
}

impl Status {
    pub const ALL: [Status; 10] = [
        Status::Submitted,
        Status::Accepted,
        Status::InProgress,
        Status::Escalated,
        Status::Reopened,
        Status::Resolved,
        Status::Confirmed,
        Status::ClosedTimeout,
        Status::Rejected,
        Status::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Submitted => "submitted",
            Status::Accepted => "accepted",
            Status::InProgress => "in_progress",
            Status::Escalated => "escalated",
            Status::Reopened => "reopened",
            Status::Resolved => "resolved",
            Status::Confirmed => "confirmed",
            Status::ClosedTimeout => "closed_timeout",
            Status::Rejected => "rejected",
            Status::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Waiting for a handler: counts against the SLA.
    pub fn is_open(self) -> bool {
        matches!(self, Status::Submitted | Status::Accepted | Status::InProgress | Status::Escalated | Status::Reopened)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Accept,
    Start,
    Resolve,
    Confirm,
    Reopen,
    Reject,
    Escalate,
    Withdraw,
    Reassign,
    Release,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::Accept,
        Action::Start,
        Action::Resolve,
        Action::Confirm,
        Action::Reopen,
        Action::Reject,
        Action::Escalate,
        Action::Withdraw,
        Action::Reassign,
        Action::Release,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Start => "start",
            Action::Resolve => "resolve",
            Action::Confirm => "confirm",
            Action::Reopen => "reopen",
            Action::Reject => "reject",
            Action::Escalate => "escalate",
            Action::Withdraw => "withdraw",
            Action::Reassign => "reassign",
            Action::Release => "release",
        }
    }

    /// Who may take the action at all.
    pub fn actor(self) -> ActorKind {
        match self {
            Action::Accept | Action::Start | Action::Resolve | Action::Reject | Action::Escalate => ActorKind::Handler,
            Action::Confirm | Action::Reopen | Action::Withdraw => ActorKind::Reporter,
            Action::Reassign => ActorKind::Supervisor,
            Action::Release => ActorKind::Moderator,
        }
    }

    /// The status the action leads to from `from`, or `None` when it is not allowed from there.
    pub fn apply(self, from: Status) -> Option<Status> {
        use Status::*;
        let to = match (self, from) {
            (Action::Accept, Submitted | Escalated | Reopened) => Accepted,
            (Action::Start, Accepted | Reopened) => InProgress,
            (Action::Resolve, s) if s.is_open() => Resolved,
            (Action::Confirm, Resolved) => Confirmed,
            (Action::Reopen, Resolved) => Reopened,
            (Action::Reject, s) if s.is_open() => Rejected,
            (Action::Escalate, s) if s.is_open() => Escalated,
            (Action::Withdraw, s) if s.is_open() => Withdrawn,
            (Action::Reassign, s) if s.is_open() => s,
            (Action::Release, s) => s,
            _ => return None,
        };
        Some(to)
    }

    /// Actions whose note is the reason and must be given.
    pub fn needs_note(self) -> bool {
        matches!(self, Action::Reject | Action::Escalate)
    }

    /// A handler's first action answers the request (response time is measured to it).
    pub fn is_response(self) -> bool {
        matches!(self, Action::Accept | Action::Start | Action::Resolve | Action::Reject)
    }
}

/// The kinds of caller an action is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// The assignee, or anyone whose scope covers the request (its building's leader, its grid's
    /// worker, the committee, an admin).
    Handler,
    /// The resident who reported it.
    Reporter,
    /// The committee, the grid's worker, an admin: they route work.
    Supervisor,
    /// The committee or an admin: they release held content.
    Moderator,
}

/// The levels a request climbs when it is escalated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    BuildingLeader,
    GridWorker,
    Committee,
    Street,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::BuildingLeader => "building_leader",
            Level::GridWorker => "grid_worker",
            Level::Committee => "committee",
            Level::Street => "street",
        }
    }

    pub fn parse(text: &str) -> Option<Level> {
        [Level::BuildingLeader, Level::GridWorker, Level::Committee, Level::Street]
            .into_iter()
            .find(|l| l.as_str() == text)
    }

    pub fn next(self) -> Option<Level> {
        match self {
            Level::BuildingLeader => Some(Level::GridWorker),
            Level::GridWorker => Some(Level::Committee),
            Level::Committee => Some(Level::Street),
            Level::Street => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_requests_accept_nothing_but_release() {
        for status in [Status::Confirmed, Status::ClosedTimeout, Status::Rejected, Status::Withdrawn] {
            for action in Action::ALL {
                let allowed = action.apply(status).is_some();
                assert_eq!(allowed, action == Action::Release, "{action:?} from {status:?}");
            }
        }
    }

    #[test]
    fn the_happy_path_and_reopen() {
        let mut status = Status::Submitted;
        for action in [
            Action::Accept,
            Action::Start,
            Action::Resolve,
            Action::Reopen,
            Action::Start,
            Action::Resolve,
            Action::Confirm,
        ] {
            status = action.apply(status).unwrap_or_else(|| panic!("{action:?} from {status:?}"));
        }
        assert_eq!(status, Status::Confirmed);
        assert_eq!(Action::Confirm.apply(Status::InProgress), None);
        assert_eq!(Action::Reopen.apply(Status::Confirmed), None);
    }

    #[test]
    fn levels_climb_to_the_street_and_stop() {
        assert_eq!(Level::BuildingLeader.next(), Some(Level::GridWorker));
        assert_eq!(Level::Street.next(), None);
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
    }
}
