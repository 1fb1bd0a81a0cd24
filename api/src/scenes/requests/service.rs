//! The use cases of 邻办事: each takes the app's state (database, clock, cache, WeChat), the caller
//! already loaded as an `Actor`, and input already parsed into domain types; it authorises, screens
//! text that others will read, owns its transaction, and returns rows for `http.rs` to show.

use std::sync::Arc;

use chrono::Duration;
use ehome_entities::{building, request_category, service_request, user};
use sea_orm::EntityTrait;

use super::categories::{CategoryChange, NewCategory};
pub use super::commissioned::{
    Commission, RESOLUTION_CATEGORY_KEY, check_owner, open_commissioned, progress_of, resolution_category,
};
use super::error::RequestError;
use super::kept::KeptPage;
/// For other scenes and identity: what to call after committing a change to a community's requests
/// or to a reporter (`kept.rs`).
pub use super::kept::{changed as requests_changed, reporter_changed, stats_changed};
use super::lifecycle::{ActingRole, Action, ActorKind, Level, Status};
use super::queue::{Cursor, QueueFilter};
use super::store::{self, Moderated, NewRequest, Placement, Submission, Transition};
use super::{categories, record_status_change, routing};
use crate::authz::{self, Actor, RequestAccess, RequestScope};
use crate::domain::{BuildingId, CommunityId, Description, Label, Location, Note, RatingText, Role, Title, UserId};
use crate::identity::auth::AuthUser;
use crate::identity::author;
use crate::platform::content::{self, Author, PublicText, Verdict, WhenUnsure};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::wechat::TextScene;
use crate::scenes::community::service as community;
use crate::state::AppState;

/// A new report as the resident typed it, validated.
pub struct Report {
    pub category_id: i64,
    pub building_id: Option<BuildingId>,
    pub title: Title,
    pub description: Description,
    pub location: Option<Location>,
    pub photos: Vec<String>,
    pub urgency: super::lifecycle::Urgency,
    pub anonymous: bool,
}

pub struct Submitted {
    pub request: service_request::Model,
    pub reporter: user::Model,
    pub access: RequestAccess,
    pub similar: Vec<(store::SimilarRow, f64)>,
}

pub fn scope_of(request: &service_request::Model) -> RequestScope {
    RequestScope {
        community: CommunityId(request.community_id),
        grid_id: request.grid_id,
        building_id: request.building_id,
        reporter_id: request.reporter_id,
        assignee_id: request.assignee_id,
        published: request.moderation == super::lifecycle::Moderation::Published.as_str(),
    }
}

/// Loads a request the caller can see; one they cannot see does not exist for them.
pub async fn visible(
    state: &AppState,
    caller: AuthUser,
    id: i64,
) -> ApiResult<(service_request::Model, Actor, RequestAccess)> {
    let request = store::get(&state.db, id).await?;
    let actor = Actor::of(state, caller).await?;
    let access = access_to(&actor, &request)?;
    Ok((request, actor, access))
}

/// The caller's access to a request they may see; a request they may not see does not exist for them.
fn access_to(actor: &Actor, request: &service_request::Model) -> ApiResult<RequestAccess> {
    let access = authz::request_access(actor, &scope_of(request));
    if !access.visible {
        return Err(ApiError::NotFound("request"));
    }
    Ok(access)
}

/// The building a report is about: the one it names, else the reporter's one home.
fn building_of(actor: &Actor, report: &Report) -> ApiResult<BuildingId> {
    match (report.building_id, actor.homes()) {
        (Some(id), _) => Ok(id),
        (None, [home]) => Ok(BuildingId(home.building_id)),
        (None, _) => Err(ApiError::validation("building_id", "required unless you belong to exactly one household")),
    }
}

/// The report's building, the active category it names and the first holders of the building's
/// person levels (for routing), in one statement when the community's categories exist.
async fn building_and_category(
    state: &AppState,
    actor: &Actor,
    building_id: BuildingId,
    named: bool,
    category_id: i64,
) -> ApiResult<(building::Model, request_category::Model, Vec<routing::Holder>)> {
    let Some((building, category, holders)) = categories::in_building(&state.db, building_id.0, category_id).await?
    else {
        return Err(if named {
            ApiError::validation("building_id", "no such building")
        } else {
            ApiError::NotFound("building")
        });
    };
    authz::submit_request(actor, CommunityId(building.community_id))?;
    let category = match category {
        Some(category) => Some(category),
        // A community whose categories were never listed gets its defaults here, as on listing.
        None => categories::list(&state.db, CommunityId(building.community_id), state.clock.now())
            .await?
            .into_iter()
            .find(|c| c.id == category_id),
    };
    match category {
        Some(category) if category.active => Ok((building, category, holders)),
        _ => Err(ApiError::validation("category_id", "not an active category of this community")),
    }
}

