//! A redemption, pure: the one-time code's statuses and the actions that move them. Every action is
//! a compare-and-set on the status in `store.rs`, so of a capture, a cancel, the expiry job and a
//! suspension racing on one code exactly one wins.
//!
//! ```text
//! issued ─capture (staff)→ captured ─refund (shop ≤ 7 days, committee)→ refunded
//!   ├─cancel (resident) / void (suspension)→ cancelled
//!   └─expire (job, after 5 minutes)→ expired
//! ```

use crate::stored_enum;

/// How long a code (and its hold) lives.
pub const CODE_TTL_SECONDS: u32 = 300;

stored_enum! {
    pub enum Status {
        Issued => "issued",
        Captured => "captured",
        Cancelled => "cancelled",
        Expired => "expired",
        Refunded => "refunded",
    }
}

stored_enum! {
    pub enum Action {
        /// The shop's staff redeem the code at the counter.
        Capture => "capture",
        /// The resident cancels the code.
        Cancel => "cancel",
        /// The system: the code's time ran out (the job).
        Expire => "expire",
        /// The system: the merchant was suspended.
        Void => "void",
        /// The shop or the committee gives the points back.
        Refund => "refund",
    }
}

impl Action {
    pub fn apply(self, from: Status) -> Option<Status> {
        match (self, from) {
            (Action::Capture, Status::Issued) => Some(Status::Captured),
            (Action::Cancel | Action::Void, Status::Issued) => Some(Status::Cancelled),
            (Action::Expire, Status::Issued) => Some(Status::Expired),
            (Action::Refund, Status::Captured) => Some(Status::Refunded),
            _ => None,
        }
    }

    /// Whether the action ends a code that was never used, so its hold, stock and limit go back.
    pub fn releases(self) -> bool {
        matches!(self, Action::Cancel | Action::Void | Action::Expire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_issued_code_is_captured_cancelled_or_expired_and_only_a_captured_one_refunded() {
        for action in [Action::Capture, Action::Cancel, Action::Expire, Action::Void] {
            assert!(action.apply(Status::Issued).is_some(), "{action}");
            for from in [Status::Captured, Status::Cancelled, Status::Expired, Status::Refunded] {
                assert_eq!(action.apply(from), None, "{action} from {from}");
            }
        }
        assert_eq!(Action::Refund.apply(Status::Captured), Some(Status::Refunded));
        assert_eq!(Action::Refund.apply(Status::Issued), None);
        assert!(Action::Expire.releases() && !Action::Capture.releases() && !Action::Refund.releases());
    }
}
