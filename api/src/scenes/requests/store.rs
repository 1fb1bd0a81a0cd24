//! The rows of 邻办事 requests: every function takes a connection or transaction, so a use case in
//! `service.rs` composes them in one transaction; every change appends to the request's immutable
//! timeline in the same transaction. Statuses, moderation states, urgency and levels cross the column
//! boundary here, as the enums of `lifecycle.rs`.

use chrono::{DateTime, Duration, Utc};
use ehome_entities::{request_category, request_event, request_follower, service_request, user};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, InsertStatement, IntoIden, JoinType, Order, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    FromQueryResult, IdenStatic, IntoActiveModel, Iterable, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};

use super::error::RequestError;
use super::lifecycle::{ActingRole, Action, Effect, EventKind, Level, Moderation, Refusal, State, Status, Urgency};
use super::similarity;
use super::writes::{self, RequestRef};
use crate::platform::error::ApiError;

pub struct NewRequest {
    pub title: String,
    pub description: String,
    pub location: Option<String>,
    pub photos: Vec<String>,
    pub urgency: Urgency,
    pub anonymous: bool,
}

/// Where a new request is and who gets it.
pub struct Placement {
    pub community_id: i64,
    pub grid_id: i64,
    pub building_id: i64,
    pub level: Level,
    pub assignee_id: Option<i64>,
}

/// A new request to write: who reports it, in which category, where it goes, what it says and the
/// text check's verdict.
pub struct Submission<'a> {
    pub reporter_id: i64,
    pub category: &'a request_category::Model,
    pub placement: Placement,
    pub new: NewRequest,
    pub moderated: Moderated,
}

/// The text check's verdict on a new request.
pub struct Moderated {
    pub moderation: Moderation,
    /// Why it is held, for the committee (an internal timeline note).
    pub note: Option<String>,
}

fn hours(h: i32) -> Duration {
    Duration::hours(i64::from(h))
}

