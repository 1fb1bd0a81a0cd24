//! HTTP handlers of the community structure: parse, authorise, call the service, map the result.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use ehome_entities::{building, community, grid, household, join_request, user};
use serde::{Deserialize, Serialize};

use super::lifecycle::JoinStatus;
use super::service;
use crate::authz::{self, Actor};
use crate::domain::{BuildingId, CommunityId, GridId, HouseholdId, JoinRequestId, Label, Note, RoleGrant, UserId};
use crate::identity::auth::AuthUser;
use crate::identity::me::UserView;
use crate::platform::content::PublicText;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::etag;
use crate::platform::pagination::{PageQuery, page};
use crate::platform::wechat::TextScene;
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct CommunityView {
    id: i64,
    street_id: i64,
    name: String,
}

impl From<community::Model> for CommunityView {
    fn from(m: community::Model) -> Self {
        CommunityView { id: m.id, street_id: m.street_id, name: m.name }
    }
}

#[derive(Debug, Serialize)]
struct GridView {
    id: i64,
    community_id: i64,
    name: String,
}

impl From<grid::Model> for GridView {
    fn from(m: grid::Model) -> Self {
        GridView { id: m.id, community_id: m.community_id, name: m.name }
    }
}

#[derive(Debug, Serialize)]
struct BuildingView {
    id: i64,
    community_id: i64,
    grid_id: i64,
    name: String,
}

impl From<building::Model> for BuildingView {
    fn from(m: building::Model) -> Self {
        BuildingView { id: m.id, community_id: m.community_id, grid_id: m.grid_id, name: m.name }
    }
}

#[derive(Debug, Serialize)]
struct HouseholdView {
    id: i64,
    community_id: i64,
    building_id: i64,
    label: String,
}

impl From<household::Model> for HouseholdView {
    fn from(m: household::Model) -> Self {
        HouseholdView { id: m.id, community_id: m.community_id, building_id: m.building_id, label: m.label }
    }
}

#[derive(Debug, Serialize)]
struct JoinRequestView {
    id: i64,
    household_id: i64,
    community_id: i64,
    building_id: i64,
    status: String,
    note: Option<String>,
    decision_note: Option<String>,
    decided_by: Option<i64>,
    decided_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    applicant: ApplicantView,
}

#[derive(Debug, Serialize)]
struct ApplicantView {
    id: i64,
    nickname: Option<String>,
    /// Masked: handlers see enough to recognise a neighbour, never the whole number.
    phone: Option<String>,
}

fn join_request_view(request: join_request::Model, applicant: Option<user::Model>) -> JoinRequestView {
    let applicant = match applicant {
        Some(user) => {
            let public = UserView::public(&user);
            ApplicantView { id: user.id, nickname: Some(public.nickname), phone: public.phone }
        }
        None => ApplicantView { id: request.user_id, nickname: None, phone: None },
    };
    JoinRequestView {
        id: request.id,
        household_id: request.household_id,
        community_id: request.community_id,
        building_id: request.building_id,
        status: request.status,
        note: request.note,
        decision_note: request.decision_note,
        decided_by: request.decided_by,
        decided_at: request.decided_at,
        created_at: request.created_at,
        applicant,
    }
}

/// Names of places are read by every resident: screened together, in one check.
/// A join request's note (the applicant's, or the decision's) is read by the other side.
async fn screen_note(state: &AppState, author: UserId, note: Option<Note>) -> ApiResult<Option<PublicText>> {
    crate::identity::author::screen_optional(state, author, TextScene::Comment, note.map(Note::into_inner)).await
}

