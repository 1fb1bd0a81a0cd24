//! The deliberation state machine, pure ("烦事有计倾"):
//!
//! ```text
//! proposed ─anchor→ anchored ─choose_representatives→ representatives_chosen ─(first meeting)→ meeting
//!   meeting ─resolve→ resolved ─(every resolution's request confirmed; job)→ carried_out
//!   close (committee, with a reason) from any status before carried_out → closed
//! ```
//!
//! The facts an action depends on (groups and their representatives, signed minutes, resolutions)
//! are counted by the service and handed in, so the rules stay here.

use crate::stored_enum;

stored_enum! {
    pub enum Status {
        Proposed => "proposed",
        Anchored => "anchored",
        RepresentativesChosen => "representatives_chosen",
        Meeting => "meeting",
        Resolved => "resolved",
        CarriedOut => "carried_out",
        Closed => "closed",
    }
}

impl Status {
    pub fn is_finished(self) -> bool {
        matches!(self, Status::CarriedOut | Status::Closed)
    }

    /// Stakeholder groups and their representatives are formed once the issue is anchored.
    pub fn forms_groups(self) -> bool {
        self == Status::Anchored
    }

    /// Professionals may join the panel until the resolutions are made.
    pub fn invites_professionals(self) -> bool {
        matches!(self, Status::Anchored | Status::RepresentativesChosen | Status::Meeting)
    }

    /// Meetings are held once the representatives are chosen.
    pub fn holds_meetings(self) -> bool {
        matches!(self, Status::RepresentativesChosen | Status::Meeting)
    }

    /// Resolutions are recorded while meeting.
    pub fn records_resolutions(self) -> bool {
        self == Status::Meeting
    }

    /// The status once a meeting is scheduled.
    pub fn after_meeting_scheduled(self) -> Option<Status> {
        self.holds_meetings().then_some(Status::Meeting)
    }

    /// The job's system action: every resolution carried out.
    pub fn after_carried_out(self) -> Option<Status> {
        (self == Status::Resolved).then_some(Status::CarriedOut)
    }
}

stored_enum! {
    pub enum Severity {
        Low => "low",
        Medium => "medium",
        High => "high",
    }
}

stored_enum! {
    pub enum Urgency {
        Normal => "normal",
        Urgent => "urgent",
    }
}

stored_enum! {
    /// A seat on the panel.
    pub enum PanelKind {
        Representative => "representative",
        Professional => "professional",
    }
}

stored_enum! {
    /// How a representative came to sit on the panel.
    pub enum ChosenBy {
        /// By the committee, with a reason.
        Appointed => "appointed",
        /// By a poll restricted to the group.
        Elected => "elected",
        /// Professionals are invited.
        Invited => "invited",
    }
}

stored_enum! {
    pub enum Profession {
        Lawyer => "lawyer",
        Accountant => "accountant",
        Engineer => "engineer",
        Other => "other",
    }
}

stored_enum! {
    /// Why someone attended a meeting.
    pub enum Capacity {
        Representative => "representative",
        Professional => "professional",
        Committee => "committee",
    }
}

stored_enum! {
    pub enum Action {
        Anchor => "anchor",
        ChooseRepresentatives => "choose_representatives",
        Resolve => "resolve",
        Close => "close",
    }
}

/// Representatives per stakeholder group.
pub const REPRESENTATIVES_MIN: usize = 1;
pub const REPRESENTATIVES_MAX: usize = 3;

/// What the service counted for an action.
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts {
    pub groups: usize,
    /// Groups with 1 to 3 representatives.
    pub groups_represented: usize,
    pub signed_minutes: usize,
    pub resolutions: usize,
}

/// Why an action does not apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    WrongStatus,
    RepresentativesIncomplete,
    MinutesNotSignedOff,
    NoResolutions,
}

impl Action {
    pub fn needs_note(self) -> bool {
        self == Action::Close
    }

    pub fn decide(self, from: Status, facts: Facts) -> Result<Status, Refusal> {
        match (self, from) {
            (Action::Anchor, Status::Proposed) => Ok(Status::Anchored),
            (Action::ChooseRepresentatives, Status::Anchored) => {
                if facts.groups == 0 || facts.groups_represented < facts.groups {
                    Err(Refusal::RepresentativesIncomplete)
                } else {
                    Ok(Status::RepresentativesChosen)
                }
            }
            (Action::Resolve, Status::Meeting) if facts.signed_minutes == 0 => Err(Refusal::MinutesNotSignedOff),
            (Action::Resolve, Status::Meeting) if facts.resolutions == 0 => Err(Refusal::NoResolutions),
            (Action::Resolve, Status::Meeting) => Ok(Status::Resolved),
            (Action::Close, from) if !from.is_finished() => Ok(Status::Closed),
            _ => Err(Refusal::WrongStatus),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_from_proposal_to_carried_out() {
        let ready = Facts { groups: 2, groups_represented: 2, signed_minutes: 1, resolutions: 1 };
        assert_eq!(Action::Anchor.decide(Status::Proposed, ready), Ok(Status::Anchored));
        assert_eq!(Action::ChooseRepresentatives.decide(Status::Anchored, ready), Ok(Status::RepresentativesChosen));
        assert_eq!(Status::RepresentativesChosen.after_meeting_scheduled(), Some(Status::Meeting));
        assert_eq!(Action::Resolve.decide(Status::Meeting, ready), Ok(Status::Resolved));
        assert_eq!(Status::Resolved.after_carried_out(), Some(Status::CarriedOut));
        assert_eq!(Action::Close.decide(Status::CarriedOut, ready), Err(Refusal::WrongStatus));
    }

    #[test]
    fn preconditions_refuse() {
        let half = Facts { groups: 2, groups_represented: 1, ..Facts::default() };
        assert_eq!(
            Action::ChooseRepresentatives.decide(Status::Anchored, half),
            Err(Refusal::RepresentativesIncomplete)
        );
        let none = Facts::default();
        assert_eq!(
            Action::ChooseRepresentatives.decide(Status::Anchored, none),
            Err(Refusal::RepresentativesIncomplete)
        );
        assert_eq!(Action::Resolve.decide(Status::Meeting, none), Err(Refusal::MinutesNotSignedOff));
        let signed = Facts { signed_minutes: 1, ..none };
        assert_eq!(Action::Resolve.decide(Status::Meeting, signed), Err(Refusal::NoResolutions));
        assert_eq!(Action::Anchor.decide(Status::Anchored, none), Err(Refusal::WrongStatus));
        assert_eq!(Status::Proposed.after_meeting_scheduled(), None);
    }
}