fn stored<T>(column: &str, word: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, ApiError> {
    parse(word).ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown stored {column} {word:?}")))
}

pub fn status_of(request: &service_request::Model) -> Result<Status, ApiError> {
    stored("status", &request.status, Status::parse)
}

pub fn moderation_of(request: &service_request::Model) -> Result<Moderation, ApiError> {
    stored("moderation", &request.moderation, Moderation::parse)
}

/// What the state machine needs of a stored request.
pub fn state_of(request: &service_request::Model) -> Result<State, ApiError> {
    Ok(State {
        status: status_of(request)?,
        moderation: moderation_of(request)?,
        level: stored("assignee_level", &request.assignee_level, Level::parse)?,
        resolved_at: request.resolved_at,
    })
}

pub struct Event {
    pub actor_id: Option<i64>,
    pub actor_role: ActingRole,
    pub kind: EventKind,
    pub from: Option<Status>,
    pub to: Option<Status>,
    pub assignee_id: Option<i64>,
    pub note: Option<String>,
    pub internal: bool,
}

impl Event {
    /// An entry that changes no status (a comment, a rating, "me too", a hold).
    fn note(actor_id: Option<i64>, actor_role: ActingRole, kind: EventKind, note: Option<String>) -> Event {
        Event { actor_id, actor_role, kind, from: None, to: None, assignee_id: None, note, internal: false }
    }
}

pub async fn append_event(
    db: &impl ConnectionTrait,
    request_id: i64,
    event: Event,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    db.execute(&writes::event_row(RequestRef::Stored(request_id), event, now)?).await?;
    Ok(())
}

/// The user follows the request; false when they already did.
async fn follow(
    db: &impl ConnectionTrait,
    request_id: i64,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let done = db.execute(&writes::follow_row(RequestRef::Stored(request_id), user_id, now)?).await?;
    Ok(done.rows_affected() == 1)
}

pub async fn followers(db: &impl ConnectionTrait, request_id: i64) -> Result<Vec<i64>, ApiError> {
    let rows =
        request_follower::Entity::find().filter(request_follower::Column::RequestId.eq(request_id)).all(db).await?;
    Ok(rows.into_iter().map(|r| r.user_id).collect())
}

/// Writes a new request with its first timeline entries, its reporter as its first follower and its
/// rollup counts: in the caller's transaction, or, on PostgreSQL, in one statement (`writes.rs`) that is
/// atomic by itself (see [`insert_alone`]).
pub async fn insert(
    db: &impl ConnectionTrait,
    submission: Submission<'_>,
    now: DateTime<Utc>,
) -> Result<service_request::Model, ApiError> {
    let Submission { reporter_id, category, placement, new, moderated } = submission;
    let row = service_request::Model {
        id: 0,
        community_id: placement.community_id,
        category_id: category.id,
        grid_id: placement.grid_id,
        building_id: placement.building_id,
        reporter_id,
        title: new.title,
        description: new.description,
        location: new.location,
        photos: serde_json::to_string(&new.photos).map_err(ApiError::internal)?,
        urgency: new.urgency.as_str().to_owned(),
        anonymous: new.anonymous,
        status: Status::Submitted.as_str().to_owned(),
        is_open: true,
        moderation: moderated.moderation.as_str().to_owned(),
        assignee_level: placement.level.as_str().to_owned(),
        assignee_id: placement.assignee_id,
        escalation_level: 0,
        interest_count: 0,
        response_due_at: now + hours(category.response_sla_hours),
        resolution_due_at: now + hours(category.resolution_sla_hours),
        first_response_at: None,
        resolved_at: None,
        closed_at: None,
        rating: None,
        rating_text: None,
        created_at: now,
        updated_at: now,
    };
    let counts = super::rollup::new_request_counts(&row)?;
    let mut active = row.into_active_model();
    active.id = NotSet;
    let companions = |request: RequestRef| -> Result<Vec<InsertStatement>, ApiError> {
        let submitted = Event {
            to: Some(Status::Submitted),
            assignee_id: placement.assignee_id,
            ..Event::note(Some(reporter_id), ActingRole::Reporter, EventKind::Submitted, None)
        };
        let mut rows = vec![writes::event_row(request, submitted, now)?];
        if moderated.moderation == Moderation::Held {
            let note = moderated.note.clone();
            let held = Event { internal: true, ..Event::note(None, ActingRole::System, EventKind::Held, note) };
            rows.push(writes::event_row(request, held, now)?);
        }
        rows.push(writes::follow_row(request, reporter_id, now)?);
        for (key, part) in &counts {
            rows.push(super::rollup::counts_row(*key, request, part)?);
        }
        Ok(rows)
    };
    if db.get_database_backend() == DbBackend::Postgres {
        let insert = service_request::Entity::insert(active).into_query();
        let statement = writes::all_at_once(insert, companions(RequestRef::Inserted)?);
        let row = db.query_one(&statement).await?;
        let row = row.ok_or_else(|| ApiError::internal(anyhow::anyhow!("the new request's row was not returned")))?;
        return Ok(service_request::Model::from_query_result(&row, "")?);
    }
    let request = active.insert(db).await?;
    for row in companions(RequestRef::Stored(request.id))? {
        db.execute(&row).await?;
    }
    Ok(request)
}

/// [`insert`] as a use case's only write: one statement on PostgreSQL, a transaction of its own
/// elsewhere.
pub async fn insert_alone(
    db: &DatabaseConnection,
    submission: Submission<'_>,
    now: DateTime<Utc>,
) -> Result<service_request::Model, ApiError> {
    if db.get_database_backend() == DbBackend::Postgres {
        return insert(db, submission, now).await;
    }
    let txn = crate::platform::db::begin_write(db).await?;
    let request = insert(&txn, submission, now).await?;
    txn.commit().await?;
    Ok(request)
}

/// What the duplicate check shows of an open request like the one being reported.
#[derive(Debug, Clone, FromQueryResult)]
pub struct SimilarRow {
    pub id: i64,
    pub title: String,
    pub status: String,
    pub interest_count: i32,
    pub created_at: DateTime<Utc>,
}

/// How many of a building's newest open requests of a category the duplicate check compares.
const SIMILAR_CANDIDATES_MAX: u64 = 200;

/// How many similar requests the check offers, most similar first.
const SIMILAR_SHOWN_MAX: usize = 5;

/// The requests the duplicate check may offer, written as the predicate of its partial index
/// (migration 000026) word for word: both backends use a partial index only for a query whose own
/// `WHERE` names its predicate, and a bound parameter names nothing when the plan is made.
fn similar_candidate() -> Expr {
    debug_assert_eq!(Moderation::Published.as_str(), "published");
    Expr::cust("is_open = TRUE AND moderation = 'published'")
}

#[derive(Debug, FromQueryResult)]
struct Candidate {
    id: i64,
    title: String,
}

/// Open requests of the same building and category whose titles look like this one. The newest
/// candidates' ids and titles are one backward range of the partial index that holds them (000026,
/// read from the index alone where PostgreSQL's visibility map allows; SQLite still reads each
/// candidate's row, to check the predicate's columns); the rest of what is shown is read for the few
/// that look alike.
pub async fn similar_open(
    db: &impl ConnectionTrait,
    building_id: i64,
    category_id: i64,
    title: &str,
) -> Result<Vec<(SimilarRow, f64)>, ApiError> {
    use service_request::Column;
    let candidates = service_request::Entity::find()
        .select_only()
        .columns([Column::Id, Column::Title])
        .filter(Column::BuildingId.eq(building_id))
        .filter(Column::CategoryId.eq(category_id))
        .filter(similar_candidate())
        .order_by_desc(Column::Id)
        .limit(SIMILAR_CANDIDATES_MAX)
        .into_model::<Candidate>()
        .all(db)
        .await?;
    let mut wanted = similarity::Bigrams::of(title);
    let mut alike: Vec<(i64, f64)> = candidates
        .into_iter()
        .map(|c| (c.id, wanted.similarity(&c.title)))
        .filter(|(_, score)| *score >= similarity::THRESHOLD)
        .collect();
    if alike.is_empty() {
        return Ok(Vec::new());
    }
    // Most similar first; of equally similar ones, the newest.
    alike.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
    alike.truncate(SIMILAR_SHOWN_MAX);
    let rows = service_request::Entity::find()
        .select_only()
        .columns([Column::Id, Column::Title, Column::Status, Column::InterestCount, Column::CreatedAt])
        .filter(Column::Id.is_in(alike.iter().map(|(id, _)| *id)))
        .filter(similar_candidate())
        .into_model::<SimilarRow>()
        .all(db)
        .await?;
    // In the order of `alike`; one closed or held between the two reads is left out.
    Ok(alike
        .into_iter()
        .filter_map(|(id, score)| rows.iter().find(|row| row.id == id).map(|row| (row.clone(), score)))
        .collect())
}

/// What a transition asks for, already authorised.
pub struct Transition {
    pub action: Action,
    /// Who acts; `None` for the system (the jobs).
    pub actor_id: Option<i64>,
    pub actor_role: ActingRole,
    pub note: Option<String>,
    /// For `reassign`: the new assignee and the level they handle the request at.
    pub reassign_to: Option<(i64, Level)>,
}

fn refused(action: Action, from: Status, refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::NotAllowed => {
            RequestError::InvalidTransition { action: action.as_str().to_owned(), status: from.as_str().to_owned() }
                .into()
        }
        Refusal::ReopenWindowClosed => RequestError::ReopenWindowClosed.into(),
    }
}

