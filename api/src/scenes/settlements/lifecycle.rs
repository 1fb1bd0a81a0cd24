//! A settlement statement, pure: its statuses and the actions that move them. Every action is a
//! compare-and-set on the status in `store.rs`, so two committee members approving at once, or an
//! approval racing a cancel, change it once.
//!
//! ```text
//! draft ─approve (committee)→ approved ─mark_paid (committee, shops only)→ paid
//!   └─cancel (owner, committee)→ cancelled   (its redemptions are free for another statement)
//! ```
//!
//! A welfare supermarket run by the community is owed no CNY (nor is a shop whose lines all round to
//! ¥0.00): its approved statement is final.

use crate::stored_enum;

stored_enum! {
    pub enum Status {
        Draft => "draft",
        Approved => "approved",
        Paid => "paid",
        Cancelled => "cancelled",
    }
}

stored_enum! {
    pub enum Action {
        /// The committee approves: the points are retired and the CNY owed recorded.
        Approve => "approve",
        /// The committee records the bank transfer to the shop.
        MarkPaid => "mark_paid",
        /// The owner or the committee withdraws a draft.
        Cancel => "cancel",
    }
}

impl Action {
    /// The status after the action, or `None` when it is not allowed from `from`; `pays_cny` says
    /// whether the statement owes the shop money (a welfare supermarket's does not).
    pub fn apply(self, from: Status, pays_cny: bool) -> Option<Status> {
        match (self, from) {
            (Action::Approve, Status::Draft) => Some(Status::Approved),
            (Action::MarkPaid, Status::Approved) if pays_cny => Some(Status::Paid),
            (Action::Cancel, Status::Draft) => Some(Status::Cancelled),
            _ => None,
        }
    }
}

impl Status {
    /// Whether the statement's points have left the merchant's account (approved, paid).
    pub fn is_settled(self) -> bool {
        matches!(self, Status::Approved | Status::Paid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_is_approved_then_paid_or_cancelled_and_nothing_else_moves() {
        assert_eq!(Action::Approve.apply(Status::Draft, true), Some(Status::Approved));
        assert_eq!(Action::MarkPaid.apply(Status::Approved, true), Some(Status::Paid));
        assert_eq!(Action::Cancel.apply(Status::Draft, true), Some(Status::Cancelled));
        assert_eq!(Action::MarkPaid.apply(Status::Approved, false), None, "nothing to pay a welfare supermarket");
        assert_eq!(Action::MarkPaid.apply(Status::Draft, true), None, "approve first");
        for from in [Status::Approved, Status::Paid, Status::Cancelled] {
            assert_eq!(Action::Approve.apply(from, true), None, "{from}");
            assert_eq!(Action::Cancel.apply(from, true), None, "{from}");
        }
        assert_eq!(Action::MarkPaid.apply(Status::Paid, true), None);
        assert!(Status::Approved.is_settled() && Status::Paid.is_settled());
        assert!(!Status::Draft.is_settled() && !Status::Cancelled.is_settled());
    }
}
