//! The help post's states and who may move them, pure: people's actions and the jobs' system actions
//! go through [`next`], so no job writes a status this machine did not decide.
//!
//! ```text
//! open ──claim──▶ claimed ──complete──▶ done ──confirm──▶ confirmed
//!  │  ◀─withdraw──┘  │                   │
//!  │                 cancel              └─escalate (7 days, job)─▶ disputed ──decide──▶ resolved
//!  ├─cancel─▶ cancelled ◀────────────────┘                              └─confirm (late)─▶ confirmed
//!  └─expire (job, past its date)─▶ expired
//! ```

use crate::stored_enum;

stored_enum! {
    /// A need (someone asks) or an offer (someone gives).
    pub enum Kind { Need => "need", Offer => "offer" }
}

stored_enum! {
    /// Where a post is in its life.
    pub enum Status {
        Open => "open",
        Claimed => "claimed",
        Done => "done",
        Confirmed => "confirmed",
        Disputed => "disputed",
        Resolved => "resolved",
        Cancelled => "cancelled",
        Expired => "expired",
    }
}

stored_enum! {
    /// Whether others see it: published, held by the text check, or hidden by a report.
    pub enum Moderation { Published => "published", Held => "held", Reported => "reported" }
}

stored_enum! {
    /// How the committee decides a disputed post.
    pub enum Outcome { Pay => "pay", Release => "release", Split => "split" }
}

stored_enum! {
    /// The categories residents pick from (代买菜, 陪诊, 小修理, 照看, 其他).
    pub enum Category {
        Groceries => "groceries",
        Escort => "escort",
        Repair => "repair",
        Care => "care",
        Other => "other",
    }
}

/// Who acts, as far as the machine cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Author,
    Helper,
    /// A member of the community who is neither.
    Neighbour,
    Committee,
    System,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Claim,
    Withdraw,
    Complete,
    Confirm,
    Cancel,
    /// The job: unconfirmed for 7 days after the helper marked it done.
    Escalate,
    /// The job: past its date with nobody claiming it.
    Expire,
    Decide,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Claim => "claim",
            Action::Withdraw => "withdraw",
            Action::Complete => "complete",
            Action::Confirm => "confirm",
            Action::Cancel => "cancel",
            Action::Escalate => "escalate",
            Action::Expire => "expire",
            Action::Decide => "decide",
        }
    }
}

/// The status `action` by `role` leads to from `from`, or `None` when it is not allowed.
pub fn next(from: Status, action: Action, role: Role) -> Option<Status> {
    use Action as A;
    use Role as R;
    use Status as S;
    match (from, action, role) {
        (S::Open, A::Claim, R::Neighbour) => Some(S::Claimed),
        (S::Claimed, A::Withdraw, R::Helper) => Some(S::Open),
        (S::Claimed, A::Complete, R::Helper) => Some(S::Done),
        (S::Done | S::Disputed, A::Confirm, R::Author) => Some(S::Confirmed),
        (S::Open | S::Claimed, A::Cancel, R::Author) => Some(S::Cancelled),
        (S::Done, A::Escalate, R::System) => Some(S::Disputed),
        (S::Open, A::Expire, R::System) => Some(S::Expired),
        (S::Disputed, A::Decide, R::Committee) => Some(S::Resolved),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_way_through() {
        assert_eq!(next(Status::Open, Action::Claim, Role::Neighbour), Some(Status::Claimed));
        assert_eq!(next(Status::Open, Action::Claim, Role::Author), None);
        assert_eq!(next(Status::Done, Action::Cancel, Role::Author), None);
        assert_eq!(next(Status::Done, Action::Confirm, Role::Helper), None);
        assert_eq!(next(Status::Claimed, Action::Expire, Role::System), None);
        assert_eq!(next(Status::Disputed, Action::Confirm, Role::Author), Some(Status::Confirmed));
        assert_eq!(next(Status::Resolved, Action::Decide, Role::Committee), None);
    }
}
