//! The in-app inbox (`GET /me/notifications`, read marks) and WeChat subscribe messages. A status change
//! of a request lands in the reporter's inbox and, when a template is configured, on their phone; a
//! user who has not subscribed (43101) is normal and only the inbox gets it.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use ehome_entities::{notification, user};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use serde::{Deserialize, Serialize};

use crate::identity::auth::AuthUser;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::pagination::{PageQuery, page};
use crate::platform::wechat::{SendOutcome, SubscribeMessage};
use crate::routes::Routes;
use crate::state::AppState;

pub fn routes(routes: &mut Routes<'_>) {
    routes.get("/me/notifications", list);
    routes.post("/me/notifications/{id}/read", mark_read);
    routes.post("/me/notifications/read-all", mark_all_read);
}

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

/// Sends the subscribe message in the background: the request that caused it does not wait on WeChat.
pub fn push(state: &AppState, notice: Notice, at: DateTime<Utc>) {
    let template_id = state.settings.requests.status_template_id.clone();
    if template_id.is_empty() {
        return;
    }
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

#[derive(Debug, Serialize)]
struct NotificationView {
    id: i64,
    kind: String,
    title: String,
    body: String,
    request_id: Option<i64>,
    created_at: DateTime<Utc>,
    read_at: Option<DateTime<Utc>>,
}

impl From<notification::Model> for NotificationView {
    fn from(n: notification::Model) -> Self {
        NotificationView {
            id: n.id,
            kind: n.kind,
            title: n.title,
            body: n.body,
            request_id: n.request_id,
            created_at: n.created_at,
            read_at: n.read_at,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InboxQuery {
    unread: Option<bool>,
    cursor: Option<String>,
    limit: Option<u64>,
}

/// Newest first.
async fn list(state: web::Data<AppState>, caller: AuthUser, query: web::Query<InboxQuery>) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let keyset = PageQuery { cursor: query.cursor, limit: query.limit }.keyset()?;
    let mut select = notification::Entity::find()
        .filter(notification::Column::UserId.eq(caller.id.0))
        .order_by_desc(notification::Column::Id)
        .limit(keyset.limit + 1);
    if let Some(before) = keyset.after_id {
        select = select.filter(notification::Column::Id.lt(before));
    }
    if query.unread == Some(true) {
        select = select.filter(notification::Column::ReadAt.is_null());
    }
    let rows = select.all(&state.db).await?;
    let unread = notification::Entity::find()
        .filter(notification::Column::UserId.eq(caller.id.0))
        .filter(notification::Column::ReadAt.is_null())
        .count(&state.db)
        .await?;
    let page = page(rows, keyset.limit, |n| n.id, NotificationView::from);
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({"items": page.items, "next_cursor": page.next_cursor, "unread": unread})))
}

async fn mark_read(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    let found = notification::Entity::find_by_id(id)
        .filter(notification::Column::UserId.eq(caller.id.0))
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound("notification"))?;
    let row = match found.read_at {
        Some(_) => found,
        None => {
            let mut active: notification::ActiveModel = found.into();
            active.read_at = Set(Some(state.clock.now()));
            active.update(&state.db).await?
        }
    };
    Ok(HttpResponse::Ok().json(NotificationView::from(row)))
}

async fn mark_all_read(state: web::Data<AppState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    let updated = notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(state.clock.now()))
        .filter(notification::Column::UserId.eq(caller.id.0))
        .filter(notification::Column::ReadAt.is_null())
        .exec(&state.db)
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"marked": updated.rows_affected})))
}
