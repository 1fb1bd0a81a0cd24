//! The use cases of deliberations ("烦事有计倾"): propose a topic (possibly from 邻办事 requests),
//! list and read them, move them through the state machine, form stakeholder groups and seat the
//! panel. Meetings and minutes are in `meetings.rs`, resolutions in `resolutions.rs`.

use std::collections::BTreeSet;

use ehome_entities::{building, deliberation, deliberation_group, deliberation_panel};

use super::error::DeliberationError;
use super::lifecycle::{
    Action, ChosenBy, Facts, PanelKind, Profession, REPRESENTATIVES_MAX, Severity, Status, Urgency,
};
use super::store::{self, ListScope, NewDeliberation, Seat};
use super::{meetings_store, resolutions};
use crate::authz::{self, Actor, BuildingPlace};
use crate::domain::{Area, CommunityId, Description, Label, Note, Role, Title, UserId};
use crate::identity::author;
use crate::platform::content::{self, Author, PublicText, WhenUnsure};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::pagination::Keyset;
use crate::platform::wechat::TextScene;
use crate::scenes::community::service as community;
use crate::scenes::requests::service as requests;
use crate::state::AppState;

/// A topic as proposed, validated.
pub struct Topic {
    pub community: CommunityId,
    pub title: Title,
    pub issue: Description,
    pub evidence: Option<Description>,
    pub severity: Severity,
    pub urgency: Urgency,
    pub area: Area,
    pub request_ids: Vec<i64>,
}

/// Screens texts that are published together (refused when unsure: nothing holds a deliberation).
pub(super) async fn screen<const N: usize>(
    state: &AppState,
    actor: &Actor,
    texts: [String; N],
) -> ApiResult<[PublicText; N]> {
    let writer = actor.user().clone();
    let author = Author { openid: &writer.openid, scene: TextScene::Forum };
    Ok(content::screen(&state.wechat, author, texts, WhenUnsure::Refuse).await?.0)
}

/// Any member proposes a topic for the buildings it affects, optionally from requests of the
/// community.
pub async fn propose(state: &AppState, actor: &Actor, topic: Topic) -> ApiResult<deliberation::Model> {
    let found = community::get_community(&state.db, topic.community).await?;
    authz::propose_deliberation(actor, CommunityId(found.id))?;
    let buildings = community::buildings_in_area(&state.db, CommunityId(found.id), &topic.area, "scope").await?;
    let sources = requests::progress_of(&state.db, &topic.request_ids).await?;
    if sources.len() != topic.request_ids.len() || sources.iter().any(|(r, _)| r.community_id != found.id) {
        return Err(ApiError::validation("request_ids", "every request must exist in this community"));
    }
    let texts = [
        topic.title.into_inner(),
        topic.issue.into_inner(),
        topic.evidence.map(Description::into_inner).unwrap_or_default(),
    ];
    let [title, issue, evidence] = screen(state, actor, texts).await?;
    let new = NewDeliberation {
        community_id: found.id,
        proposed_by: actor.id.0,
        title,
        issue,
        evidence,
        severity: topic.severity,
        urgency: topic.urgency,
        area: topic.area,
        buildings: buildings.iter().map(|b| b.id).collect(),
        requests: topic.request_ids,
    };
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let row = store::insert(&txn, new, state.clock.now()).await?;
    txn.commit().await?;
    Ok(row)
}

/// How the caller stands to one deliberation.
pub struct Access {
    pub committee: bool,
    pub proposer: bool,
    pub panel: bool,
    pub group_member: bool,
    /// Lives in, or covers, a building it affects.
    pub affected: bool,
}

impl Access {
    pub fn visible(&self) -> bool {
        self.committee || self.proposer || self.panel || self.group_member || self.affected
    }

    /// Reads minutes before they are signed off.
    pub fn insider(&self) -> bool {
        self.committee || self.panel
    }
}

pub struct Loaded {
    pub deliberation: deliberation::Model,
    pub buildings: Vec<building::Model>,
    pub access: Access,
}

impl Loaded {
    pub fn community(&self) -> CommunityId {
        CommunityId(self.deliberation.community_id)
    }

    pub fn status(&self) -> ApiResult<Status> {
        store::status_of(&self.deliberation)
    }
}

