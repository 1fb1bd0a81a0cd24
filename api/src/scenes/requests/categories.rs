//! Request categories per community, each with its SLA. A community gets the default set the first time
//! anyone asks for its categories; the committee edits them.

use chrono::{DateTime, Utc};
use ehome_entities::{building, request_category};
use sea_orm::sea_query::{Expr, ExprTrait, JoinType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, RelationDef, Set,
};

use super::routing::{self, Holder};
use crate::domain::CommunityId;
use crate::platform::content::PublicText;
use crate::platform::error::ApiError;

/// (key, name, hours to first response, hours to resolution).
pub const DEFAULTS: &[(&str, &str, i32, i32)] = &[
    ("repair", "维修", 24, 72),
    ("environment", "环境卫生", 24, 72),
    ("safety", "安全隐患", 4, 24),
    ("neighbour_dispute", "邻里纠纷", 24, 168),
    ("elderly_care", "关爱老人", 12, 48),
    ("facilities", "公共设施", 24, 120),
    ("other", "其他", 48, 168),
];

const SLA_HOURS_MAX: i32 = 24 * 90;

pub fn check_sla(field: &str, hours: i32) -> Result<i32, ApiError> {
    if !(1..=SLA_HOURS_MAX).contains(&hours) {
        return Err(ApiError::validation(field, format!("1 to {SLA_HOURS_MAX} hours")));
    }
    Ok(hours)
}

pub fn check_key(key: &str) -> Result<String, ApiError> {
    let valid =
        (1..=32).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        return Err(ApiError::validation("key", "1 to 32 of a-z, 0-9 and _"));
    }
    Ok(key.to_owned())
}

/// Inserts the default categories a community lacks (idempotent, safe across instances).
async fn ensure_defaults(
    db: &impl ConnectionTrait,
    community: CommunityId,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let rows = DEFAULTS.iter().map(|(key, name, response, resolution)| request_category::ActiveModel {
        community_id: Set(community.0),
        key: Set((*key).to_owned()),
        name: Set((*name).to_owned()),
        response_sla_hours: Set(*response),
        resolution_sla_hours: Set(*resolution),
        active: Set(true),
        created_at: Set(now),
        ..Default::default()
    });
    // The conflict target names the unique index: sea-orm's bare `on_conflict_do_nothing()` targets the
    // primary key, and two instances listing a new community's categories at once would then fail.
    request_category::Entity::insert_many(rows)
        .on_conflict_do_nothing_on([request_category::Column::CommunityId, request_category::Column::Key])
        .exec(db)
        .await?;
    Ok(())
}

pub async fn list(
    db: &impl ConnectionTrait,
    community: CommunityId,
    now: DateTime<Utc>,
) -> Result<Vec<request_category::Model>, ApiError> {
    let query = || {
        request_category::Entity::find()
            .filter(request_category::Column::CommunityId.eq(community.0))
            .order_by_asc(request_category::Column::Id)
    };
    let found = query().all(db).await?;
    if !found.is_empty() {
        return Ok(found);
    }
    ensure_defaults(db, community, now).await?;
    Ok(query().all(db).await?)
}

/// A building and, when it is one of the building's community's categories, the category, with the
/// first holders of the building's person levels (for routing): one statement for what a report
/// names (`None` when there is no such building).
pub async fn in_building(
    db: &impl ConnectionTrait,
    building_id: i64,
    category_id: i64,
) -> Result<Option<(building::Model, Option<request_category::Model>, Vec<Holder>)>, ApiError> {
    let of_its_community: RelationDef = building::Entity::belongs_to(request_category::Entity)
        .from(building::Column::CommunityId)
        .to(request_category::Column::CommunityId)
        .on_condition(move |_, category| Expr::col((category, request_category::Column::Id)).eq(category_id).into())
        .into();
    let mut statement = building::Entity::find_by_id(building_id)
        .join(JoinType::LeftJoin, of_its_community)
        .select_also(request_category::Entity)
        .into_query();
    routing::select_holders_beside(&mut statement);
    let Some(row) = db.query_one(&statement).await? else {
        return Ok(None);
    };
    // The prefixes `select_also` names the two models' columns with.
    let building = building::Model::from_query_result(&row, "A_")?;
    let category = request_category::Model::from_query_result_optional(&row, "B_")?;
    let holders = routing::holders_beside(&row, &building)?;
    Ok(Some((building, category, holders)))
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<request_category::Model, ApiError> {
    request_category::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound("category"))
}

/// A category to create; its name is a `Label` as typed, a `PublicText` once screened.
pub struct NewCategory<Name = PublicText> {
    pub key: String,
    pub name: Name,
    pub response_sla_hours: i32,
    pub resolution_sla_hours: i32,
}

pub async fn create(
    db: &impl ConnectionTrait,
    community: CommunityId,
    new: NewCategory,
    now: DateTime<Utc>,
) -> Result<request_category::Model, ApiError> {
    let existing = list(db, community, now).await?;
    if existing.iter().any(|c| c.key == new.key) {
        return Err(ApiError::validation("key", "a category with this key exists"));
    }
    Ok(request_category::ActiveModel {
        community_id: Set(community.0),
        key: Set(new.key),
        name: Set(new.name.into_inner()),
        response_sla_hours: Set(new.response_sla_hours),
        resolution_sla_hours: Set(new.resolution_sla_hours),
        active: Set(true),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

#[derive(Default)]
pub struct CategoryChange<Name = PublicText> {
    pub name: Option<Name>,
    pub response_sla_hours: Option<i32>,
    pub resolution_sla_hours: Option<i32>,
    pub active: Option<bool>,
}

/// New SLAs apply to requests submitted from now on; deadlines already set stay.
pub async fn update(
    db: &impl ConnectionTrait,
    category: request_category::Model,
    change: CategoryChange,
) -> Result<request_category::Model, ApiError> {
    let mut active: request_category::ActiveModel = category.into();
    if let Some(name) = change.name {
        active.name = Set(name.into_inner());
    }
    if let Some(hours) = change.response_sla_hours {
        active.response_sla_hours = Set(hours);
    }
    if let Some(hours) = change.resolution_sla_hours {
        active.resolution_sla_hours = Set(hours);
    }
    if let Some(flag) = change.active {
        active.active = Set(flag);
    }
    Ok(active.update(db).await?)
}