/// Submits a report: routed to the building's leader (else the grid worker, else the committee), held
/// for the committee when the text check is unsure, refused when it finds the text risky.
pub async fn submit(state: &AppState, actor: &Actor, report: Report) -> ApiResult<Submitted> {
    let building_id = building_of(actor, &report)?;
    // `REQUEST_SUBMISSIONS_PER_HOUR` is counted with the write limits (`platform::rate_limit`).
    let reporter = actor.user().clone();
    let author = Author { openid: &reporter.openid, scene: TextScene::Forum };
    let texts = [
        report.title.into_inner(),
        report.description.into_inner(),
        report.location.map(Location::into_inner).unwrap_or_default(),
    ];
    let ([title, description, location], verdict) =
        content::screen(&state.wechat, author, texts, WhenUnsure::Hold).await?;
    // The building and its holders are read after the text check (which may wait on WeChat), so that
    // the holders routed to are as current as the insert that follows allows.
    let named = report.building_id.is_some();
    let (building, category, holders) =
        building_and_category(state, actor, building_id, named, report.category_id).await?;
    let community_id = CommunityId(building.community_id);
    let now = state.clock.now();
    let similar = store::similar_open(&state.db, building.id, category.id, title.as_str()).await?;
    let new = NewRequest {
        title: title.into_inner(),
        description: description.into_inner(),
        location: Some(location.into_inner()).filter(|l| !l.is_empty()),
        photos: report.photos,
        urgency: report.urgency,
        anonymous: report.anonymous,
    };
    let moderated = match verdict {
        Verdict::Publish => Moderated { moderation: super::lifecycle::Moderation::Published, note: None },
        Verdict::Hold(reason) => {
            Moderated { moderation: super::lifecycle::Moderation::Held, note: Some(reason.to_owned()) }
        }
    };
    let case = authz::Case::Request { reporter: actor.id };
    // Its holders were read with the building, in the same statement.
    let (level, assignee_id) =
        routing::route_among(&holders, building.grid_id, building.id, Level::BuildingLeader, &case);
    let placement = Placement {
        community_id: building.community_id,
        grid_id: building.grid_id,
        building_id: building.id,
        level,
        assignee_id,
    };
    let submission = Submission { reporter_id: actor.id.0, category: &category, placement, new, moderated };
    let request = store::insert_alone(&state.db, submission, now).await?;
    super::kept::changed(state, [community_id]).await;
    let access = authz::request_access(actor, &scope_of(&request));
    Ok(Submitted { request, reporter, access, similar })
}

/// Open requests like the one the resident is about to report.
pub async fn similar(
    state: &AppState,
    actor: &Actor,
    building_id: BuildingId,
    category_id: i64,
    title: &Title,
) -> ApiResult<Vec<(store::SimilarRow, f64)>> {
    let building = community::get_building(&state.db, building_id).await?;
    authz::submit_request(actor, CommunityId(building.community_id))?;
    store::similar_open(&state.db, building.id, category_id, title.as_str()).await
}

pub fn kind_allows(kind: ActorKind, access: &RequestAccess) -> bool {
    match kind {
        ActorKind::Handler => access.handler,
        ActorKind::Reporter => access.reporter,
        ActorKind::Supervisor => access.supervisor,
        ActorKind::Moderator => access.moderator,
        ActorKind::System => false,
    }
}

/// The role an actor acts in, for the timeline.
pub fn acting_role(actor: &Actor, request: &service_request::Model, kind: ActorKind) -> ActingRole {
    let community = CommunityId(request.community_id);
    if kind == ActorKind::Reporter {
        ActingRole::Reporter
    } else if actor.is_admin {
        ActingRole::Admin
    } else if actor.has(community, Role::Committee) {
        ActingRole::Committee
    } else if actor.has_scoped(community, Role::GridWorker, request.grid_id) {
        ActingRole::GridWorker
    } else if actor.has_scoped(community, Role::BuildingLeader, request.building_id) {
        ActingRole::BuildingLeader
    } else {
        ActingRole::Assignee
    }
}