/// Loads a deliberation the caller may see; one they may not does not exist for them.
pub async fn visible(state: &AppState, actor: &Actor, id: i64) -> ApiResult<Loaded> {
    let deliberation = store::get(&state.db, id).await?;
    let ids = store::buildings_of(&state.db, id).await?;
    let buildings = community::buildings_by_id(&state.db, &ids).await?;
    let community_id = CommunityId(deliberation.community_id);
    let covers = buildings
        .iter()
        .any(|b| authz::covers_building(actor, community_id, BuildingPlace { building_id: b.id, grid_id: b.grid_id }));
    let home = community::homes_of(&state.db, actor.id).await?.iter().any(|h| ids.contains(&h.building_id));
    let panel = store::panel_of(&state.db, id).await?.iter().any(|seat| seat.user_id == actor.id.0);
    let groups: Vec<i64> = store::groups_of(&state.db, id).await?.into_iter().map(|g| g.id).collect();
    let group_member = store::members_of(&state.db, &groups).await?.iter().any(|(_, user)| *user == actor.id.0);
    let access = Access {
        committee: actor.is_admin || actor.has(community_id, Role::Committee),
        proposer: deliberation.proposed_by == actor.id.0,
        panel,
        group_member,
        affected: covers || home,
    };
    if !access.visible() {
        return Err(ApiError::NotFound("deliberation"));
    }
    Ok(Loaded { deliberation, buildings, access })
}

pub async fn list(
    state: &AppState,
    actor: &Actor,
    community_id: CommunityId,
    keyset: &Keyset,
) -> ApiResult<Vec<deliberation::Model>> {
    community::get_community(&state.db, community_id).await?;
    if !actor.in_community(community_id) {
        return Err(ApiError::Forbidden);
    }
    let scope = if actor.is_admin || actor.has(community_id, Role::Committee) {
        ListScope::All
    } else {
        let buildings = community::buildings_involving(&state.db, actor, community_id).await?;
        ListScope::Involving { buildings, user_id: actor.id.0 }
    };
    store::page(&state.db, community_id.0, scope, keyset).await
}

async fn facts(state: &AppState, id: i64) -> ApiResult<Facts> {
    let groups = store::groups_of(&state.db, id).await?;
    let panel = store::panel_of(&state.db, id).await?;
    let represented = groups
        .iter()
        .filter(|g| {
            let seats = panel.iter().filter(|s| s.group_id == g.id).count();
            (super::lifecycle::REPRESENTATIVES_MIN..=REPRESENTATIVES_MAX).contains(&seats)
        })
        .count();
    let meetings: Vec<i64> = meetings_store::meetings_of(&state.db, id).await?.into_iter().map(|m| m.id).collect();
    Ok(Facts {
        groups: groups.len(),
        groups_represented: represented,
        signed_minutes: meetings_store::signed_minutes(&state.db, &meetings).await?,
        resolutions: meetings_store::resolutions_of(&state.db, id).await?.len(),
    })
}

/// The committee moves the deliberation (anchor, representatives chosen, resolved, closed).
pub async fn transition(
    state: &AppState,
    actor: &Actor,
    loaded: Loaded,
    action: Action,
    note: Option<Note>,
) -> ApiResult<deliberation::Model> {
    authz::steer_deliberation(actor, loaded.community())?;
    if action.needs_note() && note.is_none() {
        return Err(ApiError::validation("note", "a reason is required to close"));
    }
    let from = loaded.status()?;
    let facts = facts(state, loaded.deliberation.id).await?;
    let to = action
        .decide(from, facts)
        .map_err(|refusal| DeliberationError::refused(refusal, action.as_str(), from.as_str()))?;
    let note = author::screen_optional(state, actor.id, TextScene::Comment, note.map(Note::into_inner)).await?;
    let now = state.clock.now();
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let mut updated = store::set_status(&txn, loaded.deliberation.id, from, to, Some(actor.id.0), now).await?;
    if let Some(note) = note.filter(|_| to == Status::Closed) {
        updated = store::set_closing_note(&txn, updated, note).await?;
    }
    txn.commit().await?;
    Ok(updated)
}

/// A stakeholder group as typed: named members and the residents of named affected buildings.
pub struct GroupDraft {
    pub name: Label,
    pub description: Option<Note>,
    pub member_ids: Vec<UserId>,
    pub building_ids: Vec<i64>,
}

pub async fn add_group(
    state: &AppState,
    actor: &Actor,
    loaded: &Loaded,
    draft: GroupDraft,
) -> ApiResult<(deliberation_group::Model, Vec<i64>)> {
    authz::steer_deliberation(actor, loaded.community())?;
    forms_groups(loaded)?;
    if draft.building_ids.iter().any(|id| !loaded.buildings.iter().any(|b| b.id == *id)) {
        return Err(ApiError::validation("building_ids", "only buildings the deliberation affects"));
    }
    let mut members: BTreeSet<i64> = draft.member_ids.iter().map(|u| u.0).collect();
    members.extend(community::residents_of_buildings(&state.db, &draft.building_ids).await?);
    let members: Vec<i64> = members.into_iter().collect();
    let known = crate::identity::users::count_existing(&state.db, &members).await?;
    if known != members.len() {
        return Err(ApiError::validation("member_ids", "no such user"));
    }
    let texts = [draft.name.into_inner(), draft.description.map(Note::into_inner).unwrap_or_default()];
    let [name, description] = screen(state, actor, texts).await?;
    let now = state.clock.now();
    let group = store::insert_group(&state.db, loaded.deliberation.id, name, description, &members, now).await?;
    Ok((group, members))
}

