//! Cursor pagination: `?cursor=&limit=` → `{items, next_cursor}`. Cursors are opaque to clients.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::domain::CommunityId;
use crate::platform::error::ApiError;

pub const LIMIT_DEFAULT: u64 = 20;
pub const LIMIT_MAX: u64 = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

/// `?community_id=&cursor=&limit=`: one community's list, a page at a time.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommunityPageQuery {
    pub community_id: i64,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

impl CommunityPageQuery {
    /// The community and the keyset position the query names.
    pub fn parts(self) -> Result<(CommunityId, Keyset), ApiError> {
        let keyset = PageQuery { cursor: self.cursor, limit: self.limit }.keyset()?;
        Ok((CommunityId(self.community_id), keyset))
    }
}

#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A keyset position: the id of the last item returned.
pub struct Keyset {
    pub after_id: Option<i64>,
    pub limit: u64,
}

impl PageQuery {
    pub fn keyset(&self) -> Result<Keyset, ApiError> {
        let limit = self.limit.unwrap_or(LIMIT_DEFAULT);
        if !(1..=LIMIT_MAX).contains(&limit) {
            return Err(ApiError::validation("limit", format!("1 to {LIMIT_MAX}")));
        }
        let after_id = match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(cursor) => {
                Some(decode(cursor).ok_or_else(|| ApiError::validation("cursor", "not a cursor from this API"))?)
            }
        };
        Ok(Keyset { after_id, limit })
    }
}

fn decode(cursor: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    String::from_utf8(bytes).ok()?.strip_prefix("id:")?.parse().ok()
}

pub fn encode(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("id:{id}"))
}

/// Builds a page from rows fetched with `limit + 1`: the extra row only says there is more.
pub fn page<R, T>(mut rows: Vec<R>, limit: u64, id_of: impl Fn(&R) -> i64, view: impl Fn(R) -> T) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more { rows.last().map(|row| encode(id_of(row))) } else { None };
    Page { items: rows.into_iter().map(view).collect(), next_cursor }
}
