//! The request list and committee queue: filters, overdue first then oldest first, keyset pagination
//! that neither skips nor repeats while requests are inserted.
//!
//! The order is (overdue rank, created_at, id). "Overdue" depends on the time, so the cursor carries the
//! instant the first page was read at and every later page ranks by that same instant. The two ranks
//! are read as two index range scans (open ∧ overdue, then the rest), each ordered by
//! (created_at, id), so a deep page costs what the first page costs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ehome_entities::{service_request, user};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
};
use serde::{Deserialize, Serialize};

use crate::authz::RequestListScope;
use crate::platform::error::ApiError;

#[derive(Debug, Default, Clone)]
pub struct QueueFilter {
    pub community_id: i64,
    pub statuses: Vec<String>,
    pub overdue: Option<bool>,
    pub category_id: Option<i64>,
    pub grid_id: Option<i64>,
    pub building_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub reporter_id: Option<i64>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub text: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cursor {
    /// The instant overdue is judged at, fixed by the first page.
    pub at: DateTime<Utc>,
    pub rank: u8,
    pub created_at: DateTime<Utc>,
    pub id: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(text: &str) -> Result<Cursor, ApiError> {
        let bad = || ApiError::validation("cursor", "not a cursor from this API");
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
        serde_json::from_slice(&bytes).map_err(|_| bad())
    }
}

/// Open and past a deadline at `at`.
pub fn overdue_condition(at: DateTime<Utc>) -> Condition {
    Condition::all().add(service_request::Column::IsOpen.eq(true)).add(
        Condition::any().add(service_request::Column::ResolutionDueAt.lt(at)).add(
            Condition::all()
                .add(service_request::Column::FirstResponseAt.is_null())
                .add(service_request::Column::ResponseDueAt.lt(at)),
        ),
    )
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

fn base_condition(filter: &QueueFilter, scope: &RequestListScope) -> Condition {
    let mut condition = Condition::all().add(service_request::Column::CommunityId.eq(filter.community_id));
    if let RequestListScope::Limited { user_id, grids, buildings, assigned, published } = scope {
        let mut visible = Condition::any().add(service_request::Column::ReporterId.eq(*user_id));
        // Being the assignee lists a request only with a role that covers it (see `authz::requests`).
        if *assigned {
            visible = visible.add(service_request::Column::AssigneeId.eq(*user_id));
        }
        if !grids.is_empty() {
            visible = visible.add(service_request::Column::GridId.is_in(grids.clone()));
        }
        if !buildings.is_empty() {
            visible = visible.add(service_request::Column::BuildingId.is_in(buildings.clone()));
        }
        if *published {
            visible =
                visible.add(service_request::Column::Moderation.eq(super::lifecycle::Moderation::Published.as_str()));
        }
        condition = condition.add(visible);
    }
    if !filter.statuses.is_empty() {
        condition = condition.add(service_request::Column::Status.is_in(filter.statuses.clone()));
    }
    let optional = [
        (service_request::Column::CategoryId, filter.category_id),
        (service_request::Column::GridId, filter.grid_id),
        (service_request::Column::BuildingId, filter.building_id),
        (service_request::Column::AssigneeId, filter.assignee_id),
        (service_request::Column::ReporterId, filter.reporter_id),
    ];
    for (column, value) in optional {
        if let Some(value) = value {
            condition = condition.add(column.eq(value));
        }
    }
    if let Some(from) = filter.created_from {
        condition = condition.add(service_request::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.created_to {
        condition = condition.add(service_request::Column::CreatedAt.lt(to));
    }
    if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", escape_like(text));
        condition = condition.add(
            Condition::any()
                .add(
                    Expr::col((service_request::Entity, service_request::Column::Title))
                        .like(sea_orm::sea_query::LikeExpr::new(&pattern).escape('\\')),
                )
                .add(
                    Expr::col((service_request::Entity, service_request::Column::Description))
                        .like(sea_orm::sea_query::LikeExpr::new(&pattern).escape('\\')),
                ),
        );
    }
    condition
}

/// A page of requests and their reporters.
type Rows = Vec<(service_request::Model, Option<user::Model>)>;

async fn rank_page(
    db: &impl ConnectionTrait,
    condition: Condition,
    after: Option<(DateTime<Utc>, i64)>,
    limit: u64,
) -> Result<Rows, ApiError> {
    let mut condition = condition;
    if let Some((created_at, id)) = after {
        // A row-value comparison, `(created_at, id) > (c, i)`, so that the database starts the index
        // range at the cursor; the equivalent `created_at > c OR (created_at = c AND id > i)` is not
        // an index bound and makes a page cost its depth (see docs/benchmarks.md).
        let position = Expr::tuple([
            Expr::col((service_request::Entity, service_request::Column::CreatedAt)),
            Expr::col((service_request::Entity, service_request::Column::Id)),
        ]);
        condition = condition.add(position.gt(Expr::tuple([Expr::val(created_at), Expr::val(id)])));
    }
    let mut statement = service_request::Entity::find()
        .filter(condition)
        .order_by_asc(service_request::Column::CreatedAt)
        .order_by_asc(service_request::Column::Id)
        .limit(limit)
        .into_query();
    // The reporters joined by primary key: with the limit, one index lookup per row of the page.
    super::store::join_reporter(&mut statement, service_request::Entity);
    let mut rows = Vec::new();
    for row in db.query_all(&statement).await? {
        let request = service_request::Model::from_query_result(&row, "")?;
        rows.push((request, user::Model::from_query_result_optional(&row, super::store::REPORTER)?));
    }
    Ok(rows)
}

/// One page: (rows with their reporter and overdue rank, the next cursor).
pub async fn page(
    db: &impl ConnectionTrait,
    filter: &QueueFilter,
    scope: &RequestListScope,
    cursor: Option<Cursor>,
    limit: u64,
    now: DateTime<Utc>,
) -> Result<(Vec<(service_request::Model, Option<user::Model>, bool)>, Option<String>), ApiError> {
    let at = cursor.as_ref().map_or(now, |c| c.at);
    let base = base_condition(filter, scope);
    let start_rank = cursor.as_ref().map_or(0, |c| c.rank);
    let mut rows = Vec::new();
    for rank in [0u8, 1u8] {
        let wanted_overdue = rank == 0;
        if rank < start_rank || filter.overdue.is_some_and(|only| only != wanted_overdue) {
            continue;
        }
        let after = cursor.as_ref().filter(|c| c.rank == rank).map(|c| (c.created_at, c.id));
        let bucket = if wanted_overdue { overdue_condition(at) } else { overdue_condition(at).not() };
        let need = limit + 1 - rows.len() as u64;
        let found = rank_page(db, base.clone().add(bucket), after, need).await?;
        rows.extend(found.into_iter().map(|(request, reporter)| (request, reporter, wanted_overdue)));
        if rows.len() as u64 > limit {
            break;
        }
    }
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next = match rows.last() {
        Some((last, _, overdue)) if more => {
            Some(Cursor { at, rank: if *overdue { 0 } else { 1 }, created_at: last.created_at, id: last.id }.encode())
        }
        _ => None,
    };
    Ok((rows, next))
}
