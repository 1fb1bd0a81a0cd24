//! The use cases of notices: publish to an area (screened, recorded in every resident's inbox and
//! pushed as a subscribe message after commit), list and read them, record a household's read
//! receipt, and the follow-up of important notices: the households a building leader still has to
//! reach, "told in person", and the committee's reach per building.

use std::collections::{BTreeMap, BTreeSet};

use ehome_entities::{building, household, notice, notice_told};

use super::error::NoticeError;
use super::lifecycle::Importance;
use super::store::{self, ListScope, NewNotice};
use crate::authz::{self, Actor, BuildingPlace};
use crate::domain::{Area, CommunityId, Description, HouseholdId, Note, Role, Title};
use crate::identity::author;
use crate::platform::content::{self, Author, WhenUnsure};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::pagination::Keyset;
use crate::platform::wechat::TextScene;
use crate::scenes::community::service as community;
use crate::scenes::notifications::{self, Notice};
use crate::state::AppState;

/// A notice as its author typed it, validated.
pub struct Draft {
    pub community: CommunityId,
    pub area: Area,
    pub title: Title,
    pub body: Description,
    pub importance: Importance,
    pub attachments: Vec<String>,
}

fn place(building: &building::Model) -> BuildingPlace {
    BuildingPlace { building_id: building.id, grid_id: building.grid_id }
}

/// Publishes a notice: the author must cover every building of the area; the title and body pass the
/// text check (refused when unsure: a notice is published at once); every resident of the area gets
/// it in their inbox and, when subscribed, on their phone.
pub async fn publish(state: &AppState, actor: &Actor, draft: Draft) -> ApiResult<(notice::Model, Vec<i64>)> {
    let found = community::get_community(&state.db, draft.community).await?;
    let community_id = CommunityId(found.id);
    let buildings = community::buildings_in_area(&state.db, community_id, &draft.area, "scope").await?;
    let places: Vec<BuildingPlace> = buildings.iter().map(place).collect();
    authz::publish_notice(actor, community_id, draft.area.kind(), &places)?;
    let writer = actor.user().clone();
    let author = Author { openid: &writer.openid, scene: TextScene::Forum };
    let texts = [draft.title.into_inner(), draft.body.into_inner()];
    let ([title, body], _) = content::screen(&state.wechat, author, texts, WhenUnsure::Refuse).await?;
    let building_ids: Vec<i64> = buildings.iter().map(|b| b.id).collect();
    let residents = community::residents_of_buildings(&state.db, &building_ids).await?;
    let now = state.clock.now();
    let new = NewNotice {
        community_id: community_id.0,
        author_id: actor.id.0,
        area: draft.area,
        buildings: building_ids.clone(),
        title,
        body,
        importance: draft.importance,
        attachments: draft.attachments,
    };
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let row = store::insert(&txn, new, now).await?;
    let notices: Vec<Notice> = residents
        .into_iter()
        .filter(|user| *user != actor.id.0)
        .map(|user| notice_for(&row, user, draft.importance))
        .collect();
    for notice in &notices {
        notifications::record(&txn, notice, now).await?;
    }
    txn.commit().await?;
    notifications::push_all(state, notices, now).await;
    Ok((row, building_ids))
}

fn notice_for(row: &notice::Model, user_id: i64, importance: Importance) -> Notice {
    Notice {
        user_id,
        kind: "notice",
        title: row.title.clone(),
        body: format!("【{}】{}", importance.label(), row.body.chars().take(120).collect::<String>()),
        request_id: None,
        phrase: importance.label().to_owned(),
    }
}

/// What the caller may do with one notice.
pub struct NoticeAccess {
    /// Covers at least one of its buildings (leader, grid worker, committee).
    pub staff: bool,
    pub author: bool,
    /// The caller's households that the notice reaches.
    pub homes: Vec<household::Model>,
}

impl NoticeAccess {
    fn visible(&self) -> bool {
        self.staff || self.author || !self.homes.is_empty()
    }
}

/// A notice with the buildings it reaches.
pub struct Loaded {
    pub notice: notice::Model,
    pub buildings: Vec<building::Model>,
    pub access: NoticeAccess,
}

/// Loads a notice the caller may see; one they may not does not exist for them.
pub async fn visible(state: &AppState, actor: &Actor, id: i64) -> ApiResult<Loaded> {
    let notice = store::get(&state.db, id).await?;
    let ids = store::buildings_of(&state.db, notice.id).await?;
    let buildings = community::buildings_by_id(&state.db, &ids).await?;
    let community = CommunityId(notice.community_id);
    let staff = buildings.iter().any(|b| authz::covers_building(actor, community, place(b)));
    let homes = community::homes_of(&state.db, actor.id).await?.into_iter().filter(|h| ids.contains(&h.building_id));
    let access = NoticeAccess { staff, author: notice.author_id == actor.id.0, homes: homes.collect() };
    if !access.visible() {
        return Err(ApiError::NotFound("notice"));
    }
    Ok(Loaded { notice, buildings, access })
}

/// A community's notices the caller may see, newest first: all of them for the committee; for
/// others, those reaching their homes or the buildings they cover, and their own.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    community_id: CommunityId,
    keyset: &Keyset,
) -> ApiResult<Vec<notice::Model>> {
    community::get_community(&state.db, community_id).await?;
    if !actor.in_community(community_id) {
        return Err(ApiError::Forbidden);
    }
    let scope = if actor.is_admin || actor.has(community_id, Role::Committee) {
        ListScope::All
    } else {
        let buildings = community::buildings_involving(&state.db, actor, community_id).await?;
        ListScope::Reaching { buildings, author_id: actor.id.0 }
    };
    store::page(&state.db, community_id.0, scope, keyset).await
}

