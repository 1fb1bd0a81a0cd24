//! A community's request pages and statistics kept per instance (`platform::kept`), so that the
//! committee's queue and figures, opened again and again on a Monday morning, usually cost one
//! shared-cache read instead of their statements.
//!
//! One token per community (`requests:{community}`) covers every page read there: each filter,
//! cursor, page size and list scope is a part of it; and every request's detail (the request, its
//! reporter and its whole timeline), one part per request. Another (`stats:{community}`) covers every
//! statistics answer (each period and range a part), which also shows the community's volunteering.
//! Every use case that changes a request (or its timeline, or what a page shows of its reporter, or a
//! category's name) calls [`changed`] after its commit and before it answers, which replaces both;
//! one that changes what the volunteering figures count (hours, help records, activities held, teams)
//! calls [`stats_changed`]. So a change shows on the very next request on every instance. A kept
//! value is used again only while it is younger than `REQUESTS_CACHE_TTL_MS` (default 5 s, 0: keep
//! none) by the instance's clock *and* by the app's clock, which bounds both what is changed behind
//! the API's back and how long the overdue figures judged when the value was read stand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::web::Bytes;
use chrono::{DateTime, Utc};
use ehome_entities::{request_event, service_request, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::calendar::{DateRange, Period};
use super::queue::{self, Cursor, QueueFilter};
use super::{store, views};
use crate::authz::RequestListScope;
use crate::domain::{CommunityId, UserId};
use crate::platform::cache::Cache;
use crate::platform::compression::Precompressed;
use crate::platform::error::ApiResult;
use crate::platform::kept::{self, Kept};
use crate::state::AppState;

/// The kind of the communities' request tokens in the shared cache (`requests:{community}`).
pub const TOKENS: &str = "requests";

/// At most this many request details are kept per instance (one with its timeline is some 2 KB).
pub const DETAILS_KEPT_MAX: usize = 20_000;

/// The kind of the communities' statistics tokens in the shared cache (`stats:{community}`).
pub const STATS_TOKENS: &str = "stats";

/// At most this many pages are kept per instance: a page of 20 requests is some 20 KB, of the
/// largest size (100) some 100 KB.
pub const PAGES_KEPT_MAX: usize = 2_000;

/// At most this many statistics are kept per instance (a year by day by category and grid is some
/// 100 KB).
pub const STATS_KEPT_MAX: usize = 1_000;

/// One page as read: its rows (request, reporter, overdue rank), the next cursor, the app's instant
/// it was read at, and the page as written for its latest readers.
pub struct KeptPage {
    pub rows: Vec<(service_request::Model, Option<user::Model>, bool)>,
    pub next_cursor: Option<String>,
    read_at: DateTime<Utc>,
    bodies: Mutex<Vec<PageBody>>,
}

/// A page as written (and compressed once) for the readers who see the same rows' reporters in full,
/// and the span of the app's time over which every row's overdue figures stand as written.
struct PageBody {
    reporters_shown: Vec<bool>,
    written_at: DateTime<Utc>,
    stands_until: Option<DateTime<Utc>>,
    body: Arc<Precompressed>,
}

/// How many writings of one page are kept: one per set of rows whose reporters its readers see in
/// full (the handlers' page, and the page of each reporter with rows on it).
const BODIES_PER_PAGE_MAX: usize = 4;

impl KeptPage {
    /// The page's body for a reader who sees the reporters of the rows marked in `reporters_shown`
    /// (one mark per row, in order), as written by `write` at `now`: the body written before for the
    /// same marks while no row's overdue figures have changed since, else written now and kept for the
    /// next readers (who wait meanwhile: they would write the same).
    pub fn body(
        &self,
        reporters_shown: Vec<bool>,
        now: DateTime<Utc>,
        write: impl FnOnce() -> ApiResult<Bytes>,
    ) -> ApiResult<Arc<Precompressed>> {
        let mut bodies = self.bodies.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let stands = |b: &PageBody| b.written_at <= now && b.stands_until.is_none_or(|until| now <= until);
        if let Some(found) = bodies.iter().find(|b| b.reporters_shown == reporters_shown && stands(b)) {
            return Ok(found.body.clone());
        }
        let body = Arc::new(Precompressed::new(write()?));
        let stands_until =
            self.rows.iter().filter_map(|(request, _, _)| views::overdue_stands_until(request, now)).min();
        bodies.retain(|b| b.reporters_shown != reporters_shown);
        if bodies.len() >= BODIES_PER_PAGE_MAX {
            bodies.remove(0);
        }
        bodies.push(PageBody { reporters_shown, written_at: now, stands_until, body: body.clone() });
        Ok(body)
    }
}

/// The per-instance store of request pages (part of `AppState`): by community, one part per page.
pub type QueueCache = Kept<KeptPage, String>;

/// A community's statistics answer for one period and range as written (and compressed once), and
/// the app's instant it was computed at.
pub struct KeptStats {
    pub body: Precompressed,
    read_at: DateTime<Utc>,
}

/// The per-instance store of statistics answers (part of `AppState`), by community, one part per
/// period and range.
pub type StatsCache = Kept<KeptStats, String>;

/// A request's detail as read: the request, its reporter and its whole timeline (internal notes
/// too: what the reader may see of it is worked out per request), and the app's instant it was read at.
pub struct KeptDetail {
    pub request: service_request::Model,
    pub reporter: Option<user::Model>,
    pub timeline: Vec<request_event::Model>,
    read_at: DateTime<Utc>,
}

/// The per-instance store of request details (part of `AppState`): by community, under the
/// community's token, one part per request; and each request's community as this instance learned it
/// from the request's first read (a request never moves to another community).
pub struct DetailCache {
    kept: Kept<KeptDetail, i64>,
    communities: Mutex<HashMap<i64, i64>>,
}

impl DetailCache {
    /// A store whose entries live `ttl` at most; a zero `ttl` keeps none.
    pub fn new(ttl: Duration) -> DetailCache {
        DetailCache { kept: Kept::with_capacity(TOKENS, ttl, DETAILS_KEPT_MAX), communities: Mutex::default() }
    }

    fn community_of(&self, request: i64) -> Option<i64> {
        self.communities.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&request).copied()
    }

    /// Remembers a request's community; the map is emptied when it grows past ten times the details
    /// kept (each request's next read then learns it again).
    fn learn(&self, request: i64, community: i64) {
        let mut communities = self.communities.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if communities.len() >= 10 * DETAILS_KEPT_MAX {
            communities.clear();
        }
        communities.insert(request, community);
    }
}

