//! The `INSERT` statements of the rows a request brings with it (its timeline entries, its followers,
//! its rollup shards), each written for a request already stored or for the one that the same
//! statement inserts: on PostgreSQL a new request and all its rows are one statement (a `WITH` whose
//! parts insert the request and then, from the row it returns, the rest), which is atomic without a
//! transaction and costs one round trip instead of six. Every other write runs them one by one.

use chrono::{DateTime, Utc};
use ehome_entities::{request_event, request_follower, service_request};
use sea_orm::sea_query::{
    Alias, Asterisk, CommonTableExpression, Expr, ExprTrait, InsertStatement, OnConflict, Query, SelectStatement,
    WithClause, WithQuery,
};

use super::store::Event;
use crate::platform::error::ApiError;

/// The name the inserting part of the statement gives the new request's row.
const NEW: &str = "new_request";

/// Whose rows: a request already stored, or the one the same statement inserts.
#[derive(Debug, Clone, Copy)]
pub enum RequestRef {
    Stored(i64),
    Inserted,
}

impl RequestRef {
    /// The request's id as an expression of the row being written.
    pub fn id(self) -> Expr {
        match self {
            RequestRef::Stored(id) => Expr::val(id),
            RequestRef::Inserted => Expr::col((Alias::new(NEW), service_request::Column::Id)),
        }
    }

    /// `SELECT values`, from the inserted row when there is one. The `WHERE TRUE` is what SQLite's
    /// parser needs between an `INSERT … SELECT` and its `ON CONFLICT`.
    pub fn select(self, values: Vec<Expr>) -> SelectStatement {
        let mut select = Query::select();
        select.exprs(values);
        if let RequestRef::Inserted = self {
            select.from(Alias::new(NEW));
        }
        select.and_where(Expr::val(true));
        select
    }
}

/// An `INSERT INTO table (columns) SELECT values`, for `request`.
pub fn insert_row<C: sea_orm::sea_query::IntoIden>(
    table: impl sea_orm::sea_query::IntoTableRef,
    columns: impl IntoIterator<Item = C>,
    request: RequestRef,
    values: Vec<Expr>,
) -> Result<InsertStatement, ApiError> {
    let mut insert = Query::insert();
    insert.into_table(table).columns(columns);
    insert.select_from(request.select(values)).map_err(ApiError::internal)?;
    Ok(insert)
}

/// A timeline entry of `request`.
pub fn event_row(request: RequestRef, event: Event, now: DateTime<Utc>) -> Result<InsertStatement, ApiError> {
    use request_event::Column;
    let columns = [
        Column::RequestId,
        Column::ActorId,
        Column::ActorRole,
        Column::Kind,
        Column::FromStatus,
        Column::ToStatus,
        Column::AssigneeId,
        Column::Note,
        Column::Internal,
        Column::CreatedAt,
    ];
    let values = vec![
        request.id(),
        Expr::val(event.actor_id),
        Expr::val(event.actor_role.as_str()),
        Expr::val(event.kind.as_str()),
        Expr::val(event.from.map(|status| status.as_str())),
        Expr::val(event.to.map(|status| status.as_str())),
        Expr::val(event.assignee_id),
        Expr::val(event.note),
        Expr::val(event.internal),
        Expr::val(now),
    ];
    insert_row(request_event::Entity, columns, request, values)
}

/// `user` follows `request`; nothing when they already do.
pub fn follow_row(request: RequestRef, user: i64, now: DateTime<Utc>) -> Result<InsertStatement, ApiError> {
    use request_follower::Column;
    let columns = [Column::RequestId, Column::UserId, Column::CreatedAt];
    let mut insert =
        insert_row(request_follower::Entity, columns, request, vec![request.id(), Expr::val(user), Expr::val(now)])?;
    insert.on_conflict(OnConflict::columns([Column::RequestId, Column::UserId]).do_nothing().to_owned());
    Ok(insert)
}

/// One statement (PostgreSQL): inserts the request and then `rows`, each made for
/// [`RequestRef::Inserted`]; it returns the request's row.
pub fn all_at_once(mut request: InsertStatement, rows: Vec<InsertStatement>) -> WithQuery {
    request.returning_all();
    let mut with = WithClause::new();
    with.cte(CommonTableExpression::new().query(request).table_name(Alias::new(NEW)).to_owned());
    for (n, row) in rows.into_iter().enumerate() {
        with.cte(CommonTableExpression::new().query(row).table_name(Alias::new(format!("row_{n}"))).to_owned());
    }
    with.query(Query::select().column(Asterisk).from(Alias::new(NEW)).to_owned())
}

/// The request's id modulo `n` (its rollup shard), as an expression of the row being written.
pub fn id_modulo(request: RequestRef, n: i64) -> Expr {
    match request {
        RequestRef::Stored(id) => Expr::val(i32::try_from(id.rem_euclid(n)).unwrap_or(0)),
        RequestRef::Inserted => request.id().modulo(n),
    }
}
