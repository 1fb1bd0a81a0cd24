//! HTTP of the inbox: list, mark one read, mark all read.

use actix_web::http::header::ContentType;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use ehome_entities::notification;
use serde::{Deserialize, Serialize};

use super::{kept, service};
use crate::identity::auth::AuthUser;
use crate::platform::compression::Precompressed;
use crate::platform::error::{ApiError, ApiResult};
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
    request: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<InboxQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let keyset = PageQuery { cursor: query.cursor, limit: query.limit }.keyset()?;
    let unread_only = query.unread == Some(true);
    if keyset.after_id.is_some() || unread_only {
        let (rows, unread) = service::inbox(&state.db, caller.id, &keyset, unread_only).await?;
        return Ok(HttpResponse::Ok().content_type(ContentType::json()).body(inbox_body(rows, keyset.limit, unread)?));
    }
    // The first page: while the inbox is kept, so is the body written (and compressed) for it.
    let first = kept::first_page(&state, caller.id, keyset.limit).await?;
    let body = match first.body.get() {
        Some(body) => body,
        None => {
            let written = Precompressed::new(inbox_body(first.rows.clone(), keyset.limit, first.unread)?);
            first.body.get_or_init(|| written)
        }
    };
    Ok(body.respond(&request))
}

fn inbox_body(rows: Vec<notification::Model>, limit: u64, unread: u64) -> ApiResult<Bytes> {
    let page = page(rows, limit, |n| n.id, NotificationView::from);
    let view = InboxView { items: page.items, next_cursor: page.next_cursor, unread };
    Ok(Bytes::from(serde_json::to_vec(&view).map_err(ApiError::internal)?))
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