pub async fn list_communities(
    state: web::Data<AppState>,
    _caller: AuthUser,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let keyset = query.keyset()?;
    let rows = service::list_communities(&state.db, &keyset).await?;
    Ok(HttpResponse::Ok().json(page(rows, keyset.limit, |r| r.id, CommunityView::from)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCommunity {
    district: String,
    street: String,
    name: String,
}

pub async fn create_community(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<NewCommunity>,
) -> ApiResult<HttpResponse> {
    let district = Label::parse("district", &body.district)?;
    let street = Label::parse("street", &body.street)?;
    let name = Label::parse("name", &body.name)?;
    let actor = Actor::of(&state, caller).await?;
    authz::create_community(&actor)?;
    let [district, street, name] = service::screen_names(&state, &actor, [district, street, name]).await?;
    let now = state.clock.now();
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let created = service::create_community(&txn, district, street, name, now).await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(CommunityView::from(created)))
}

pub async fn get_community(
    state: web::Data<AppState>,
    _caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let found = service::get_community(&state.db, CommunityId(path.into_inner())).await?;
    Ok(HttpResponse::Ok().json(CommunityView::from(found)))
}

/// With an `ETag`: the structure rarely changes, so a repeat answers `304` (`platform::etag`).
pub async fn list_grids(
    request: HttpRequest,
    state: web::Data<AppState>,
    _caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let keyset = query.keyset()?;
    let rows = service::grids_of(&state.db, CommunityId(path.into_inner()), &keyset).await?;
    etag::json(&request, &page(rows, keyset.limit, |r| r.id, GridView::from))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewName {
    name: String,
}

pub async fn create_grid(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<NewName>,
) -> ApiResult<HttpResponse> {
    let name = Label::parse("name", &body.name)?;
    let created = service::add_grid(&state, caller, CommunityId(path.into_inner()), name).await?;
    Ok(HttpResponse::Created().json(GridView::from(created)))
}

/// With an `ETag`, as the grids.
pub async fn list_buildings(
    request: HttpRequest,
    state: web::Data<AppState>,
    _caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let keyset = query.keyset()?;
    let rows = service::buildings_of(&state.db, GridId(path.into_inner()), &keyset).await?;
    etag::json(&request, &page(rows, keyset.limit, |r| r.id, BuildingView::from))
}

pub async fn create_building(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<NewName>,
) -> ApiResult<HttpResponse> {
    let name = Label::parse("name", &body.name)?;
    let created = service::add_building(&state, caller, GridId(path.into_inner()), name).await?;
    Ok(HttpResponse::Created().json(BuildingView::from(created)))
}

pub async fn list_households(
    state: web::Data<AppState>,
    _caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let keyset = query.keyset()?;
    let rows = service::households_of(&state.db, BuildingId(path.into_inner()), &keyset).await?;
    Ok(HttpResponse::Ok().json(page(rows, keyset.limit, |r| r.id, HouseholdView::from)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewHousehold {
    label: String,
}

pub async fn create_household(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<NewHousehold>,
) -> ApiResult<HttpResponse> {
    let label = Label::parse("label", &body.label)?;
    let created = service::add_household(&state, caller, BuildingId(path.into_inner()), label).await?;
    Ok(HttpResponse::Created().json(HouseholdView::from(created)))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    note: Option<String>,
}

pub async fn create_join_request(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let body: NoteBody = crate::platform::json::optional_body(&body)?;
    let note = Note::parse_optional("note", body.note.as_deref())?;
    let household = service::get_household(&state.db, HouseholdId(path.into_inner())).await?;
    let note = screen_note(&state, caller.id, note).await?;
    let now = state.clock.now();
    let user = caller.id;
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let created = service::create_join_request(&txn, user, &household, note, now).await?;
    txn.commit().await?;
    let applicant = crate::identity::users::get(&state.db, caller.id).await.ok();
    Ok(HttpResponse::Created().json(join_request_view(created, applicant)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRequestQuery {
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<u64>,
}

pub async fn list_join_requests(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<JoinRequestQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let keyset = PageQuery { cursor: query.cursor, limit: query.limit }.keyset()?;
    let status = match query.status.as_deref() {
        None => None,
        Some(word) => Some(
            JoinStatus::parse(word)
                .ok_or_else(|| ApiError::validation("status", "pending, approved or rejected"))?
                .as_str(),
        ),
    };
    let community = service::get_community(&state.db, CommunityId(path.into_inner())).await?;
    let actor = Actor::of(&state, caller).await?;
    let scope = authz::list_join_requests(&actor, CommunityId(community.id))?;
    let rows = service::list_join_requests(&state.db, CommunityId(community.id), &scope, status, &keyset).await?;
    Ok(HttpResponse::Ok().json(page(rows, keyset.limit, |(r, _)| r.id, |(r, u)| join_request_view(r, u))))
}

async fn decide(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: i64,
    body: web::Bytes,
    approve: bool,
) -> ApiResult<HttpResponse> {
    let body: NoteBody = crate::platform::json::optional_body(&body)?;
    let note = Note::parse_optional("note", body.note.as_deref())?;
    let request = service::get_join_request(&state.db, JoinRequestId(id)).await?;
    let actor = Actor::of(&state, caller).await?;
    let (community, building, applicant) =
        (CommunityId(request.community_id), BuildingId(request.building_id), UserId(request.user_id));
    authz::decide_join_request(&actor, community, building, applicant)?;
    let note = screen_note(&state, actor.id, note).await?;
    let now = state.clock.now();
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let decided = service::decide_join_request(&txn, &request, actor.id, approve, note, now).await?;
    txn.commit().await?;
    if approve {
        crate::identity::caller::changed(&state, applicant).await;
    }
    let applicant = crate::identity::users::get(&state.db, UserId(decided.user_id)).await.ok();
    Ok(HttpResponse::Ok().json(join_request_view(decided, applicant)))
}

pub async fn approve_join_request(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    decide(state, caller, path.into_inner(), body, true).await
}

pub async fn reject_join_request(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    decide(state, caller, path.into_inner(), body, false).await
}

#[derive(Debug, Serialize)]
struct RolesView {
    community_id: i64,
    user_id: i64,
    roles: Vec<RoleGrant>,
}

pub async fn get_roles(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (community_id, user_id) = path.into_inner();
    let community = service::get_community(&state.db, CommunityId(community_id)).await?;
    let actor = Actor::of(&state, caller).await?;
    authz::view_roles(&actor, CommunityId(community.id), UserId(user_id))?;
    let roles = service::get_roles(&state.db, CommunityId(community.id), UserId(user_id)).await?;
    Ok(HttpResponse::Ok().json(RolesView { community_id, user_id, roles }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutRoles {
    roles: Vec<RoleGrant>,
}

pub async fn put_roles(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, i64)>,
    body: web::Json<PutRoles>,
) -> ApiResult<HttpResponse> {
    let (community_id, user_id) = path.into_inner();
    let community = service::get_community(&state.db, CommunityId(community_id)).await?;
    let actor = Actor::of(&state, caller).await?;
    authz::assign_roles(&actor, CommunityId(community.id), UserId(user_id))?;
    let now = state.clock.now();
    let grants = body.into_inner().roles;
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let roles =
        service::change_roles(&txn, CommunityId(community_id), UserId(user_id), &grants, Some(actor.id), now).await?;
    txn.commit().await?;
    crate::identity::caller::changed(&state, UserId(user_id)).await;
    // Open work the new roles no longer cover was handed up in the same transaction.
    crate::scenes::requests::service::requests_changed(&state, [CommunityId(community_id)]).await;
    Ok(HttpResponse::Ok().json(RolesView { community_id, user_id, roles }))
}