fn forms_groups(loaded: &Loaded) -> ApiResult<()> {
    let status = loaded.status()?;
    if status.forms_groups() {
        Ok(())
    } else {
        Err(DeliberationError::WrongStatus { action: "form_groups".to_owned(), status: status.as_str().to_owned() }
            .into())
    }
}

/// The committee appoints a member of a group as one of its 1–3 representatives, with a reason.
pub async fn appoint(
    state: &AppState,
    actor: &Actor,
    loaded: &Loaded,
    group_id: i64,
    user: UserId,
    reason: Note,
) -> ApiResult<deliberation_panel::Model> {
    authz::seat_on_panel(actor, loaded.community(), user)?;
    forms_groups(loaded)?;
    let group = store::get_group(&state.db, loaded.deliberation.id, group_id).await?;
    check_candidate(state, loaded, &group, user).await?;
    let reason = author::screen(state, actor.id, TextScene::Comment, reason.into_inner()).await?;
    let seat = Seat {
        deliberation_id: loaded.deliberation.id,
        group_id: group.id,
        user_id: user.0,
        kind: PanelKind::Representative,
        chosen_by: ChosenBy::Appointed,
        profession: None,
        reason: Some(reason),
        decided_by: Some(actor.id.0),
    };
    store::seat(&state.db, seat, state.clock.now()).await
}

/// A representative is a member of their group (when it lists members), and a group has at most 3.
pub(super) async fn check_candidate(
    state: &AppState,
    loaded: &Loaded,
    group: &deliberation_group::Model,
    user: UserId,
) -> ApiResult<()> {
    let members = store::members_of(&state.db, &[group.id]).await?;
    if !members.is_empty() && !members.iter().any(|(_, member)| *member == user.0) {
        return Err(ApiError::validation("user_id", "not a member of this group"));
    }
    let seats = store::panel_of(&state.db, loaded.deliberation.id).await?;
    if seats.iter().filter(|s| s.group_id == group.id).count() >= REPRESENTATIVES_MAX {
        return Err(DeliberationError::TooManyRepresentatives.into());
    }
    Ok(())
}

/// The committee invites a professional (lawyer, accountant, engineer) to the panel.
pub async fn invite_professional(
    state: &AppState,
    actor: &Actor,
    loaded: &Loaded,
    user: UserId,
    profession: Profession,
    reason: Option<Note>,
) -> ApiResult<deliberation_panel::Model> {
    authz::seat_on_panel(actor, loaded.community(), user)?;
    let status = loaded.status()?;
    if !status.invites_professionals() {
        let status = status.as_str().to_owned();
        return Err(DeliberationError::WrongStatus { action: "invite_professional".to_owned(), status }.into());
    }
    crate::identity::users::get(&state.db, user).await.map_err(|_| ApiError::validation("user_id", "no such user"))?;
    let reason = author::screen_optional(state, actor.id, TextScene::Comment, reason.map(Note::into_inner)).await?;
    let seat = Seat {
        deliberation_id: loaded.deliberation.id,
        group_id: 0,
        user_id: user.0,
        kind: PanelKind::Professional,
        chosen_by: ChosenBy::Invited,
        profession: Some(profession),
        reason,
        decided_by: Some(actor.id.0),
    };
    store::seat(&state.db, seat, state.clock.now()).await
}

/// Everything shown on a deliberation's page; a resolved deliberation whose resolutions are all
/// carried out is settled first.
pub struct Overview {
    pub deliberation: deliberation::Model,
    pub building_ids: Vec<i64>,
    pub request_ids: Vec<i64>,
    pub groups: Vec<(deliberation_group::Model, Vec<i64>)>,
    pub panel: Vec<deliberation_panel::Model>,
    pub meetings: Vec<super::meetings::MeetingSummary>,
    pub resolutions: Vec<resolutions::Progress>,
}

pub async fn overview(state: &AppState, loaded: Loaded) -> ApiResult<Overview> {
    let id = loaded.deliberation.id;
    let deliberation = resolutions::settle(state, loaded.deliberation).await?;
    let groups = store::groups_of(&state.db, id).await?;
    let group_ids: Vec<i64> = groups.iter().map(|g| g.id).collect();
    let members = store::members_of(&state.db, &group_ids).await?;
    let groups = groups
        .into_iter()
        .map(|g| {
            let of = members.iter().filter(|(group, _)| *group == g.id).map(|(_, user)| *user).collect();
            (g, of)
        })
        .collect();
    Ok(Overview {
        building_ids: loaded.buildings.iter().map(|b| b.id).collect(),
        request_ids: store::requests_of(&state.db, id).await?,
        groups,
        panel: store::panel_of(&state.db, id).await?,
        meetings: super::meetings::summaries(state, id).await?,
        resolutions: resolutions::progress(state, id).await?,
        deliberation,
    })
}
