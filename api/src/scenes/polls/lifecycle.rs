//! A poll's rules, pure: who has a ballot (eligibility), whether the ballot is named (secrecy), when
//! results show, where it stands in time (phase), and whether a ballot already cast may be replaced.

use chrono::{DateTime, Utc};

use crate::stored_enum;

stored_enum! {
    /// Who holds a ballot.
    pub enum Eligibility {
        /// One ballot per household, cast by any member, or by its representative when one is named.
        Household => "household",
        /// One ballot per resident of the scope.
        Resident => "resident",
        /// One ballot per person named on the poll (a deliberation group's election).
        Named => "named",
    }
}

stored_enum! {
    /// Whether a ballot names its voter.
    pub enum Secrecy {
        /// Who voted is recorded apart from what; no response joins the two.
        Secret => "secret",
        /// Named ballots (council decisions): the results list who chose what, per building.
        Open => "open",
    }
}

stored_enum! {
    /// When the counts show.
    pub enum ResultsVisibility {
        Live => "live",
        AfterClose => "after_close",
    }
}

stored_enum! {
    /// Where a poll's electorate lives.
    pub enum ScopeKind {
        Community => "community",
        Grids => "grids",
        Buildings => "buildings",
        /// The named electors only (no place).
        Group => "group",
    }
}

stored_enum! {
    /// Where a poll stands in time (computed from the clock, never stored).
    pub enum Phase {
        Upcoming => "upcoming",
        Open => "open",
        Closed => "closed",
    }
}

/// The phase at `now`: open from `opens_at` (inclusive) to `closes_at` (exclusive).
pub fn phase(opens_at: DateTime<Utc>, closes_at: DateTime<Utc>, now: DateTime<Utc>) -> Phase {
    if now < opens_at {
        Phase::Upcoming
    } else if now < closes_at {
        Phase::Open
    } else {
        Phase::Closed
    }
}

/// Whether counts may be shown at `phase` (the committee sees the turnout, never early counts).
pub fn results_visible(visibility: ResultsVisibility, phase: Phase) -> bool {
    match visibility {
        ResultsVisibility::Live => phase != Phase::Upcoming,
        ResultsVisibility::AfterClose => phase == Phase::Closed,
    }
}

/// What a second ballot of the same voter meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Counted instead of the first (the first kept in the history).
    Replace,
    /// Refused: the poll does not allow changes.
    AlreadyVoted,
    /// Refused: one of the two is a paper ballot recorded by a building leader; the first counts.
    ProxyConflict,
}

/// The rule for a second ballot: a proxy ballot and a phone ballot of one household never replace
/// each other (the first counts); two phone ballots replace when the poll allows changes.
pub fn repeat(allow_change: bool, first_is_proxy: bool, second_is_proxy: bool) -> Repeat {
    if first_is_proxy || second_is_proxy {
        Repeat::ProxyConflict
    } else if allow_change {
        Repeat::Replace
    } else {
        Repeat::AlreadyVoted
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn phases_and_visibility() {
        let t = DateTime::<Utc>::UNIX_EPOCH;
        let close = t + Duration::hours(1);
        assert_eq!(phase(t, close, t - Duration::seconds(1)), Phase::Upcoming);
        assert_eq!(phase(t, close, t), Phase::Open);
        assert_eq!(phase(t, close, close), Phase::Closed);
        assert!(results_visible(ResultsVisibility::Live, Phase::Open));
        assert!(!results_visible(ResultsVisibility::AfterClose, Phase::Open));
        assert!(results_visible(ResultsVisibility::AfterClose, Phase::Closed));
    }

    #[test]
    fn proxy_and_phone_ballots_never_replace_each_other() {
        assert_eq!(repeat(true, false, false), Repeat::Replace);
        assert_eq!(repeat(false, false, false), Repeat::AlreadyVoted);
        for (first, second) in [(true, false), (false, true), (true, true)] {
            assert_eq!(repeat(true, first, second), Repeat::ProxyConflict);
        }
    }
}