/// Applies a transition the state machine allows, with a compare-and-set on (status, escalation level,
/// moderation), so two concurrent transitions of one request — people's or the jobs' — cannot both
/// apply: the loser gets `INVALID_TRANSITION`.
pub async fn transition(
    db: &impl ConnectionTrait,
    request: &service_request::Model,
    category: &request_category::Model,
    change: Transition,
    confirm_window: Duration,
    now: DateTime<Utc>,
) -> Result<service_request::Model, ApiError> {
    let state = state_of(request)?;
    let from = state.status;
    let decision =
        change.action.decide(&state, now, confirm_window).map_err(|refusal| refused(change.action, from, refusal))?;
    // The row as stored, locked until commit (on PostgreSQL; SQLite's write transaction excludes other
    // writers), is what the daily rollups take away before adding the changed row.
    let before = service_request::Entity::find_by_id(request.id)
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("request"))?;
    let mut update = service_request::Entity::update_many()
        .col_expr(service_request::Column::Status, Expr::value(decision.to.as_str()))
        .col_expr(service_request::Column::IsOpen, Expr::value(decision.to.is_open()))
        .col_expr(service_request::Column::UpdatedAt, Expr::value(now))
        .filter(service_request::Column::Id.eq(request.id))
        .filter(service_request::Column::Status.eq(from.as_str()))
        .filter(service_request::Column::EscalationLevel.eq(request.escalation_level))
        .filter(service_request::Column::Moderation.eq(state.moderation.as_str()));
    if decision.answers && request.first_response_at.is_none() {
        update = update.col_expr(service_request::Column::FirstResponseAt, Expr::value(now));
    }
    let mut assignee = request.assignee_id;
    let mut note = change.note;
    match decision.effect {
        Effect::None => {}
        Effect::Resolve => update = update.col_expr(service_request::Column::ResolvedAt, Expr::value(now)),
        Effect::Reopen => {
            update = update
                .col_expr(service_request::Column::ResolvedAt, Expr::value(Option::<DateTime<Utc>>::None))
                .col_expr(
                    service_request::Column::ResolutionDueAt,
                    Expr::value(now + hours(category.resolution_sla_hours)),
                );
        }
        Effect::Close => update = update.col_expr(service_request::Column::ClosedAt, Expr::value(now)),
        Effect::EscalateTo(next) => {
            let (level, next_assignee) = super::routing::route_request(db, request, next).await?;
            assignee = next_assignee;
            update = escalated(update, level, assignee, request.escalation_level + 1, category, now);
            if change.action == Action::EscalateOverdue {
                note = Some(overdue_note(request, level, now));
            }
        }
        Effect::Reassign => {
            let (id, level) = change.reassign_to.ok_or_else(|| refused(change.action, from, Refusal::NotAllowed))?;
            assignee = Some(id);
            update = update
                .col_expr(service_request::Column::AssigneeId, Expr::value(assignee))
                .col_expr(service_request::Column::AssigneeLevel, Expr::value(level.as_str()));
        }
        Effect::Publish => {
            update = update.col_expr(service_request::Column::Moderation, Expr::value(Moderation::Published.as_str()))
        }
    }
    if change.action == Action::CloseUnconfirmed {
        note = Some("居民未在期限内确认，自动关闭".to_owned());
    }
    let applied = update.exec(db).await?;
    if applied.rows_affected != 1 {
        return Err(refused(change.action, from, Refusal::NotAllowed));
    }
    let event = Event {
        actor_id: change.actor_id,
        actor_role: change.actor_role,
        kind: decision.event,
        from: Some(from),
        to: Some(decision.to),
        assignee_id: assignee,
        note,
        internal: false,
    };
    append_event(db, request.id, event, now).await?;
    let after = get(db, request.id).await?;
    super::rollup::record(db, Some(&before), &after).await?;
    Ok(after)
}

