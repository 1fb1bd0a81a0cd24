//! Domain rules of 邻办事 requests. Every function takes a connection or transaction; every change
//! appends to the request's immutable timeline in the same transaction.

use chrono::{DateTime, Duration, Utc};
use ehome_entities::{request_category, request_event, request_follower, service_request};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use super::lifecycle::{Action, Level, Status};
use super::similarity;
use crate::platform::error::ApiError;

pub const PUBLISHED: &str = "published";
pub const HELD: &str = "held";

pub struct NewRequest {
    pub title: String,
    pub description: String,
    pub location: Option<String>,
    pub photos: Vec<String>,
    pub urgency: &'static str,
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

fn hours(h: i32) -> Duration {
    Duration::hours(i64::from(h))
}

pub fn status_of(request: &service_request::Model) -> Result<Status, ApiError> {
    Status::parse(&request.status)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown stored status {:?}", request.status)))
}

pub struct Event<'a> {
    pub actor_id: Option<i64>,
    pub actor_role: &'a str,
    pub kind: &'a str,
    pub from: Option<Status>,
    pub to: Option<Status>,
    pub assignee_id: Option<i64>,
    pub note: Option<String>,
    pub internal: bool,
}

pub async fn append_event(
    db: &impl ConnectionTrait,
    request_id: i64,
    event: Event<'_>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    request_event::ActiveModel {
        request_id: Set(request_id),
        actor_id: Set(event.actor_id),
        actor_role: Set(Some(event.actor_role.to_owned())),
        kind: Set(event.kind.to_owned()),
        from_status: Set(event.from.map(|s| s.as_str().to_owned())),
        to_status: Set(event.to.map(|s| s.as_str().to_owned())),
        assignee_id: Set(event.assignee_id),
        note: Set(event.note),
        internal: Set(event.internal),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

async fn follow(
    db: &impl ConnectionTrait,
    request_id: i64,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let inserted = request_follower::Entity::insert(request_follower::ActiveModel {
        request_id: Set(request_id),
        user_id: Set(user_id),
        created_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([request_follower::Column::RequestId, request_follower::Column::UserId])
            .do_nothing()
            .to_owned(),
    )
    .on_conflict_do_nothing()
    .exec(db)
    .await?;
    Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(_)))
}

pub async fn followers(db: &impl ConnectionTrait, request_id: i64) -> Result<Vec<i64>, ApiError> {
    let rows =
        request_follower::Entity::find().filter(request_follower::Column::RequestId.eq(request_id)).all(db).await?;
    Ok(rows.into_iter().map(|r| r.user_id).collect())
}

#[allow(clippy::too_many_arguments)]
pub async fn submit(
    db: &impl ConnectionTrait,
    reporter_id: i64,
    category: &request_category::Model,
    placement: Placement,
    new: NewRequest,
    moderation: &str,
    moderation_note: Option<String>,
    now: DateTime<Utc>,
) -> Result<service_request::Model, ApiError> {
    let photos = serde_json::to_string(&new.photos).map_err(ApiError::internal)?;
    let request = service_request::ActiveModel {
        community_id: Set(placement.community_id),
        category_id: Set(category.id),
        grid_id: Set(placement.grid_id),
        building_id: Set(placement.building_id),
        reporter_id: Set(reporter_id),
        title: Set(new.title),
        description: Set(new.description),
        location: Set(new.location),
        photos: Set(photos),
        urgency: Set(new.urgency.to_owned()),
        anonymous: Set(new.anonymous),
        status: Set(Status::Submitted.as_str().to_owned()),
        is_open: Set(true),
        moderation: Set(moderation.to_owned()),
        assignee_level: Set(placement.level.as_str().to_owned()),
        assignee_id: Set(placement.assignee_id),
        escalation_level: Set(0),
        interest_count: Set(0),
        response_due_at: Set(now + hours(category.response_sla_hours)),
        resolution_due_at: Set(now + hours(category.resolution_sla_hours)),
        first_response_at: Set(None),
        resolved_at: Set(None),
        closed_at: Set(None),
        rating: Set(None),
        rating_text: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let submitted = Event {
        actor_id: Some(reporter_id),
        actor_role: "reporter",
        kind: "submitted",
        from: None,
        to: Some(Status::Submitted),
        assignee_id: placement.assignee_id,
        note: None,
        internal: false,
    };
    append_event(db, request.id, submitted, now).await?;
    if moderation == HELD {
        let held = Event {
            actor_id: None,
            actor_role: "system",
            kind: "held",
            from: None,
            to: None,
            assignee_id: None,
            note: moderation_note,
            internal: true,
        };
        append_event(db, request.id, held, now).await?;
    }
    follow(db, request.id, reporter_id, now).await?;
    Ok(request)
}

/// Open requests of the same building and category whose titles look like this one.
pub async fn similar_open(
    db: &impl ConnectionTrait,
    building_id: i64,
    category_id: i64,
    title: &str,
) -> Result<Vec<(service_request::Model, f64)>, ApiError> {
    let candidates = service_request::Entity::find()
        .filter(service_request::Column::BuildingId.eq(building_id))
        .filter(service_request::Column::CategoryId.eq(category_id))
        .filter(service_request::Column::IsOpen.eq(true))
        .filter(service_request::Column::Moderation.eq(PUBLISHED))
        .order_by_desc(service_request::Column::Id)
        .limit(200)
        .all(db)
        .await?;
    let mut similar: Vec<(service_request::Model, f64)> = candidates
        .into_iter()
        .map(|r| {
            let score = similarity::similarity(title, &r.title);
            (r, score)
        })
        .filter(|(_, score)| *score >= similarity::THRESHOLD)
        .collect();
    similar.sort_by(|a, b| b.1.total_cmp(&a.1));
    similar.truncate(5);
    Ok(similar)
}

/// What a transition asks for, already authorised.
pub struct Transition<'a> {
    pub action: Action,
    pub actor_id: i64,
    pub actor_role: &'a str,
    pub note: Option<String>,
    pub assignee_id: Option<i64>,
}

