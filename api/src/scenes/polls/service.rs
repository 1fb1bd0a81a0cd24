//! The use cases of polls: each takes the app's state (or, for the group election that deliberations
//! call, a connection), the caller already loaded as an `Actor`, and parsed input; it authorises,
//! screens text others read, owns its transaction, and returns rows.
//!
//! For deliberations: [`create_group_poll`] opens a poll whose electorate is a list of named people
//! (one ballot each, secret, counted after close) and [`group_poll_result`] reads its winners; the
//! named electors vote through `POST /polls/{id}/ballots` like anyone else.

use chrono::{DateTime, Utc};
use ehome_entities::{household, poll, poll_option};
use sea_orm::{AccessMode, ConnectionTrait, DatabaseBackend, DatabaseConnection, IsolationLevel, TransactionTrait};

use super::chain::{self, Recount, StoredBallot};
use super::eligibility::{self, Voter};
use super::error::PollError;
use super::lifecycle::{self, Eligibility, Phase, ResultsVisibility, ScopeKind, Secrecy};
use super::store::{self, Cast, CastOutcome, NewPoll};
use super::tally::{self, OptionTally};
use crate::authz::{self, Actor};
use crate::domain::{BuildingId, CommunityId, Description, GridId, HouseholdId, Label, Note, Title, UserId};
use crate::platform::content::{self, Author, PublicText, WhenUnsure};
use crate::platform::db::begin_write;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::pagination::Keyset;
use crate::platform::wechat::TextScene;
use crate::scenes::community::service as community;
use crate::state::AppState;

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

