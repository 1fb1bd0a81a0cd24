//! Merchants and offers, pure: a merchant's statuses and the decisions that move them, the kinds of
//! merchant and levels of alliance, an offer's statuses, and the periods of a per-person limit with
//! the key of the period an instant falls in (days, weeks and months in Asia/Shanghai).
//!
//! ```text
//! pending ─approve→ approved ─suspend→ suspended ─reinstate→ approved
//!    └─reject→ rejected
//! ```

use chrono::{DateTime, Datelike, Utc};

use crate::stored_enum;

stored_enum! {
    pub enum MerchantStatus {
        Pending => "pending",
        Approved => "approved",
        Rejected => "rejected",
        Suspended => "suspended",
    }
}

stored_enum! {
    /// A decision about a merchant.
    pub enum Decision {
        Approve => "approve",
        Reject => "reject",
        Suspend => "suspend",
        Reinstate => "reinstate",
    }
}

impl Decision {
    /// The status a decision moves `from` to, if it applies there.
    pub fn apply(self, from: MerchantStatus) -> Option<MerchantStatus> {
        match (self, from) {
            (Decision::Approve, MerchantStatus::Pending) => Some(MerchantStatus::Approved),
            (Decision::Reject, MerchantStatus::Pending) => Some(MerchantStatus::Rejected),
            (Decision::Suspend, MerchantStatus::Approved) => Some(MerchantStatus::Suspended),
            (Decision::Reinstate, MerchantStatus::Suspended) => Some(MerchantStatus::Approved),
            _ => None,
        }
    }

    /// Refusing or suspending a shop needs a reason the owner can read.
    pub fn needs_note(self) -> bool {
        matches!(self, Decision::Reject | Decision::Suspend)
    }
}

stored_enum! {
    pub enum MerchantKind {
        Shop => "shop",
        /// 志愿者福利超市: its goods are its offers.
        WelfareSupermarket => "welfare_supermarket",
    }
}

stored_enum! {
    /// The alliance a merchant joins: its community's, its street's or its district's.
    pub enum AllianceLevel {
        Community => "community",
        Street => "street",
        District => "district",
    }
}

stored_enum! {
    pub enum OfferStatus {
        Active => "active",
        Withdrawn => "withdrawn",
    }
}

stored_enum! {
    /// The period a per-person limit counts in.
    pub enum LimitPeriod {
        Day => "day",
        Week => "week",
        Month => "month",
        Ever => "ever",
    }
}

impl LimitPeriod {
    /// The key of the period `at` falls in, in Asia/Shanghai: `day:2026-11-27`, `week:2026-W48`
    /// (ISO weeks, Monday first), `month:2026-11`, `ever`.
    pub fn key(self, at: DateTime<Utc>) -> String {
        let local = at.with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
        match self {
            LimitPeriod::Day => format!("day:{local}"),
            LimitPeriod::Week => {
                let week = local.iso_week();
                format!("week:{}-W{:02}", week.year(), week.week())
            }
            LimitPeriod::Month => format!("month:{}-{:02}", local.year(), local.month()),
            LimitPeriod::Ever => "ever".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn decisions_move_only_from_their_status() {
        assert_eq!(Decision::Approve.apply(MerchantStatus::Pending), Some(MerchantStatus::Approved));
        assert_eq!(Decision::Approve.apply(MerchantStatus::Suspended), None);
        assert_eq!(Decision::Suspend.apply(MerchantStatus::Approved), Some(MerchantStatus::Suspended));
        assert_eq!(Decision::Reinstate.apply(MerchantStatus::Suspended), Some(MerchantStatus::Approved));
        assert_eq!(Decision::Reject.apply(MerchantStatus::Approved), None);
    }

    #[test]
    fn periods_are_shanghai_days_weeks_and_months() {
        // 2026-11-29 17:30 UTC is Monday 2026-11-30 01:30 in Shanghai: a new day, week and month.
        let at = Utc.with_ymd_and_hms(2026, 11, 29, 17, 30, 0).unwrap();
        assert_eq!(LimitPeriod::Day.key(at), "day:2026-11-30");
        assert_eq!(LimitPeriod::Week.key(at), "week:2026-W49");
        assert_eq!(LimitPeriod::Month.key(at), "month:2026-11");
        let before = Utc.with_ymd_and_hms(2026, 11, 29, 15, 59, 0).unwrap();
        assert_eq!(LimitPeriod::Day.key(before), "day:2026-11-29");
        assert_eq!(LimitPeriod::Week.key(before), "week:2026-W48");
        assert_eq!(LimitPeriod::Ever.key(at), "ever");
    }
}