/// The timeline note of an automatic escalation: which deadline passed, and where the request went.
fn overdue_note(request: &service_request::Model, level: Level, now: DateTime<Utc>) -> String {
    let which = if request.first_response_at.is_none() && request.response_due_at < now { "响应" } else { "办结" };
    format!("{which}超时，自动升级至{}", level.label())
}

/// The columns an escalation sets: the new level and assignee, and fresh deadlines for that level.
fn escalated(
    update: sea_orm::UpdateMany<service_request::Entity>,
    level: Level,
    assignee: Option<i64>,
    escalation_level: i32,
    category: &request_category::Model,
    now: DateTime<Utc>,
) -> sea_orm::UpdateMany<service_request::Entity> {
    update
        .col_expr(service_request::Column::AssigneeLevel, Expr::value(level.as_str()))
        .col_expr(service_request::Column::AssigneeId, Expr::value(assignee))
        .col_expr(service_request::Column::EscalationLevel, Expr::value(escalation_level))
        .col_expr(service_request::Column::ResponseDueAt, Expr::value(now + hours(category.response_sla_hours)))
        .col_expr(service_request::Column::ResolutionDueAt, Expr::value(now + hours(category.resolution_sla_hours)))
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<service_request::Model, ApiError> {
    service_request::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound("request"))
}

/// The reporter's columns come back prefixed, beside the request's own.
pub const REPORTER: &str = "reporter_";

/// Adds the reporter, left-joined on `requests.reporter_id`, to a statement over requests: read a
/// row back with `user::Model::from_query_result_optional(&row, REPORTER)`.
pub fn join_reporter(statement: &mut SelectStatement, requests: impl IntoIden + Clone) {
    let reporter = Alias::new("reporter");
    for column in user::Column::iter() {
        let name = column.as_str();
        statement.expr_as(Expr::col((reporter.clone(), Alias::new(name))), Alias::new(format!("{REPORTER}{name}")));
    }
    let on = Expr::col((reporter.clone(), user::Column::Id)).equals((requests, service_request::Column::ReporterId));
    statement.join_as(JoinType::LeftJoin, user::Entity, reporter, on);
}

/// The timeline's columns come back prefixed, beside the request's and the reporter's.
const EVENT: &str = "event_";