/// Whether every one of the caller's households the notice reaches has read it.
pub async fn read_by_my_households(state: &AppState, loaded: &Loaded) -> ApiResult<Option<bool>> {
    if loaded.access.homes.is_empty() {
        return Ok(None);
    }
    let read: BTreeSet<i64> =
        store::reads(&state.db, loaded.notice.id).await?.into_iter().map(|r| r.household_id).collect();
    Ok(Some(loaded.access.homes.iter().all(|h| read.contains(&h.id))))
}

/// The caller opened the notice: each of their households it reaches has read it (the first opener's
/// receipt stays). Returns those households.
pub async fn mark_read(state: &AppState, actor: &Actor, loaded: &Loaded) -> ApiResult<Vec<i64>> {
    let homes: Vec<i64> = loaded.access.homes.iter().map(|h| h.id).collect();
    store::mark_read(&state.db, loaded.notice.id, &homes, actor.id.0, state.clock.now()).await?;
    Ok(homes)
}

fn follow_up(notice: &notice::Model) -> ApiResult<()> {
    if store::importance_of(notice)?.needs_follow_up() { Ok(()) } else { Err(NoticeError::NotImportant.into()) }
}

/// A household that has not read an important notice, and whether someone told it in person.
pub struct Unread {
    pub household: household::Model,
    pub told: Option<notice_told::Model>,
}

/// The households of the buildings the caller covers (or of the one named) that have not read an
/// important or urgent notice.
pub async fn unread_households(
    state: &AppState,
    actor: &Actor,
    loaded: &Loaded,
    building: Option<i64>,
) -> ApiResult<Vec<Unread>> {
    follow_up(&loaded.notice)?;
    let community = CommunityId(loaded.notice.community_id);
    if let Some(id) = building
        && !loaded.buildings.iter().any(|b| b.id == id)
    {
        return Err(ApiError::validation("building_id", "the notice does not reach this building"));
    }
    let covered: Vec<i64> = loaded
        .buildings
        .iter()
        .filter(|b| building.is_none_or(|id| id == b.id))
        .filter(|b| authz::covers_building(actor, community, place(b)))
        .map(|b| b.id)
        .collect();
    if covered.is_empty() {
        return Err(ApiError::Forbidden);
    }
    let read: BTreeSet<i64> =
        store::reads(&state.db, loaded.notice.id).await?.into_iter().map(|r| r.household_id).collect();
    let mut told: BTreeMap<i64, notice_told::Model> =
        store::told(&state.db, loaded.notice.id).await?.into_iter().map(|t| (t.household_id, t)).collect();
    let homes = community::households_in_buildings(&state.db, &covered).await?;
    Ok(homes
        .into_iter()
        .filter(|h| !read.contains(&h.id))
        .map(|household| Unread { told: told.remove(&household.id), household })
        .collect())
}

/// A building leader (or whoever covers the building) told a household in person, with a note.
pub async fn tell_in_person(
    state: &AppState,
    actor: &Actor,
    loaded: &Loaded,
    household: HouseholdId,
    note: Note,
) -> ApiResult<notice_told::Model> {
    follow_up(&loaded.notice)?;
    let home = community::get_household(&state.db, household)
        .await
        .map_err(|_| ApiError::validation("household_id", "no such household"))?;
    let building = loaded
        .buildings
        .iter()
        .find(|b| b.id == home.building_id)
        .ok_or_else(|| ApiError::validation("household_id", "the notice does not reach this household"))?;
    authz::tell_in_person(actor, CommunityId(loaded.notice.community_id), place(building))?;
    let read = store::reads(&state.db, loaded.notice.id).await?;
    if read.iter().any(|r| r.household_id == home.id) {
        return Err(NoticeError::AlreadyRead.into());
    }
    let note = author::screen(state, actor.id, TextScene::Comment, note.into_inner()).await?;
    store::mark_told(&state.db, loaded.notice.id, home.id, actor.id.0, note, state.clock.now()).await
}

/// How far a notice reached in one building.
pub struct BuildingReach {
    pub building: building::Model,
    pub households: usize,
    pub read: usize,
    pub told_in_person: usize,
    pub not_reached: usize,
}

/// The committee's (or the author's) view: per building, households read, told in person (and not
/// read), and not reached.
pub async fn reach(state: &AppState, actor: &Actor, loaded: Loaded) -> ApiResult<Vec<BuildingReach>> {
    authz::notice_reach(actor, CommunityId(loaded.notice.community_id), loaded.notice.author_id)?;
    let ids: Vec<i64> = loaded.buildings.iter().map(|b| b.id).collect();
    let homes = community::households_in_buildings(&state.db, &ids).await?;
    let read: BTreeSet<i64> =
        store::reads(&state.db, loaded.notice.id).await?.into_iter().map(|r| r.household_id).collect();
    let told: BTreeSet<i64> =
        store::told(&state.db, loaded.notice.id).await?.into_iter().map(|t| t.household_id).collect();
    Ok(loaded
        .buildings
        .into_iter()
        .map(|building| {
            let of: Vec<i64> = homes.iter().filter(|h| h.building_id == building.id).map(|h| h.id).collect();
            let read_count = of.iter().filter(|h| read.contains(h)).count();
            let told_count = of.iter().filter(|h| !read.contains(h) && told.contains(h)).count();
            BuildingReach {
                households: of.len(),
                read: read_count,
                told_in_person: told_count,
                not_reached: of.len() - read_count - told_count,
                building,
            }
        })
        .collect())
}
