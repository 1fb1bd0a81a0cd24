//! The request state machine, pure: which action moves which status where, who may take it, and what
//! else it changes. People's actions and the jobs' system actions (escalate when overdue, close when the
//! reporter did not confirm in time) go through the same [`Action::decide`].
//!
//! ```text
//! submitted ─accept→ accepted ─start→ in_progress ─resolve→ resolved ─confirm→ confirmed
//!     │  (resolve, reject, escalate, withdraw from any open status)      └─reopen (≤ 7 days)→ reopened
//!     └─escalate→ escalated ─accept→ …            resolved ─(7 days, job)→ closed_timeout
//! ```

use chrono::{DateTime, Duration, Utc};

use crate::stored_enum;

stored_enum! {
    pub enum Status {
        Submitted => "submitted",
        Accepted => "accepted",
        InProgress => "in_progress",
        Escalated => "escalated",
        Reopened => "reopened",
        Resolved => "resolved",
        Confirmed => "confirmed",
        ClosedTimeout => "closed_timeout",
        Rejected => "rejected",
        Withdrawn => "withdrawn",
    }
}

impl Status {
    /// The word the mini-program shows (≤ 5 characters, as a subscribe `phrase` must be).
    pub fn label(self) -> &'static str {
        match self {
            Status::Submitted => "已提交",
            Status::Accepted => "已受理",
            Status::InProgress => "处理中",
            Status::Escalated => "已升级",
            Status::Reopened => "已重开",
            Status::Resolved => "已解决",
            Status::Confirmed => "已确认",
            Status::ClosedTimeout => "超时关闭",
            Status::Rejected => "已驳回",
            Status::Withdrawn => "已撤回",
        }
    }

    /// Waiting for a handler: counts against the SLA.
    pub fn is_open(self) -> bool {
        matches!(self, Status::Submitted | Status::Accepted | Status::InProgress | Status::Escalated | Status::Reopened)
    }

    /// Closed as resolved: confirmed by the reporter, or closed when they did not answer in time (the
    /// statistics' resolution rate counts these).
    pub fn is_resolved(self) -> bool {
        matches!(self, Status::Confirmed | Status::ClosedTimeout)
    }
}

stored_enum! {
    /// Whether the community sees a request: the text check (or the committee) decides.
    pub enum Moderation {
        Published => "published",
        /// Held for the committee: the text check asked for a human, or did not answer.
        Held => "held",
    }
}

impl Moderation {
    pub fn label(self) -> &'static str {
        match self {
            Moderation::Published => "已发布",
            Moderation::Held => "待审核",
        }
    }
}

stored_enum! {
    pub enum Urgency {
        Normal => "normal",
        Urgent => "urgent",
    }
}

impl Urgency {
    pub fn label(self) -> &'static str {
        match self {
            Urgency::Normal => "一般",
            Urgency::Urgent => "紧急",
        }
    }
}

stored_enum! {
    /// The levels a request climbs when it is escalated.
    pub enum Level {
        BuildingLeader => "building_leader",
        GridWorker => "grid_worker",
        Committee => "committee",
        Street => "street",
    }
}

impl Level {
    /// Who handles a request at this level, as residents call them.
    pub fn label(self) -> &'static str {
        match self {
            Level::BuildingLeader => "楼长",
            Level::GridWorker => "网格员",
            Level::Committee => "居委会",
            Level::Street => "街道",
        }
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

stored_enum! {
    pub enum Action {
        Accept => "accept",
        Start => "start",
        Resolve => "resolve",
        Confirm => "confirm",
        Reopen => "reopen",
        Reject => "reject",
        Escalate => "escalate",
        Withdraw => "withdraw",
        Reassign => "reassign",
        Release => "release",
        /// The job's: the SLA ran out, one level up.
        #[serde(skip_deserializing)]
        EscalateOverdue => "escalate_overdue",
        /// The job's: resolved, and the reporter did not confirm within the window.
        #[serde(skip_deserializing)]
        CloseUnconfirmed => "close_unconfirmed",
    }
}

stored_enum! {
    /// What a timeline entry records.
    pub enum EventKind {
        Submitted => "submitted",
        Held => "held",
        Transition => "transition",
        Escalated => "escalated",
        Reassigned => "reassigned",
        Released => "released",
        Comment => "comment",
        Rated => "rated",
        MeToo => "me_too",
    }
}

stored_enum! {
    /// The capacity someone acted in, as the timeline shows it.
    pub enum ActingRole {
        Reporter => "reporter",
        Neighbour => "neighbour",
        Assignee => "assignee",
        BuildingLeader => "building_leader",
        GridWorker => "grid_worker",
        Committee => "committee",
        Admin => "admin",
        System => "system",
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
    /// The background job; no person may take these actions.
    System,
}

/// What the state machine needs to know of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    pub status: Status,
    pub moderation: Moderation,
    pub level: Level,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Why an action is refused from a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not allowed from this status (or moderation state, or level).
    NotAllowed,
    /// Reopening is allowed only within the confirmation window after resolution.
    ReopenWindowClosed,
}

/// Which columns besides the status an allowed action changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    None,
    /// Sets `resolved_at` (the confirmation window starts).
    Resolve,
    /// Clears `resolved_at` and restarts the resolution deadline.
    Reopen,
    /// Sets `closed_at`.
    Close,
    /// Routes the request to this level (or the first one above it with someone to take it), with
    /// fresh deadlines.
    EscalateTo(Level),
    /// Gives the request to the named assignee.
    Reassign,
    /// Publishes held content.
    Publish,
}

