//! HTTP of the inbox: list, mark one read, mark all read.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use ehome_entities::notification;
use serde::{Deserialize, Serialize};

use super::{kept, service};
use crate::identity::auth::AuthUser;
use crate::platform::error::ApiResult;
use crate::platform::pagination::{PageQuery, page};
use crate::state::AppState;

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
pub struct InboxQuery {
    unread: Option<bool>,
    cursor: Option<String>,
    limit: Option<u64>,
}

/// Newest first.
pub async fn list(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<InboxQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let keyset = PageQuery { cursor: query.cursor, limit: query.limit }.keyset()?;
    let unread_only = query.unread == Some(true);
    let (rows, unread) = if keyset.after_id.is_none() && !unread_only {
        let first = kept::first_page(&state, caller.id, keyset.limit).await?;
        (first.rows.clone(), first.unread)
    } else {
        service::inbox(&state.db, caller.id, &keyset, unread_only).await?
    };
    let page = page(rows, keyset.limit, |n| n.id, NotificationView::from);
    Ok(HttpResponse::Ok().json(InboxView { items: page.items, next_cursor: page.next_cursor, unread }))
}

/// The inbox page, serialised straight from its views.
#[derive(Serialize)]
struct InboxView {
    items: Vec<NotificationView>,
    next_cursor: Option<String>,
    unread: u64,
}

pub async fn mark_read(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let row = service::mark_read(&state.db, caller.id, path.into_inner(), state.clock.now()).await?;
    kept::changed(&state, [caller.id]).await;
    Ok(HttpResponse::Ok().json(NotificationView::from(row)))
}

pub async fn mark_all_read(state: web::Data<AppState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    let marked = service::mark_all_read(&state.db, caller.id, state.clock.now()).await?;
    kept::changed(&state, [caller.id]).await;
    Ok(HttpResponse::Ok().json(serde_json::json!({"marked": marked})))
}
