//! Nobody decides their own case. A case is anything someone decides about a person: whoever the
//! case is about (its party) may still speak in it — withdraw, confirm, reopen, rate — but never
//! decide it; the decision goes to someone else (and routing sends it elsewhere in the first place).
//!
//! Every decision consults [`is_party_to`], and a decider who holds the right role but is a party
//! gets `403 PARTY_TO_CASE`. The scenes to come add their case here — a volunteer's hours (the
//! volunteer), a help post (its author and helper), a redemption (the redeemer), a proposal (its
//! proposer), a grant (its recipient) — so that one match decides who is a party.

use crate::domain::UserId;
use crate::platform::error::ApiError;

/// A matter someone decides, with the people it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// A claim on a household: approving it makes the applicant a resident.
    JoinRequest { applicant: UserId },
    /// A 邻办事 request. Its party is the reporter only: "me too" is open to every member and costs
    /// nothing, so counting followers would let anyone lock their building's leader out of a case,
    /// and followers decide nothing in it (only the reporter confirms, reopens and rates).
    Request { reporter: UserId },
    /// A member's roles in a community: no one grants or removes their own (another committee
    /// member, an admin, or the operator's `ehome admin` command does).
    Roles { member: UserId },
    /// A seat on a deliberation's panel (a representative of a group, a professional): the committee
    /// member who would be seated does not seat themself.
    Panel { member: UserId },
    /// A paper ballot recorded for a household: no member of it records the household's ballot.
    ProxyBallot { household_member: UserId },
    /// Naming a household's representative: no member of it names their own household's.
    Representative { household_member: UserId },
    /// A resident's registration as a volunteer: approving it grants them the `volunteer` role.
    Volunteer { applicant: UserId },
    /// A volunteer's service hours at an activity: no organiser approves, adjusts or declines their
    /// own (another organiser does).
    VolunteerHours { volunteer: UserId },
    /// A merchant's application, suspension or reinstatement: its owner never decides it (nor its
    /// staff, which `authz::decide_merchant` checks from their roles).
    Merchant { owner: UserId },
    /// A settlement statement of a shop: its owner never approves or pays it (nor its staff, which
    /// `authz::decide_settlement` checks from their roles).
    Settlement { owner: UserId },
    /// A redemption: the resident who redeems never captures or refunds it themself.
    Redemption { redeemer: UserId },
    /// A help post: its author and its helper never decide its dispute (pay, release, split).
    HelpPost { author: UserId, helper: Option<UserId> },
    /// A care recipient with an account: they never register themself nor assign their own visitors
    /// or devices.
    CareRecipient { recipient: UserId },
}

/// Whether `user` is a party to `case`, and so may not decide it.
pub fn is_party_to(user: UserId, case: &Case) -> bool {
    match *case {
        Case::JoinRequest { applicant } => applicant == user,
        Case::Request { reporter } => reporter == user,
        Case::Roles { member } => member == user,
        Case::Panel { member } => member == user,
        Case::ProxyBallot { household_member } | Case::Representative { household_member } => household_member == user,
        Case::Volunteer { applicant } => applicant == user,
        Case::VolunteerHours { volunteer } => volunteer == user,
        Case::Merchant { owner } | Case::Settlement { owner } => owner == user,
        Case::Redemption { redeemer } => redeemer == user,
        Case::HelpPost { author, helper } => author == user || helper == Some(user),
        Case::CareRecipient { recipient } => recipient == user,
    }
}

/// For a decider the role already allows: refuses a party to the case with `PARTY_TO_CASE`.
pub fn not_a_party(user: UserId, case: &Case) -> Result<(), ApiError> {
    if is_party_to(user, case) { Err(ApiError::PartyToCase) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_party_of_each_case() {
        let (me, other) = (UserId(1), UserId(2));
        let cases = [
            Case::JoinRequest { applicant: me },
            Case::Request { reporter: me },
            Case::Roles { member: me },
            Case::Panel { member: me },
            Case::ProxyBallot { household_member: me },
            Case::Representative { household_member: me },
            Case::Volunteer { applicant: me },
            Case::VolunteerHours { volunteer: me },
            Case::Merchant { owner: me },
            Case::Settlement { owner: me },
            Case::Redemption { redeemer: me },
            Case::HelpPost { author: me, helper: None },
            Case::HelpPost { author: UserId(3), helper: Some(me) },
        ];
        for case in cases {
            assert!(is_party_to(me, &case), "{case:?}");
            assert!(!is_party_to(other, &case), "{case:?}");
            assert!(matches!(not_a_party(me, &case), Err(ApiError::PartyToCase)));
            assert!(not_a_party(other, &case).is_ok());
        }
    }
}
