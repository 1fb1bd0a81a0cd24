//! HTTP handlers of request categories.

use actix_web::{HttpResponse, web};
use ehome_entities::request_category;
use serde::{Deserialize, Serialize};

use super::categories::{self, CategoryChange, NewCategory};
use crate::authz::{self, Actor};
use crate::domain::{CommunityId, Label};
use crate::identity::auth::AuthUser;
use crate::platform::error::ApiResult;
use crate::scenes::community::service as community;
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct CategoryView {
    id: i64,
    community_id: i64,
    key: String,
    name: String,
    response_sla_hours: i32,
    resolution_sla_hours: i32,
    active: bool,
}

impl From<request_category::Model> for CategoryView {
    fn from(c: request_category::Model) -> Self {
        CategoryView {
            id: c.id,
            community_id: c.community_id,
            key: c.key,
            name: c.name,
            response_sla_hours: c.response_sla_hours,
            resolution_sla_hours: c.resolution_sla_hours,
            active: c.active,
        }
    }
}

pub async fn list(state: web::Data<AppState>, _caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let found = community::get_community(&state.db, CommunityId(path.into_inner())).await?;
    let rows = categories::list(&state.db, CommunityId(found.id), state.clock.now()).await?;
    let items: Vec<CategoryView> = rows.into_iter().map(CategoryView::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": items})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCategoryBody {
    key: String,
    name: String,
    response_sla_hours: i32,
    resolution_sla_hours: i32,
}

pub async fn create(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<NewCategoryBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let new = NewCategory {
        key: categories::check_key(&body.key)?,
        name: Label::parse("name", &body.name)?.into_inner(),
        response_sla_hours: categories::check_sla("response_sla_hours", body.response_sla_hours)?,
        resolution_sla_hours: categories::check_sla("resolution_sla_hours", body.resolution_sla_hours)?,
    };
    let found = community::get_community(&state.db, CommunityId(path.into_inner())).await?;
    authz::manage_requests(&Actor::load(&state.db, caller).await?, CommunityId(found.id))?;
    let created = categories::create(&state.db, CommunityId(found.id), new, state.clock.now()).await?;
    Ok(HttpResponse::Created().json(CategoryView::from(created)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryPatch {
    name: Option<String>,
    response_sla_hours: Option<i32>,
    resolution_sla_hours: Option<i32>,
    active: Option<bool>,
}

pub async fn update(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<CategoryPatch>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let change = CategoryChange {
        name: body.name.as_deref().map(|n| Label::parse("name", n).map(Label::into_inner)).transpose()?,
        response_sla_hours: body
            .response_sla_hours
            .map(|h| categories::check_sla("response_sla_hours", h))
            .transpose()?,
        resolution_sla_hours: body
            .resolution_sla_hours
            .map(|h| categories::check_sla("resolution_sla_hours", h))
            .transpose()?,
        active: body.active,
    };
    let category = categories::get(&state.db, path.into_inner()).await?;
    authz::manage_requests(&Actor::load(&state.db, caller).await?, CommunityId(category.community_id))?;
    let updated = categories::update(&state.db, category, change).await?;
    Ok(HttpResponse::Ok().json(CategoryView::from(updated)))
}