/// The level a new assignee handles a request at: the most local of their roles that covers it, so
/// that escalation climbs from there.
fn assignee_level(assignee: &Actor, request: &service_request::Model) -> Option<Level> {
    level_of(assignee, CommunityId(request.community_id), request.grid_id, request.building_id)
}

/// The most local level at which a person handles requests of this building.
pub(super) fn level_of(assignee: &Actor, community: CommunityId, grid_id: i64, building_id: i64) -> Option<Level> {
    if assignee.has_scoped(community, Role::BuildingLeader, building_id) {
        Some(Level::BuildingLeader)
    } else if assignee.has_scoped(community, Role::GridWorker, grid_id) {
        Some(Level::GridWorker)
    } else if assignee.has(community, Role::Committee) || assignee.has(community, Role::SocialWorker) {
        Some(Level::Committee)
    } else {
        None
    }
}

async fn reassign_target(
    state: &AppState,
    request: &service_request::Model,
    action: Action,
    assignee_id: Option<UserId>,
) -> ApiResult<Option<(i64, Level)>> {
    match (action, assignee_id) {
        (Action::Reassign, None) => Err(ApiError::validation("assignee_id", "required to reassign")),
        (Action::Reassign, Some(id)) => {
            let assignee = Actor::load(&state.db, AuthUser { id })
                .await
                .map_err(|_| ApiError::validation("assignee_id", "no such user"))?;
            let level = assignee_level(&assignee, request)
                .filter(|_| authz::can_be_assigned(&assignee, &scope_of(request)))
                .ok_or_else(|| {
                    ApiError::validation(
                        "assignee_id",
                        "not a handler of this request's building or grid, or its reporter",
                    )
                })?;
            Ok(Some((id.0, level)))
        }
        (_, Some(_)) => Err(ApiError::validation("assignee_id", "only for reassign")),
        (_, None) => Ok(None),
    }
}

/// A person's transition: authorised by the kind of caller the action is for, screened (the note is
/// shown on the timeline), applied through the state machine, and the followers told after commit.
pub async fn transition(
    state: &AppState,
    actor: &Actor,
    request: service_request::Model,
    access: &RequestAccess,
    action: Action,
    note: Option<Note>,
    assignee_id: Option<UserId>,
) -> ApiResult<service_request::Model> {
    let kind = action.actor();
    if !kind_allows(kind, access) {
        return Err(access.refusal());
    }
    if action.needs_note() && note.is_none() {
        return Err(ApiError::validation("note", "a reason is required for this action"));
    }
    let reassign_to = reassign_target(state, &request, action, assignee_id).await?;
    let note = author::screen_optional(state, actor.id, TextScene::Comment, note.map(Note::into_inner)).await?;
    let now = state.clock.now();
    let category = categories::get(&state.db, request.category_id).await?;
    let change = Transition {
        action,
        actor_id: Some(actor.id.0),
        actor_role: acting_role(actor, &request, kind),
        note: note.map(PublicText::into_inner),
        reassign_to,
    };
    let window = Duration::days(state.settings.requests.confirm_window_days);
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let updated = store::transition(&txn, &request, &category, change, window, now).await?;
    let notices = match store::status_of(&updated)? {
        to if updated.status != request.status => record_status_change(&txn, &updated, to, now).await?,
        _ => Vec::new(),
    };
    txn.commit().await?;
    super::kept::changed(state, [CommunityId(updated.community_id)]).await;
    crate::scenes::notifications::push_all(state, notices, now).await;
    Ok(updated)
}

/// A comment on the timeline: public ones are screened; internal notes are for handlers only.
pub async fn comment(
    state: &AppState,
    actor: &Actor,
    request: &service_request::Model,
    access: &RequestAccess,
    body: Note,
    internal: bool,
) -> ApiResult<()> {
    if internal && !access.handler {
        return Err(ApiError::Forbidden);
    }
    // Internal notes are never published; public comments pass the text check first.
    let body = if internal {
        body.into_inner()
    } else {
        let author = actor.user().clone();
        content::screen_one(
            &state.wechat,
            Author { openid: &author.openid, scene: TextScene::Comment },
            body.into_inner(),
        )
        .await?
        .into_inner()
    };
    let role = if access.reporter {
        ActingRole::Reporter
    } else if access.handler {
        acting_role(actor, request, ActorKind::Handler)
    } else {
        ActingRole::Neighbour
    };
    store::comment(&state.db, request, actor.id.0, role, body, internal, state.clock.now()).await?;
    // The request's kept detail shows its timeline.
    super::kept::changed(state, [CommunityId(request.community_id)]).await;
    Ok(())
}