/// A request with its reporter and its whole timeline (internal entries too, oldest first), in one
/// statement: a row per timeline entry, the request and its reporter repeated on each. The caller
/// leaves out what the reader may not see.
pub async fn get_with_reporter_and_timeline(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<(service_request::Model, Option<user::Model>, Vec<request_event::Model>), ApiError> {
    let mut statement = service_request::Entity::find_by_id(id).into_query();
    join_reporter(&mut statement, service_request::Entity);
    let events = Alias::new("event");
    for column in request_event::Column::iter() {
        let name = column.as_str();
        statement.expr_as(Expr::col((events.clone(), Alias::new(name))), Alias::new(format!("{EVENT}{name}")));
    }
    let on = Expr::col((events.clone(), request_event::Column::RequestId))
        .equals((service_request::Entity, service_request::Column::Id));
    statement.join_as(JoinType::LeftJoin, request_event::Entity, events.clone(), on);
    statement.order_by((events, request_event::Column::Id), Order::Asc);
    let rows = db.query_all(&statement).await?;
    let first = rows.first().ok_or(ApiError::NotFound("request"))?;
    let request = service_request::Model::from_query_result(first, "")?;
    let reporter = user::Model::from_query_result_optional(first, REPORTER)?;
    let mut timeline = Vec::with_capacity(rows.len());
    for row in &rows {
        if row.try_get::<Option<i64>>("", &format!("{EVENT}id"))?.is_some() {
            timeline.push(request_event::Model::from_query_result(row, EVENT)?);
        }
    }
    Ok((request, reporter, timeline))
}

pub async fn timeline(
    db: &impl ConnectionTrait,
    request_id: i64,
    with_internal: bool,
) -> Result<Vec<request_event::Model>, ApiError> {
    let mut query = request_event::Entity::find()
        .filter(request_event::Column::RequestId.eq(request_id))
        .order_by_asc(request_event::Column::Id);
    if !with_internal {
        query = query.filter(request_event::Column::Internal.eq(false));
    }
    Ok(query.all(db).await?)
}

pub async fn comment(
    db: &impl ConnectionTrait,
    request: &service_request::Model,
    actor_id: i64,
    actor_role: ActingRole,
    body: String,
    internal: bool,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let event = Event { internal, ..Event::note(Some(actor_id), actor_role, EventKind::Comment, Some(body)) };
    append_event(db, request.id, event, now).await
}

/// The reporter rates once, after resolution.
pub async fn rate(
    db: &impl ConnectionTrait,
    request: &service_request::Model,
    score: i32,
    text: Option<String>,
    now: DateTime<Utc>,
) -> Result<service_request::Model, ApiError> {
    let status = status_of(request)?;
    if !matches!(status, Status::Resolved | Status::Confirmed | Status::ClosedTimeout) {
        return Err(
            RequestError::InvalidTransition { action: "rate".to_owned(), status: status.as_str().to_owned() }.into()
        );
    }
    let applied = service_request::Entity::update_many()
        .col_expr(service_request::Column::Rating, Expr::value(score))
        .col_expr(service_request::Column::RatingText, Expr::value(text.clone()))
        .col_expr(service_request::Column::UpdatedAt, Expr::value(now))
        .filter(service_request::Column::Id.eq(request.id))
        .filter(service_request::Column::Rating.is_null())
        .exec(db)
        .await?;
    if applied.rows_affected != 1 {
        return Err(RequestError::AlreadyRated.into());
    }
    let note = Some(match &text {
        Some(text) => format!("{score}/5 {text}"),
        None => format!("{score}/5"),
    });
    let event = Event::note(Some(request.reporter_id), ActingRole::Reporter, EventKind::Rated, note);
    append_event(db, request.id, event, now).await?;
    let after = get(db, request.id).await?;
    // The compare-and-set saw no rating; nothing else changed with it.
    let before = service_request::Model { rating: None, rating_text: None, ..after.clone() };
    super::rollup::record(db, Some(&before), &after).await?;
    Ok(after)
}

/// "Me too": the user follows the request and its interest count grows, once per user.
pub async fn me_too(
    db: &impl ConnectionTrait,
    request: &service_request::Model,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<service_request::Model, ApiError> {
    if follow(db, request.id, user_id, now).await? {
        service_request::Entity::update_many()
            .col_expr(service_request::Column::InterestCount, Expr::col(service_request::Column::InterestCount).add(1))
            .filter(service_request::Column::Id.eq(request.id))
            .exec(db)
            .await?;
        let event = Event::note(Some(user_id), ActingRole::Neighbour, EventKind::MeToo, None);
        append_event(db, request.id, event, now).await?;
    }
    get(db, request.id).await
}