/// The outcome of an allowed action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub to: Status,
    pub effect: Effect,
    pub event: EventKind,
    /// The first handler action answers the request: response time is measured to it.
    pub answers: bool,
}

impl Action {
    /// Who may take the action at all.
    pub fn actor(self) -> ActorKind {
        match self {
            Action::Accept | Action::Start | Action::Resolve | Action::Reject | Action::Escalate => ActorKind::Handler,
            Action::Confirm | Action::Reopen | Action::Withdraw => ActorKind::Reporter,
            Action::Reassign => ActorKind::Supervisor,
            Action::Release => ActorKind::Moderator,
            Action::EscalateOverdue | Action::CloseUnconfirmed => ActorKind::System,
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
            (Action::Escalate | Action::EscalateOverdue, s) if s.is_open() => Escalated,
            (Action::Withdraw, s) if s.is_open() => Withdrawn,
            (Action::Reassign, s) if s.is_open() => s,
            (Action::Release, s) => s,
            (Action::CloseUnconfirmed, Resolved) => ClosedTimeout,
            _ => return None,
        };
        Some(to)
    }

    /// Whether the action is allowed from `state` at `now`, and what it changes.
    pub fn decide(self, state: &State, now: DateTime<Utc>, confirm_window: Duration) -> Result<Decision, Refusal> {
        let to = self.apply(state.status).ok_or(Refusal::NotAllowed)?;
        let effect = match self {
            Action::Resolve => Effect::Resolve,
            Action::Reopen => {
                if state.resolved_at.is_none_or(|at| now > at + confirm_window) {
                    return Err(Refusal::ReopenWindowClosed);
                }
                Effect::Reopen
            }
            Action::Confirm | Action::Reject | Action::Withdraw | Action::CloseUnconfirmed => Effect::Close,
            Action::Escalate | Action::EscalateOverdue => {
                Effect::EscalateTo(state.level.next().ok_or(Refusal::NotAllowed)?)
            }
            Action::Reassign => Effect::Reassign,
            Action::Release if state.moderation == Moderation::Held => Effect::Publish,
            Action::Release => return Err(Refusal::NotAllowed),
            Action::Accept | Action::Start => Effect::None,
        };
        let event = match self {
            Action::Escalate | Action::EscalateOverdue => EventKind::Escalated,
            Action::Reassign => EventKind::Reassigned,
            Action::Release => EventKind::Released,
            _ => EventKind::Transition,
        };
        let answers = matches!(self, Action::Accept | Action::Start | Action::Resolve | Action::Reject);
        Ok(Decision { to, effect, event, answers })
    }

    /// Actions whose note is the reason and must be given.
    pub fn needs_note(self) -> bool {
        matches!(self, Action::Reject | Action::Escalate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed instant: the machine is pure, it needs no clock.
    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000, 0).unwrap()
    }

    fn state(status: Status) -> State {
        State { status, moderation: Moderation::Published, level: Level::BuildingLeader, resolved_at: None }
    }

    #[test]
    fn finished_requests_accept_nothing_but_release() {
        for status in [Status::Confirmed, Status::ClosedTimeout, Status::Rejected, Status::Withdrawn] {
            for action in Action::ALL {
                let allowed = action.apply(status).is_some();
                assert_eq!(allowed, *action == Action::Release, "{action:?} from {status:?}");
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
            assert_eq!(Status::parse(status.as_str()), Some(*status));
        }
        let at_street = State { level: Level::Street, ..state(Status::Escalated) };
        let window = Duration::days(7);
        assert_eq!(Action::EscalateOverdue.decide(&at_street, now(), window), Err(Refusal::NotAllowed));
    }

    #[test]
    fn system_actions_move_like_people_and_are_for_the_system_only() {
        let now = now();
        let window = Duration::days(7);
        let escalated = Action::EscalateOverdue.decide(&state(Status::Accepted), now, window).unwrap();
        assert_eq!(escalated.to, Status::Escalated);
        assert_eq!(escalated.effect, Effect::EscalateTo(Level::GridWorker));
        let resolved = State { resolved_at: Some(now - Duration::days(8)), ..state(Status::Resolved) };
        assert_eq!(Action::CloseUnconfirmed.decide(&resolved, now, window).unwrap().to, Status::ClosedTimeout);
        assert_eq!(Action::CloseUnconfirmed.decide(&state(Status::InProgress), now, window), Err(Refusal::NotAllowed));
        assert_eq!(Action::Reopen.decide(&resolved, now, window), Err(Refusal::ReopenWindowClosed));
        for action in [Action::EscalateOverdue, Action::CloseUnconfirmed] {
            assert_eq!(action.actor(), ActorKind::System);
            let parsed: Result<Action, _> = serde_json::from_value(serde_json::json!(action.as_str()));
            assert!(parsed.is_err(), "{action:?} must not come from a request body");
        }
    }

    #[test]
    fn release_needs_held_content() {
        let now = now();
        let window = Duration::days(7);
        assert_eq!(Action::Release.decide(&state(Status::Accepted), now, window), Err(Refusal::NotAllowed));
        let held = State { moderation: Moderation::Held, ..state(Status::Accepted) };
        assert_eq!(Action::Release.decide(&held, now, window).unwrap().effect, Effect::Publish);
    }
}