/// The reporter's rating, once, after resolution; its words are shown with the request.
pub async fn rate(
    state: &AppState,
    actor: &Actor,
    request: &service_request::Model,
    access: &RequestAccess,
    score: i32,
    text: Option<RatingText>,
) -> ApiResult<service_request::Model> {
    if !access.reporter {
        return Err(ApiError::Forbidden);
    }
    let text = author::screen_optional(state, actor.id, TextScene::Comment, text.map(RatingText::into_inner)).await?;
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let rated = store::rate(&txn, request, score, text.map(PublicText::into_inner), state.clock.now()).await?;
    txn.commit().await?;
    super::kept::changed(state, [CommunityId(rated.community_id)]).await;
    Ok(rated)
}

/// "Me too" on an open request.
pub async fn me_too(
    state: &AppState,
    actor: &Actor,
    request: &service_request::Model,
) -> ApiResult<service_request::Model> {
    if !request.is_open {
        let status = request.status.clone();
        return Err(RequestError::InvalidTransition { action: "me_too".to_owned(), status }.into());
    }
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let updated = store::me_too(&txn, request, actor.id.0, state.clock.now()).await?;
    txn.commit().await?;
    super::kept::changed(state, [CommunityId(updated.community_id)]).await;
    Ok(updated)
}

/// The actions the caller could take now, for the mini-program's buttons.
pub fn available_actions(request: &service_request::Model, access: &RequestAccess) -> Vec<&'static str> {
    let Ok(state) = store::state_of(request) else { return Vec::new() };
    Action::ALL
        .iter()
        .copied()
        .filter(|action| kind_allows(action.actor(), access))
        .filter(|action| action.apply(state.status).is_some())
        .filter(|action| *action != Action::Release || state.moderation == super::lifecycle::Moderation::Held)
        .map(Action::as_str)
        .collect()
}

/// Whether the statuses named in a filter exist.
pub fn parse_statuses(list: Option<&str>) -> ApiResult<Vec<String>> {
    let Some(list) = list else { return Ok(Vec::new()) };
    list.split(',')
        .map(|s| {
            Status::parse(s.trim())
                .map(|s| s.as_str().to_owned())
                .ok_or_else(|| ApiError::validation("status", format!("unknown status {s:?}")))
        })
        .collect()
}

/// The community a list is about: the one named, else the caller's only community.
async fn list_community(state: &AppState, actor: &Actor, named: Option<CommunityId>) -> ApiResult<CommunityId> {
    let id = match named {
        Some(id) => id,
        None => match actor.homes() {
            [home] => CommunityId(home.community_id),
            _ => {
                let reason = "required unless you belong to exactly one community";
                return Err(ApiError::validation("community_id", reason));
            }
        },
    };
    // A role there says the community exists; anyone else learns it from the database (or a 404).
    if !actor.in_community(id) || actor.is_admin {
        community::get_community(&state.db, id).await?;
    }
    Ok(id)
}

/// One page of the queue (or a resident's list), each request with its reporter and the caller's
/// access to it.
pub struct Page {
    /// The page as kept for the community (see `kept.rs`), shared by its readers.
    pub kept: Arc<KeptPage>,
    /// The caller's access to each of its rows, in order.
    pub access: Vec<RequestAccess>,
}

pub async fn list(
    state: &AppState,
    actor: &Actor,
    community: Option<CommunityId>,
    mut filter: QueueFilter,
    cursor: Option<Cursor>,
    limit: u64,
) -> ApiResult<Page> {
    let community_id = list_community(state, actor, community).await?;
    filter.community_id = community_id.0;
    let scope = authz::request_list_scope(actor, community_id);
    // One statement per rank, each with its reporters joined (uniting the two ranks in one statement
    // measured slower: its planning alone cost more than the round trip it saved; docs/benchmarks.md),
    // and the page kept while nothing in the community changes (`kept.rs`).
    let kept = super::kept::page(state, &filter, &scope, cursor, limit).await?;
    let access = kept.rows.iter().map(|(request, _, _)| authz::request_access(actor, &scope_of(request))).collect();
    Ok(Page { kept, access })
}

