//! Results: votes per option, turnout (ballot units that voted / could vote), the chain's head so the
//! count can be re-checked, and — for open polls only — a per-building breakdown and the named
//! ballots. A secret poll's results carry nothing about any one voter. Also their CSV.

use std::collections::BTreeMap;

use ehome_entities::{building, poll, poll_ballot, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;

use super::error::PollError;
use super::lifecycle::{self, ResultsVisibility, Secrecy};
use super::service::{phase_of, visible};
use super::store;
use super::tally::{self, OptionTally};
use super::{chain, eligibility};
use crate::authz::Actor;
use crate::platform::csv::Document;
use crate::platform::error::ApiResult;
use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct Turnout {
    pub voted: u64,
    pub eligible: u64,
}

#[derive(Debug, Serialize)]
pub struct BuildingResult {
    pub building_id: i64,
    pub building: String,
    pub turnout: Turnout,
    pub options: Vec<OptionTally>,
}

/// A named ballot of an open poll.
#[derive(Debug, Serialize)]
pub struct NamedBallot {
    pub seq: Option<i64>,
    pub building_id: Option<i64>,
    pub cast_by: Option<i64>,
    pub cast_by_name: Option<String>,
    pub option_ids: Vec<i64>,
    pub proxy: bool,
    pub proxy_note: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Results {
    pub poll_id: i64,
    pub phase: lifecycle::Phase,
    pub final_count: bool,
    pub options: Vec<OptionTally>,
    pub turnout: Turnout,
    pub chain_seq: i64,
    pub chain_head: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buildings: Option<Vec<BuildingResult>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ballots: Option<Vec<NamedBallot>>,
}

fn is_open(poll: &poll::Model) -> bool {
    Secrecy::parse(&poll.secrecy) == Some(Secrecy::Open)
}

async fn per_building(
    state: &AppState,
    poll: &poll::Model,
    counted: &[poll_ballot::Model],
    electorate: &BTreeMap<i64, u64>,
) -> ApiResult<Vec<BuildingResult>> {
    let options = store::options(&state.db, poll.id).await?;
    let names: BTreeMap<i64, String> = eligibility::buildings_in_scope(&state.db, poll)
        .await?
        .into_iter()
        .map(|building: building::Model| (building.id, building.name))
        .collect();
    let mut out = Vec::new();
    for (building_id, name) in names {
        let here: Vec<poll_ballot::Model> =
            counted.iter().filter(|b| b.building_id == Some(building_id)).cloned().collect();
        out.push(BuildingResult {
            building_id,
            building: name,
            turnout: Turnout { voted: here.len() as u64, eligible: electorate.get(&building_id).copied().unwrap_or(0) },
            options: tally::per_option(&options, &here),
        });
    }
    Ok(out)
}

async fn named_ballots(state: &AppState, counted: &[poll_ballot::Model]) -> ApiResult<Vec<NamedBallot>> {
    let ids: Vec<i64> = counted.iter().filter_map(|b| b.cast_by).collect();
    let users = user::Entity::find().filter(user::Column::Id.is_in(ids)).all(&state.db).await?;
    Ok(counted
        .iter()
        .map(|ballot| NamedBallot {
            seq: ballot.seq,
            building_id: ballot.building_id,
            cast_by: ballot.cast_by,
            cast_by_name: users.iter().find(|u| Some(u.id) == ballot.cast_by).map(|u| u.nickname.clone()),
            option_ids: chain::decode_choices(&ballot.choices).unwrap_or_default(),
            proxy: ballot.proxy,
            proxy_note: ballot.proxy_note.clone(),
        })
        .collect())
}

/// The results, when the poll shows them at this point (live, or after close).
pub async fn results(state: &AppState, actor: &Actor, id: i64) -> ApiResult<Results> {
    let poll = visible(state, actor, id).await?;
    let phase = phase_of(&poll, state.clock.now());
    let visibility = ResultsVisibility::parse(&poll.results_visibility).unwrap_or(ResultsVisibility::AfterClose);
    if !lifecycle::results_visible(visibility, phase) {
        return Err(PollError::ResultsHidden.into());
    }
    // The head published covers every ballot committed before this read.
    super::jobs::seal(&state.db, poll.id).await?;
    let poll = store::get(&state.db, poll.id).await?;
    let options = store::options(&state.db, poll.id).await?;
    let counted = store::counted_ballots(&state.db, poll.id).await?;
    let electorate = eligibility::electorate(&state.db, &poll).await?;
    let open = is_open(&poll);
    Ok(Results {
        poll_id: poll.id,
        phase,
        final_count: phase == lifecycle::Phase::Closed,
        options: tally::per_option(&options, &counted),
        turnout: Turnout { voted: counted.len() as u64, eligible: electorate.values().sum() },
        buildings: if open { Some(per_building(state, &poll, &counted, &electorate).await?) } else { None },
        ballots: if open { Some(named_ballots(state, &counted).await?) } else { None },
        chain_seq: poll.chain_seq,
        chain_head: poll.chain_head,
    })
}

/// The results as CSV, every cell through `platform::csv`.
pub fn csv(results: &Results) -> String {
    let mut document = Document::new(&["section", "building", "option", "votes", "voted", "eligible"]);
    let (voted, eligible) = (results.turnout.voted.to_string(), results.turnout.eligible.to_string());
    for option in &results.options {
        document.line(["total", "", &option.label, &option.votes.to_string(), &voted, &eligible]);
    }
    for building in results.buildings.iter().flatten() {
        let (voted, eligible) = (building.turnout.voted.to_string(), building.turnout.eligible.to_string());
        for option in &building.options {
            document.line([
                "building",
                &building.building,
                &option.label,
                &option.votes.to_string(),
                &voted,
                &eligible,
            ]);
        }
    }
    document.line(["chain_head", "", &results.chain_head, &results.chain_seq.to_string(), "", ""]);
    document.finish()
}