/// A poll as the committee or a building leader asks it, validated.
pub struct Ask {
    pub community: CommunityId,
    pub title: Title,
    pub description: Option<Description>,
    pub options: Vec<Label>,
    pub choices_min: i32,
    pub choices_max: i32,
    pub scope_kind: ScopeKind,
    pub scope_ids: Vec<i64>,
    pub eligibility: Eligibility,
    pub secrecy: Secrecy,
    pub results_visibility: ResultsVisibility,
    pub allow_change: bool,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

fn check_ask(ask: &Ask) -> ApiResult<()> {
    let options = i32::try_from(ask.options.len()).unwrap_or(i32::MAX);
    if !(2..=OPTIONS_MAX).contains(&ask.options.len()) {
        return Err(ApiError::validation("options", format!("2 to {OPTIONS_MAX}")));
    }
    if ask.choices_min < 1 || ask.choices_max < ask.choices_min || ask.choices_max > options {
        return Err(ApiError::validation("choices", "1 <= min <= max <= number of options"));
    }
    if ask.closes_at <= ask.opens_at {
        return Err(ApiError::validation("closes_at", "after opens_at"));
    }
    match (ask.scope_kind, ask.scope_ids.is_empty()) {
        (ScopeKind::Community, true) | (ScopeKind::Grids | ScopeKind::Buildings, false) => {}
        (ScopeKind::Group, _) => return Err(ApiError::validation("scope", "group polls come from deliberations")),
        _ => return Err(ApiError::validation("scope_ids", "required for grids and buildings, none for community")),
    }
    if ask.eligibility == Eligibility::Named {
        return Err(ApiError::validation("eligibility", "household or resident"));
    }
    Ok(())
}

/// Checks that every scope id is a grid or building of the community.
async fn check_scope(state: &AppState, ask: &Ask) -> ApiResult<()> {
    for id in &ask.scope_ids {
        let community_id = match ask.scope_kind {
            ScopeKind::Grids => community::get_grid(&state.db, GridId(*id)).await.map(|g| g.community_id),
            _ => community::get_building(&state.db, BuildingId(*id)).await.map(|b| b.community_id),
        };
        if community_id.ok() != Some(ask.community.0) {
            return Err(ApiError::validation("scope_ids", format!("{id} is not in this community")));
        }
    }
    Ok(())
}

/// The committee (or a building leader, for their buildings) asks a question.
pub async fn create(state: &AppState, actor: &Actor, ask: Ask) -> ApiResult<(poll::Model, Vec<poll_option::Model>)> {
    check_ask(&ask)?;
    community::get_community(&state.db, ask.community).await?;
    let buildings = (ask.scope_kind == ScopeKind::Buildings).then_some(ask.scope_ids.as_slice());
    authz::polls::create_poll(actor, ask.community, buildings)?;
    check_scope(state, &ask).await?;
    let author = actor.user().clone();
    let author = Author { openid: &author.openid, scene: TextScene::Forum };
    let mut texts = vec![ask.title.into_inner(), ask.description.map(Description::into_inner).unwrap_or_default()];
    texts.extend(ask.options.into_iter().map(Label::into_inner));
    // One check for the whole poll: the texts are published together.
    let (texts, _) = content::screen_many(&state.wechat, author, texts, WhenUnsure::Refuse).await?;
    let mut texts = texts.into_iter();
    let title = texts.next().ok_or_else(|| ApiError::internal(anyhow::anyhow!("poll title")))?;
    let description = texts.next().filter(|text| !text.as_str().is_empty());
    let new = NewPoll {
        community: ask.community,
        created_by: actor.id,
        title,
        description,
        options: texts.map(|label| (label, None)).collect(),
        choices_min: ask.choices_min,
        choices_max: ask.choices_max,
        scope_kind: ask.scope_kind,
        scope_ids: ask.scope_ids,
        eligibility: ask.eligibility,
        electors: Vec::new(),
        secrecy: ask.secrecy,
        results_visibility: ask.results_visibility,
        allow_change: ask.allow_change,
        group_ref: None,
        opens_at: ask.opens_at,
        closes_at: ask.closes_at,
    };
    let txn = begin_write(&state.db).await?;
    let poll = store::insert_poll(&txn, new, state.clock.now()).await?;
    txn.commit().await?;
    let options = store::options(&state.db, poll.id).await?;
    Ok((poll, options))
}

/// Loads a poll the caller may see (one they may not see does not exist for them).
pub async fn visible(state: &AppState, actor: &Actor, id: i64) -> ApiResult<poll::Model> {
    let poll = store::get(&state.db, id).await?;
    let named = store::is_elector(&state.db, poll.id, actor.id).await?;
    authz::polls::view_poll(actor, CommunityId(poll.community_id), named)?;
    Ok(poll)
}

/// A poll with its options, the turnout so far, and whether the caller's unit has voted.
pub struct Detail {
    pub poll: poll::Model,
    pub options: Vec<poll_option::Model>,
    pub voted: u64,
    pub eligible: u64,
    /// The caller's ballot unit has a counted ballot (never which one).
    pub my_ballot: Option<MyBallot>,
}

pub struct MyBallot {
    pub voted: bool,
    pub proxy: bool,
    pub changes: i32,
}

pub async fn detail(state: &AppState, actor: &Actor, id: i64) -> ApiResult<Detail> {
    let poll = visible(state, actor, id).await?;
    let options = store::options(&state.db, poll.id).await?;
    let voted = store::participations(&state.db, poll.id).await?;
    let eligible = eligibility::electorate(&state.db, &poll).await?.values().sum();
    let my_ballot = match eligibility::voter_for(&state.db, &poll, actor.id).await {
        Ok(voter) => {
            let found = store::participation_of(&state.db, poll.id, &voter.voter_key).await?;
            Some(match found {
                Some(row) => MyBallot { voted: true, proxy: row.proxy, changes: row.changes },
                None => MyBallot { voted: false, proxy: false, changes: 0 },
            })
        }
        Err(_) => None,
    };
    Ok(Detail { poll, options, voted, eligible, my_ballot })
}

pub async fn list(
    state: &AppState,
    actor: &Actor,
    community: CommunityId,
    keyset: &Keyset,
) -> ApiResult<Vec<poll::Model>> {
    authz::polls::view_poll(actor, community, false)?;
    store::list(&state.db, community, keyset).await
}

/// Checks the chosen option ids against the poll: known, distinct, between min and max.
fn check_choices(poll: &poll::Model, options: &[poll_option::Model], chosen: &[i64]) -> ApiResult<()> {
    let mut distinct = chosen.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() != chosen.len() || !chosen.iter().all(|id| options.iter().any(|o| o.id == *id)) {
        return Err(ApiError::validation("option_ids", "distinct options of this poll"));
    }
    let count = i32::try_from(chosen.len()).unwrap_or(i32::MAX);
    if count < poll.choices_min || count > poll.choices_max {
        let (min, max) = (poll.choices_min, poll.choices_max);
        return Err(ApiError::validation("option_ids", format!("choose {min} to {max}")));
    }
    Ok(())
}

async fn cast_checked(state: &AppState, poll: &poll::Model, cast: Cast) -> ApiResult<CastOutcome> {
    let now = state.clock.now();
    if phase_of(poll, now) != Phase::Open {
        return Err(PollError::PollNotOpen.into());
    }
    let options = store::options(&state.db, poll.id).await?;
    check_choices(poll, &options, &cast.choices)?;
    let txn = begin_write(&state.db).await?;
    let outcome = store::cast(&txn, poll, cast, now).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// A resident (or a household, through any member or its representative) casts a ballot.
pub async fn cast(state: &AppState, actor: &Actor, id: i64, choices: Vec<i64>) -> ApiResult<CastOutcome> {
    // Eligibility, not visibility, answers here: a newcomer or another community's resident is told
    // why they hold no ballot (`NO_HOUSEHOLD`, `NOT_IN_COMMUNITY`) rather than that the poll is missing.
    let poll = store::get(&state.db, id).await?;
    let voter: Voter = eligibility::voter_for(&state.db, &poll, actor.id).await?;
    let cast = Cast {
        voter_key: voter.voter_key,
        household_id: voter.household_id,
        building_id: voter.building_id,
        cast_by: actor.id,
        proxy: false,
        proxy_note: None,
        choices,
    };
    cast_checked(state, &poll, cast).await
}

/// A building leader records a household's paper ballot (an elderly neighbour without a phone).
pub async fn cast_proxy(
    state: &AppState,
    actor: &Actor,
    id: i64,
    household: HouseholdId,
    choices: Vec<i64>,
    note: Note,
) -> ApiResult<CastOutcome> {
    let poll = visible(state, actor, id).await?;
    let home: household::Model = community::get_household(&state.db, household)
        .await
        .map_err(|_| ApiError::validation("household_id", "no such household"))?;
    let members = eligibility::members(&state.db, home.id).await?;
    authz::polls::record_proxy_ballot(actor, CommunityId(poll.community_id), BuildingId(home.building_id), &members)?;
    let voter = eligibility::household_voter(&state.db, &poll, &home).await?;
    let recorder = actor.user().clone();
    let author = Author { openid: &recorder.openid, scene: TextScene::Comment };
    let note = content::screen_one(&state.wechat, author, note.into_inner()).await?;
    let cast = Cast {
        voter_key: voter.voter_key,
        household_id: voter.household_id,
        building_id: voter.building_id,
        cast_by: actor.id,
        proxy: true,
        proxy_note: Some(note),
        choices,
    };
    cast_checked(state, &poll, cast).await
}

/// What a receipt proves: the ballot is in the chain, and whether it is the one counted.
pub struct ReceiptCheck {
    pub seq: Option<i64>,
    pub counted: bool,
    pub chain_head: String,
    pub chain_seq: i64,
}

pub async fn receipt(state: &AppState, actor: &Actor, id: i64, receipt: &str) -> ApiResult<ReceiptCheck> {
    let poll = visible(state, actor, id).await?;
    super::jobs::seal(&state.db, poll.id).await?;
    let poll = store::get(&state.db, poll.id).await?;
    let ballot = store::by_receipt(&state.db, poll.id, receipt).await?.ok_or(ApiError::NotFound("receipt"))?;
    Ok(ReceiptCheck {
        seq: ballot.seq,
        counted: ballot.counted,
        chain_head: poll.chain_head,
        chain_seq: poll.chain_seq,
    })
}

/// The building's leader or the committee names who casts a household's ballot.
pub async fn name_representative(
    state: &AppState,
    actor: &Actor,
    household: HouseholdId,
    user: UserId,
) -> ApiResult<household::Model> {
    let home = community::get_household(&state.db, household).await?;
    let members = eligibility::members(&state.db, home.id).await?;
    authz::polls::name_representative(actor, CommunityId(home.community_id), BuildingId(home.building_id), &members)?;
    if !members.contains(&user) {
        return Err(ApiError::validation("user_id", "a member of this household"));
    }
    let txn = begin_write(&state.db).await?;
    store::set_representative(&txn, home.id, user, actor.id, state.clock.now()).await?;
    txn.commit().await?;
    Ok(home)
}

/// Walks a poll's chain and recounts (for `ehome polls verify`): the stored head must match the
/// chain's last link, and the stored counted flags the chain's own answer. Reads one snapshot, so
/// ballots committing meanwhile do not make the counts disagree.
pub async fn verify(db: &DatabaseConnection, id: i64, progress: impl Fn(u64)) -> ApiResult<(poll::Model, Recount)> {
    let isolation = (db.get_database_backend() == DatabaseBackend::Postgres).then_some(IsolationLevel::RepeatableRead);
    let txn = db.begin_with_config(isolation, Some(AccessMode::ReadOnly)).await?;
    let poll = store::get(&txn, id).await?;
    let rows = store::ballots(&txn, poll.id).await?;
    let participations = store::participations(&txn, poll.id).await?;
    txn.commit().await?;
    let stored: Vec<StoredBallot> = rows
        .into_iter()
        .enumerate()
        .map(|(index, row)| {
            progress(index as u64 + 1);
            StoredBallot {
                id: row.id,
                seq: row.seq,
                voter_tag: row.voter_tag,
                choices: row.choices,
                receipt: row.receipt,
                proxy: row.proxy,
                counted: row.counted,
                prev_hash: row.prev_hash,
                hash: row.hash,
            }
        })
        .collect();
    let mut found = chain::recount(poll.id, &stored);
    if found.head_seq != poll.chain_seq || found.head_hash != poll.chain_head {
        found.problems.push(format!(
            "the published head (#{} {}) is not the chain's last link (#{} {})",
            poll.chain_seq, poll.chain_head, found.head_seq, found.head_hash
        ));
    }
    if participations != found.counted {
        found.problems.push(format!("{participations} voters took part but {} ballots count", found.counted));
    }
    Ok((poll, found))
}
