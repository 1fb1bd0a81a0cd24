//! A stakeholder group elects its representatives: the committee opens a poll restricted to the
//! group's members (through the polls scene: one secret ballot each, counted after close), the members
//! vote through `POST /polls/{id}/ballots`, and after close the committee seats the winners. A tie
//! for the last seat is left to the group (`ELECTION_TIED`): the committee may then appoint.

use chrono::{DateTime, Utc};
use ehome_entities::{deliberation_group, deliberation_panel};

use super::error::DeliberationError;
use super::lifecycle::{ChosenBy, PanelKind, REPRESENTATIVES_MAX};
use super::service::{Loaded, screen};
use super::store::{self, Seat};
use crate::authz::{self, Actor};
use crate::domain::UserId;
use crate::platform::content::PublicText;
use crate::platform::error::{ApiError, ApiResult};
use crate::scenes::polls::service::{self as polls, GroupElection};
use crate::state::AppState;

pub struct ElectionDraft {
    pub candidates: Vec<UserId>,
    pub seats: u32,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: DateTime<Utc>,
}

async fn group_for_election(
    state: &AppState,
    actor: &Actor,
    loaded: &Loaded,
    group_id: i64,
) -> ApiResult<deliberation_group::Model> {
    authz::steer_deliberation(actor, loaded.community())?;
    let status = loaded.status()?;
    if !status.forms_groups() {
        let status = status.as_str().to_owned();
        return Err(DeliberationError::WrongStatus { action: "election".to_owned(), status }.into());
    }
    store::get_group(&state.db, loaded.deliberation.id, group_id).await
}

/// Opens the group's election: candidates among its members, 1 to the seats left of 3.
pub async fn open(
    state: &AppState,
    actor: &Actor,
    loaded: &Loaded,
    group_id: i64,
    draft: ElectionDraft,
) -> ApiResult<(deliberation_group::Model, i64)> {
    let group = group_for_election(state, actor, loaded, group_id).await?;
    if group.poll_id.is_some() {
        return Err(DeliberationError::ElectionExists.into());
    }
    let members: Vec<i64> = store::members_of(&state.db, &[group.id]).await?.into_iter().map(|(_, u)| u).collect();
    if draft.candidates.iter().any(|c| !members.contains(&c.0)) {
        return Err(ApiError::validation("candidate_ids", "candidates are members of the group"));
    }
    let seated =
        store::panel_of(&state.db, loaded.deliberation.id).await?.iter().filter(|s| s.group_id == group.id).count();
    let seats_left = REPRESENTATIVES_MAX.saturating_sub(seated);
    if draft.seats == 0 || draft.seats as usize > seats_left {
        return Err(ApiError::validation(
            "seats",
            format!("1 to {seats_left} (a group has at most {REPRESENTATIVES_MAX})"),
        ));
    }
    let mut labels = Vec::with_capacity(draft.candidates.len());
    for candidate in &draft.candidates {
        labels.push(crate::identity::users::get(&state.db, *candidate).await?.nickname);
    }
    let title = format!("{}代表推选", group.name).chars().take(60).collect::<String>();
    let mut texts = vec![title];
    texts.extend(labels);
    let screened = screen_all(state, actor, texts).await?;
    let mut screened = screened.into_iter();
    let title = screened.next().ok_or_else(|| ApiError::internal(anyhow::anyhow!("no title")))?;
    let now = state.clock.now();
    let election = GroupElection {
        community: loaded.community(),
        created_by: actor.id,
        group_ref: format!("deliberation_group:{}", group.id),
        title,
        candidates: draft.candidates.iter().copied().zip(screened).collect(),
        electors: members.iter().copied().map(UserId).collect(),
        seats: draft.seats,
        opens_at: draft.opens_at.unwrap_or(now),
        closes_at: draft.closes_at,
    };
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let poll = polls::create_group_poll(&txn, election, now).await?;
    store::set_group_poll(&txn, group.id, poll.id).await?;
    txn.commit().await?;
    let group = store::get_group(&state.db, loaded.deliberation.id, group.id).await?;
    Ok((group, poll.id))
}

/// The texts of a ballot (its title and the candidates' names), each screened.
async fn screen_all(state: &AppState, actor: &Actor, texts: Vec<String>) -> ApiResult<Vec<PublicText>> {
    let mut screened = Vec::with_capacity(texts.len());
    for text in texts {
        let [text] = screen(state, actor, [text]).await?;
        screened.push(text);
    }
    Ok(screened)
}

/// After close, seats the elected (skipping anyone already seated in the group).
pub async fn seat_elected(
    state: &AppState,
    actor: &Actor,
    loaded: &Loaded,
    group_id: i64,
) -> ApiResult<Vec<deliberation_panel::Model>> {
    let group = group_for_election(state, actor, loaded, group_id).await?;
    let poll_id = group.poll_id.ok_or(DeliberationError::NoElection)?;
    let now = state.clock.now();
    let result = polls::group_poll_result(&state.db, poll_id, now).await?;
    if !result.closed {
        return Err(DeliberationError::ElectionNotClosed.into());
    }
    if result.tie_at_cut {
        return Err(DeliberationError::ElectionTied.into());
    }
    let already: Vec<i64> = store::panel_of(&state.db, loaded.deliberation.id)
        .await?
        .into_iter()
        .filter(|s| s.group_id == group.id)
        .map(|s| s.user_id)
        .collect();
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let mut seated = Vec::new();
    for winner in result.winners.into_iter().filter(|w| !already.contains(&w.0)) {
        let seat = Seat {
            deliberation_id: loaded.deliberation.id,
            group_id: group.id,
            user_id: winner.0,
            kind: PanelKind::Representative,
            chosen_by: ChosenBy::Elected,
            profession: None,
            reason: None,
            decided_by: None,
        };
        seated.push(store::seat(&txn, seat, now).await?);
    }
    txn.commit().await?;
    Ok(seated)
}