/// Applies a transition with a compare-and-set on (status, escalation level), so two concurrent
/// transitions of one request cannot both apply: the loser gets `INVALID_TRANSITION`.
pub async fn transition(
    db: &impl ConnectionTrait,
    request: &service_request::Model,
    category: &request_category::Model,
    change: Transition<'_>,
    confirm_window_days: i64,
    now: DateTime<Utc>,
) -> Result<service_request::Model, ApiError> {
    let from = status_of(request)?;
    let invalid =
        || ApiError::InvalidTransition { action: change.action.as_str().to_owned(), status: from.as_str().to_owned() };
    if change.action == Action::Release && request.moderation != HELD {
        return Err(invalid());
    }
    let to = change.action.apply(from).ok_or_else(invalid)?;
    if change.action == Action::Reopen {
        let window_closed = request.resolved_at.is_none_or(|at| now > at + Duration::days(confirm_window_days));
        if window_closed {
            return Err(ApiError::ReopenWindowClosed);
        }
    }
    let mut update = service_request::Entity::update_many()
        .col_expr(service_request::Column::Status, Expr::value(to.as_str()))
        .col_expr(service_request::Column::IsOpen, Expr::value(to.is_open()))
        .col_expr(service_request::Column::UpdatedAt, Expr::value(now))
        .filter(service_request::Column::Id.eq(request.id))
        .filter(service_request::Column::Status.eq(from.as_str()))
        .filter(service_request::Column::EscalationLevel.eq(request.escalation_level))
        .filter(service_request::Column::Moderation.eq(request.moderation.clone()));
    let mut assignee = request.assignee_id;
    if change.action.is_response() && request.first_response_at.is_none() {
        update = update.col_expr(service_request::Column::FirstResponseAt, Expr::value(now));
    }
    match change.action {
        Action::Resolve => update = update.col_expr(service_request::Column::ResolvedAt, Expr::value(now)),
        Action::Reopen => {
            update = update
                .col_expr(service_request::Column::ResolvedAt, Expr::value(Option::<DateTime<Utc>>::None))
                .col_expr(
                    service_request::Column::ResolutionDueAt,
                    Expr::value(now + hours(category.resolution_sla_hours)),
                );
        }
        Action::Confirm | Action::Reject | Action::Withdraw => {
            update = update.col_expr(service_request::Column::ClosedAt, Expr::value(now));
        }
        Action::Escalate => {
            let level = Level::parse(&request.assignee_level).unwrap_or(Level::Committee);
            let next = level.next().ok_or_else(invalid)?;
            let (level, next_assignee) = super::routing::route_request(db, request, next).await?;
            assignee = next_assignee;
            update = escalated(update, level, assignee, request.escalation_level + 1, category, now);
        }
        Action::Reassign => {
            assignee = change.assignee_id;
            update = update.col_expr(service_request::Column::AssigneeId, Expr::value(assignee));
        }
        Action::Release => update = update.col_expr(service_request::Column::Moderation, Expr::value(PUBLISHED)),
        Action::Accept | Action::Start => {}
    }
    let applied = update.exec(db).await?;
    if applied.rows_affected != 1 {
        return Err(invalid());
    }
    let kind = match change.action {
        Action::Escalate => "escalated",
        Action::Reassign => "reassigned",
        Action::Release => "released",
        _ => "transition",
    };
    let event = Event {
        actor_id: Some(change.actor_id),
        actor_role: change.actor_role,
        kind,
        from: Some(from),
        to: Some(to),
        assignee_id: assignee,
        note: change.note,
        internal: false,
    };
    append_event(db, request.id, event, now).await?;
    get(db, request.id).await
}

/// The columns an escalation sets: the new level and assignee, and fresh deadlines for that level.
pub fn escalated(
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
    actor_role: &str,
    body: String,
    internal: bool,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let event = Event {
        actor_id: Some(actor_id),
        actor_role,
        kind: "comment",
        from: None,
        to: None,
        assignee_id: None,
        note: Some(body),
        internal,
    };
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
        return Err(ApiError::InvalidTransition { action: "rate".to_owned(), status: status.as_str().to_owned() });
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
        return Err(ApiError::AlreadyRated);
    }
    let note = Some(match &text {
        Some(text) => format!("{score}/5 {text}"),
        None => format!("{score}/5"),
    });
    let event = Event {
        actor_id: Some(request.reporter_id),
        actor_role: "reporter",
        kind: "rated",
        from: None,
        to: None,
        assignee_id: None,
        note,
        internal: false,
    };
    append_event(db, request.id, event, now).await?;
    get(db, request.id).await
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
        let event = Event {
            actor_id: Some(user_id),
            actor_role: "neighbour",
            kind: "me_too",
            from: None,
            to: None,
            assignee_id: None,
            note: None,
            internal: false,
        };
        append_event(db, request.id, event, now).await?;
    }
    get(db, request.id).await
}
