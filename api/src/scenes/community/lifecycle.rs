//! A join request's states, pure: pending until the building's leader or the committee decides it,
//! once (the decision is a compare-and-set on `pending`).

use crate::stored_enum;

stored_enum! {
    pub enum JoinStatus {
        Pending => "pending",
        Approved => "approved",
        Rejected => "rejected",
    }
}

impl JoinStatus {
    /// Where a decision leads from pending.
    pub fn decided(approve: bool) -> JoinStatus {
        if approve { JoinStatus::Approved } else { JoinStatus::Rejected }
    }
}