/// A request's detail: kept while its community's token is unchanged, else read. A request this
/// instance has not read before is read and not kept: the token that covers it is its community's,
/// which the read tells.
pub async fn detail(state: &AppState, id: i64) -> ApiResult<Arc<KeptDetail>> {
    let now = state.clock.now();
    let details = &state.request_details;
    let read = async || -> ApiResult<KeptDetail> {
        let (request, reporter, timeline) = store::get_with_reporter_and_timeline(&state.db, id).await?;
        Ok(KeptDetail { request, reporter, timeline, read_at: now })
    };
    let Some(community) = details.community_of(id) else {
        let first = read().await?;
        details.learn(id, first.request.community_id);
        return Ok(Arc::new(first));
    };
    details.kept.get_or_load(&state.cache, community, id, |kept| young(state, kept.read_at, now), read).await
}

/// Whether what was read at `read_at` may still be used at `now` by the app's clock.
fn young(state: &AppState, read_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    let ttl = chrono::Duration::milliseconds(i64::try_from(state.settings.requests.requests_cache_ttl_ms).unwrap_or(0));
    read_at <= now && now - read_at < ttl
}

/// A page of a community's requests: kept while the community's token is unchanged, else read.
pub async fn page(
    state: &AppState,
    filter: &QueueFilter,
    scope: &RequestListScope,
    cursor: Option<Cursor>,
    limit: u64,
) -> ApiResult<Arc<KeptPage>> {
    let now = state.clock.now();
    // Everything the page's rows depend on; the caller's own access is worked out per request.
    let part = format!("{scope:?}|{filter:?}|{cursor:?}|{limit}");
    let read = async || -> ApiResult<KeptPage> {
        let (rows, next_cursor) = queue::page(&state.db, filter, scope, cursor, limit, now).await?;
        Ok(KeptPage { rows, next_cursor, read_at: now, bodies: Mutex::default() })
    };
    let usable = |page: &KeptPage| young(state, page.read_at, now);
    state.queue_pages.get_or_load(&state.cache, filter.community_id, part, usable, read).await
}

/// A community's statistics answer: kept while the community's statistics token is unchanged, else
/// computed by `compute` and written.
pub async fn stats(
    state: &AppState,
    community: CommunityId,
    period: Period,
    range: DateRange,
    compute: impl AsyncFnOnce(DateTime<Utc>) -> ApiResult<Bytes>,
) -> ApiResult<Arc<KeptStats>> {
    let now = state.clock.now();
    let part = format!("{period:?}|{range:?}");
    let read = async || -> ApiResult<KeptStats> {
        Ok(KeptStats { body: Precompressed::new(compute(now).await?), read_at: now })
    };
    let usable = |kept: &KeptStats| young(state, kept.read_at, now);
    state.request_stats.get_or_load(&state.cache, community.0, part, usable, read).await
}

fn distinct(communities: impl IntoIterator<Item = CommunityId>) -> Vec<i64> {
    let mut communities: Vec<i64> = communities.into_iter().map(|community| community.0).collect();
    communities.sort_unstable();
    communities.dedup();
    communities
}

/// Call after committing a change to requests of these communities, before answering: their pages
/// and statistics are read afresh.
pub async fn changed(state: &AppState, communities: impl IntoIterator<Item = CommunityId>) {
    let mut tokens = Vec::new();
    for community in distinct(communities) {
        state.queue_pages.forget(community);
        state.request_details.kept.forget(community);
        state.request_stats.forget(community);
        tokens.extend([(state.queue_pages.kind(), community), (state.request_stats.kind(), community)]);
    }
    kept::publish_all(&state.cache, &tokens).await;
}

/// Call after committing a change to what these communities' volunteering figures count, before
/// answering: their statistics are computed afresh.
pub async fn stats_changed(state: &AppState, communities: impl IntoIterator<Item = CommunityId>) {
    let each = distinct(communities).into_iter().map(|community| state.request_stats.changed(&state.cache, community));
    futures::future::join_all(each).await;
}

/// `changed` for a process without an `AppState` (the CLI).
pub async fn changed_in(cache: &Cache, community: CommunityId) {
    kept::publish_all(cache, &[(TOKENS, community.0), (STATS_TOKENS, community.0)]).await;
}

/// Call after committing a change to a user's nickname or phone, before answering: the pages of the
/// communities where they reported show them.
pub async fn reporter_changed(state: &AppState, user: UserId) -> ApiResult<()> {
    let communities: Vec<i64> = service_request::Entity::find()
        .select_only()
        .column(service_request::Column::CommunityId)
        .distinct()
        .filter(service_request::Column::ReporterId.eq(user.0))
        .into_tuple()
        .all(&state.db)
        .await?;
    changed(state, communities.into_iter().map(CommunityId)).await;
    Ok(())
}
