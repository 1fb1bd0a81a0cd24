//! Inboxes kept per instance (`platform::kept`), so that opening one's inbox usually costs one
//! shared-cache read instead of a statement. Only the first page is kept (no cursor, not only unread),
//! and only for the page size it was read with. Every notice is told through `push` after the commit
//! that recorded it, and `push` replaces the addressee's inbox token before the use case answers; a
//! read mark replaces it too. So a new notice or a read mark shows on the very next request on every
//! instance. `INBOX_CACHE_TTL_MS` (default 5 s, 0: keep none) bounds what is changed behind the API's
//! back.

use std::sync::{Arc, OnceLock};

use ehome_entities::notification;

use super::service;
use crate::domain::UserId;
use crate::platform::compression::Precompressed;
use crate::platform::error::ApiResult;
use crate::platform::kept::Kept;
use crate::platform::pagination::Keyset;
use crate::state::AppState;

/// The kind of the inboxes' tokens in the shared cache (`inbox:{user}`).
pub const TOKENS: &str = "inbox";

/// The first page of an inbox as read: `limit + 1` rows at most (the extra one says more follow),
/// and the answer's body once it was written (by `http.rs`, then served as it is, compressed once,
/// while kept).
pub struct KeptInbox {
    limit: u64,
    pub rows: Vec<notification::Model>,
    pub unread: u64,
    pub body: OnceLock<Precompressed>,
}

/// The per-instance store of inboxes (part of `AppState`).
pub type InboxCache = Kept<KeptInbox>;

/// At most this many inboxes are kept per instance: a kept first page with its two bodies is some
/// 10 KB, so this bounds the store near 100 MB where callers and wallets (under 1 KB each) keep 50,000.
pub const INBOXES_KEPT_MAX: usize = 10_000;

/// The first page of the user's inbox: kept while their inbox token is unchanged, else read.
pub async fn first_page(state: &AppState, user: UserId, limit: u64) -> ApiResult<Arc<KeptInbox>> {
    let lookup = state.inboxes.lookup(&state.cache, user.0).await;
    if let Some(found) = lookup.found.as_ref().filter(|kept| kept.limit == limit) {
        return Ok(found.clone());
    }
    let keyset = Keyset { after_id: None, limit };
    let (rows, unread) = service::inbox(&state.db, user, &keyset, false).await?;
    let read = Arc::new(KeptInbox { limit, rows, unread, body: OnceLock::new() });
    state.inboxes.keep(user.0, lookup, &read);
    Ok(read)
}

/// Call after committing a change to these users' inboxes, before answering. The tokens are replaced
/// side by side (a bulk approval tells a thousand volunteers at once).
pub async fn changed(state: &AppState, users: impl IntoIterator<Item = UserId>) {
    let mut users: Vec<i64> = users.into_iter().map(|user| user.0).collect();
    users.sort_unstable();
    users.dedup();
    futures::future::join_all(users.into_iter().map(|user| state.inboxes.changed(&state.cache, user))).await;
}
