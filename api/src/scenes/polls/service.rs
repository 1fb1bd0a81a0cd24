//! The use cases of polls: each takes the app's state (or, for the group election that deliberations
//! call, a connection), the caller already loaded as an `Actor`, and parsed input; it authorises,
//! screens text others read, owns its transaction, and returns rows.
//!
//! For deliberations: [`create_group_poll`] opens a poll whose electorate is a list of named people
//! (one ballot each, secret, counted after close) and [`group_poll_result`] reads its winners; the
//! named electors vote through `POST /polls/{id}/ballots` like anyone else.

use chrono::{DateTime, Utc};
use ehome_entities::poll;
use sea_orm::ConnectionTrait;

use super::lifecycle::{self, Eligibility, Phase, ResultsVisibility, ScopeKind, Secrecy};
use super::store::{self, NewPoll};
use super::tally::{self, OptionTally};
use crate::domain::{CommunityId, UserId};
use crate::platform::content::PublicText;
use crate::platform::error::{ApiError, ApiResult};

pub const OPTIONS_MAX: usize = 20;

/// A deliberation group's election of its representatives.
pub struct GroupElection {
    pub community: CommunityId,
    pub created_by: UserId,
    /// The caller's name for the group (for example `deliberation_group:12`), kept on the poll.
    pub group_ref: String,
    pub title: PublicText,
    /// The candidates, each with the label ballots show.
    pub candidates: Vec<(UserId, PublicText)>,
    /// Who holds a ballot: one each.
    pub electors: Vec<UserId>,
    /// How many are elected (1–3 representatives): each ballot names 1 to `seats` candidates.
    pub seats: u32,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

/// Creates a group's election in the caller's transaction: secret ballots, one per named elector,
/// results after close, a ballot may be changed until then.
pub async fn create_group_poll(
    db: &impl ConnectionTrait,
    election: GroupElection,
    now: DateTime<Utc>,
) -> ApiResult<poll::Model> {
    let seats = i32::try_from(election.seats).unwrap_or(i32::MAX);
    if election.candidates.is_empty() || election.candidates.len() > OPTIONS_MAX {
        return Err(ApiError::validation("candidates", format!("1 to {OPTIONS_MAX}")));
    }
    if seats < 1 || seats as usize > election.candidates.len() {
        return Err(ApiError::validation("seats", "1 to the number of candidates"));
    }
    if election.electors.is_empty() {
        return Err(ApiError::validation("electors", "at least one"));
    }
    if election.closes_at <= election.opens_at {
        return Err(ApiError::validation("closes_at", "after opens_at"));
    }
    let new = NewPoll {
        community: election.community,
        created_by: election.created_by,
        title: election.title,
        description: None,
        options: election.candidates.into_iter().map(|(user, label)| (label, Some(user))).collect(),
        choices_min: 1,
        choices_max: seats,
        scope_kind: ScopeKind::Group,
        scope_ids: Vec::new(),
        eligibility: Eligibility::Named,
        electors: election.electors,
        secrecy: Secrecy::Secret,
        results_visibility: ResultsVisibility::AfterClose,
        allow_change: true,
        group_ref: Some(election.group_ref),
        opens_at: election.opens_at,
        closes_at: election.closes_at,
    };
    store::insert_poll(db, new, now).await
}

/// A group election's outcome.
#[derive(Debug, Clone)]
pub struct GroupResult {
    pub poll_id: i64,
    /// Winners are final only once the poll has closed.
    pub closed: bool,
    pub ballots_counted: u64,
    pub electors: u64,
    /// Every candidate with their votes, in ballot order.
    pub tallies: Vec<OptionTally>,
    /// The elected, most votes first (at most `seats`, none without a vote).
    pub winners: Vec<UserId>,
    /// The last seat is tied with the first candidate left out: the group must break it.
    pub tie_at_cut: bool,
}

/// Reads a group election's count; `winners` is empty until the poll has closed.
pub async fn group_poll_result(db: &impl ConnectionTrait, poll_id: i64, now: DateTime<Utc>) -> ApiResult<GroupResult> {
    let poll = store::get(db, poll_id).await?;
    let closed = phase_of(&poll, now) == Phase::Closed;
    let options = store::options(db, poll.id).await?;
    let counted = store::counted_ballots(db, poll.id).await?;
    let tallies = tally::per_option(&options, &counted);
    let seats = usize::try_from(poll.choices_max).unwrap_or(0);
    let (winners, tie_at_cut) = if closed { tally::winners(&tallies, seats) } else { (Vec::new(), false) };
    Ok(GroupResult {
        poll_id: poll.id,
        closed,
        ballots_counted: counted.len() as u64,
        electors: store::electors(db, poll.id).await?.len() as u64,
        winners: winners.iter().filter_map(|t| t.subject_id.map(UserId)).collect(),
        tie_at_cut: closed && tie_at_cut,
        tallies: if closed { tallies } else { Vec::new() },
    })
}

pub fn phase_of(poll: &poll::Model, now: DateTime<Utc>) -> Phase {
    lifecycle::phase(poll.opens_at, poll.closes_at, now)
}
