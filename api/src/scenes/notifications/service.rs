//! The inbox's rows and the subscribe messages: scenes `record` a notice inside their transaction and
//! `push` it after commit.

use chrono::{DateTime, Utc};
use ehome_entities::{notification, user};
use sea_orm::sea_query::{Expr, ExprTrait, SubQueryStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Set,
};

use crate::domain::UserId;
use crate::platform::error::ApiError;
use crate::platform::pagination::Keyset;
use crate::platform::wechat::{SendOutcome, SubscribeMessage};
use crate::state::AppState;

/// Something to tell one user.
#[derive(Debug, Clone)]
pub struct Notice {
    pub user_id: i64,
    pub kind: &'static str,
    pub title: String,
    pub body: String,
    pub request_id: Option<i64>,
    /// A short status word for the subscribe message's `phrase` field (≤ 5 characters).
    pub phrase: String,
}

pub async fn record(db: &impl ConnectionTrait, notice: &Notice, now: DateTime<Utc>) -> Result<(), ApiError> {
    notification::ActiveModel {
        user_id: Set(notice.user_id),
        kind: Set(notice.kind.to_owned()),
        title: Set(notice.title.clone()),
        body: Set(notice.body.clone()),
        request_id: Set(notice.request_id),
        created_at: Set(now),
        read_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

fn truncate(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

/// Call after the commit that recorded the notice, before answering: the addressee's inbox is read
/// afresh on their next request on every instance, and the subscribe message goes out in the
/// background (the request that caused it does not wait on WeChat).
pub async fn push(state: &AppState, notice: Notice, at: DateTime<Utc>) {
    push_all(state, [notice], at).await;
}

/// [`push`] for many notices: their addressees' inbox tokens are replaced side by side.
pub async fn push_all(state: &AppState, notices: impl IntoIterator<Item = Notice>, at: DateTime<Utc>) {
    let notices: Vec<Notice> = notices.into_iter().collect();
    super::kept::changed(state, notices.iter().map(|notice| UserId(notice.user_id))).await;
    let template_id = state.settings.requests.status_template_id.clone();
    if template_id.is_empty() {
        return;
    }
    for notice in notices {
        send_subscribe(state, notice, template_id.clone(), at);
    }
}

fn send_subscribe(state: &AppState, notice: Notice, template_id: String, at: DateTime<Utc>) {
    let state = state.clone();
    tokio::spawn(async move {
        let openid = match user::Entity::find_by_id(notice.user_id).one(&state.db).await {
            Ok(Some(user)) => user.openid,
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(error = %err, "could not read the user to notify");
                return;
            }
        };
        let page = notice.request_id.map(|id| format!("pages/requests/detail?id={id}"));
        let shanghai = at.with_timezone(&chrono_tz::Asia::Shanghai);
        let message = SubscribeMessage {
            touser: openid,
            template_id,
            page,
            data: vec![
                ("thing1".to_owned(), truncate(&notice.title, 20)),
                ("phrase2".to_owned(), truncate(&notice.phrase, 5)),
                ("time3".to_owned(), shanghai.format("%Y-%m-%d %H:%M").to_string()),
            ],
            miniprogram_state: None,
            lang: None,
        };
        match state.wechat.send_subscribe(&message).await {
            Ok(SendOutcome::Sent) => tracing::debug!(user_id = notice.user_id, "subscribe message sent"),
            Ok(SendOutcome::NotSubscribed) => {
                tracing::debug!(user_id = notice.user_id, "user has no subscription left")
            }
            Err(err) => tracing::warn!(user_id = notice.user_id, error = %err, "subscribe message failed"),
        }
    });
}

/// A user's inbox page (newest first, keyset by id) and how many are unread — in one statement, the
/// unread count a scalar subquery beside each row (counted apart only when the page is empty).
pub async fn inbox(
    db: &impl ConnectionTrait,
    user: UserId,
    keyset: &Keyset,
    unread_only: bool,
) -> Result<(Vec<notification::Model>, u64), ApiError> {
    let unread = notification::Entity::find()
        .filter(notification::Column::UserId.eq(user.0))
        .filter(notification::Column::ReadAt.is_null());
    let mut select = notification::Entity::find()
        .filter(notification::Column::UserId.eq(user.0))
        .order_by_desc(notification::Column::Id)
        .limit(keyset.limit + 1);
    if let Some(before) = keyset.after_id {
        select = select.filter(notification::Column::Id.lt(before));
    }
    if unread_only {
        select = select.filter(notification::Column::ReadAt.is_null());
    }
    let mut count = unread.clone().select_only().into_query();
    count.expr(Expr::col(notification::Column::Id).count());
    let mut statement = select.into_query();
    statement.expr_as(Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(count))), UNREAD);
    let mut rows = Vec::new();
    let mut unread_count = None;
    for row in db.query_all(&statement).await? {
        unread_count = Some(row.try_get::<i64>("", UNREAD)?);
        rows.push(notification::Model::from_query_result(&row, "")?);
    }
    let unread_count = match unread_count {
        Some(counted) => u64::try_from(counted).unwrap_or(0),
        None => unread.count(db).await?,
    };
    Ok((rows, unread_count))
}

const UNREAD: &str = "unread_count";

/// Marks one of the user's notifications read (once: a second mark keeps the first time).
pub async fn mark_read(
    db: &impl ConnectionTrait,
    user: UserId,
    id: i64,
    now: DateTime<Utc>,
) -> Result<notification::Model, ApiError> {
    let found = notification::Entity::find_by_id(id)
        .filter(notification::Column::UserId.eq(user.0))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("notification"))?;
    if found.read_at.is_some() {
        return Ok(found);
    }
    let mut active: notification::ActiveModel = found.into();
    active.read_at = Set(Some(now));
    Ok(active.update(db).await?)
}

/// Marks every unread notification of the user read; returns how many.
pub async fn mark_all_read(db: &impl ConnectionTrait, user: UserId, now: DateTime<Utc>) -> Result<u64, ApiError> {
    let updated = notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(now))
        .filter(notification::Column::UserId.eq(user.0))
        .filter(notification::Column::ReadAt.is_null())
        .exec(db)
        .await?;
    Ok(updated.rows_affected)
}