/// A request with its timeline (internal notes for handlers only; the reporter of an anonymous request
/// hidden from the public) and the actions the caller may take.
pub struct Detail {
    pub request: service_request::Model,
    pub reporter: Option<user::Model>,
    pub access: RequestAccess,
    pub timeline: Vec<ehome_entities::request_event::Model>,
    pub hide_reporter: Option<i64>,
    pub actions: Vec<&'static str>,
}

/// What a caller sees of a request after acting on it: the request, its reporter and timeline.
pub async fn detail(state: &AppState, request: service_request::Model, access: RequestAccess) -> ApiResult<Detail> {
    let reporter = user::Entity::find_by_id(request.reporter_id).one(&state.db).await?;
    with_timeline(state, request, reporter, access).await
}

/// A request's detail page: the request with its reporter and timeline (kept per instance, else one
/// statement) beside the caller; the internal entries are left out for whoever is not handling it.
pub async fn read_detail(state: &AppState, caller: AuthUser, id: i64) -> ApiResult<Detail> {
    let (kept, actor) = futures::try_join!(super::kept::detail(state, id), Actor::of(state, caller))?;
    let access = access_to(&actor, &kept.request)?;
    let timeline = kept.timeline.iter().filter(|event| access.handler || !event.internal).cloned().collect();
    Ok(detail_of(kept.request.clone(), kept.reporter.clone(), access, timeline))
}

async fn with_timeline(
    state: &AppState,
    request: service_request::Model,
    reporter: Option<user::Model>,
    access: RequestAccess,
) -> ApiResult<Detail> {
    let timeline = store::timeline(&state.db, request.id, access.handler).await?;
    Ok(detail_of(request, reporter, access, timeline))
}

fn detail_of(
    request: service_request::Model,
    reporter: Option<user::Model>,
    access: RequestAccess,
    timeline: Vec<ehome_entities::request_event::Model>,
) -> Detail {
    let full = access.handler || access.reporter;
    let actions = available_actions(&request, &access);
    Detail { hide_reporter: (!full).then_some(request.reporter_id), request, reporter, access, timeline, actions }
}

/// A new category: its name is shown to every resident who reports, so it is screened.
pub async fn create_category(
    state: &AppState,
    actor: &Actor,
    community: CommunityId,
    draft: NewCategory<Label>,
) -> ApiResult<request_category::Model> {
    authz::manage_requests(actor, community)?;
    let name = author::screen(state, actor.id, TextScene::Profile, draft.name.into_inner()).await?;
    let new = NewCategory {
        key: draft.key,
        name,
        response_sla_hours: draft.response_sla_hours,
        resolution_sla_hours: draft.resolution_sla_hours,
    };
    categories::create(&state.db, community, new, state.clock.now()).await
}

pub async fn update_category(
    state: &AppState,
    actor: &Actor,
    id: i64,
    draft: CategoryChange<Label>,
) -> ApiResult<request_category::Model> {
    let category = categories::get(&state.db, id).await?;
    authz::manage_requests(actor, CommunityId(category.community_id))?;
    let name = author::screen_optional(state, actor.id, TextScene::Profile, draft.name.map(Label::into_inner)).await?;
    let change = CategoryChange {
        name,
        response_sla_hours: draft.response_sla_hours,
        resolution_sla_hours: draft.resolution_sla_hours,
        active: draft.active,
    };
    let updated = categories::update(&state.db, category, change).await?;
    // The statistics name their categories.
    super::kept::changed(state, [CommunityId(updated.community_id)]).await;
    Ok(updated)
}

/// The id of a community's active category with this key (`elderly_care` for the care round's visits),
/// falling back to `other`; made with the community's defaults on first use.
pub async fn category_for(state: &AppState, community: CommunityId, key: &str) -> ApiResult<i64> {
    let all = categories::list(&state.db, community, state.clock.now()).await?;
    let found =
        all.iter().find(|c| c.active && c.key == key).or_else(|| all.iter().find(|c| c.active && c.key == "other"));
    found.map(|c| c.id).ok_or_else(|| ApiError::validation("category", "the community has no active category for this"))
}
