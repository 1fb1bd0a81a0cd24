//! Values an instance keeps between requests while their *token* in the shared cache is unchanged.
//!
//! Each kept value (a caller, a wallet) has a token in the shared cache under `{kind}:{id}`, replaced
//! with a fresh random value by [`Kept::changed`] after every committed change to what the value is
//! read from, and before the change answers. An instance keeps a value together with the token it read
//! *before* loading it, and uses it again only while the token it reads now is the same and the entry
//! is younger than the store's TTL. So a change is seen on the very next request on every instance
//! (one shared-cache read per request instead of the database), a change made behind the API's back
//! (SQL, the CLI) within the TTL, and a token that could not be read makes the caller load afresh
//! without keeping the result.
//!
//! One token may cover several values: a store with *parts* (`Kept<T, P>`) keeps, under the token of
//! one id, one value per part (a community's queue pages, one per filter and cursor). A change to the
//! id replaces its one token and so retires every part at once.
//!
//! The order matters: a reader that read the token before a writer replaced it keeps what it loaded
//! under the *old* token, so its next request sees the new token and loads again, whether its load
//! saw the change or not.
//!
//! [`Kept::get_or_load`] loads what is missing once per instance: the readers that miss the same id
//! and part at the same moment (a value that just aged out under load, or a change just published)
//! wait for the first one's load and then find what it kept, instead of each loading it again.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::platform::cache::Cache;

/// How long a token lives in the shared cache: longer than any entry is kept, so an expired token
/// (read as absent) only ever makes instances reload.
const TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

/// At most this many values are kept per store and instance unless the store says otherwise; when a
/// store is full, what has outlived the TTL is dropped, and if that frees too little, the older half.
pub const CAPACITY_DEFAULT: usize = 50_000;

struct Entry<T> {
    value: Arc<T>,
    token: Option<String>,
    loaded: Instant,
}

/// What a store holds: per id, its parts' entries; `count` is the number of entries over all ids.
struct Entries<T, P> {
    by_id: HashMap<i64, HashMap<P, Entry<T>>>,
    count: usize,
}

impl<T, P> Entries<T, P> {
    /// Keeps the entries `keep` says yes to, dropping ids left without any.
    fn retain(&mut self, keep: impl Fn(&Entry<T>) -> bool) {
        let mut count = 0;
        self.by_id.retain(|_, parts| {
            parts.retain(|_, entry| keep(entry));
            count += parts.len();
            !parts.is_empty()
        });
        self.count = count;
    }
}

/// How many loads of one store may run at once on an instance, each for its own ids and parts: the
/// readers that miss are spread over this many locks by the hash of what they miss.
const LOADS_AT_ONCE: usize = 16;

/// One kind of value kept per instance, by id and part (`()` for a store of one value per id).
pub struct Kept<T, P = ()> {
    kind: &'static str,
    entries: Mutex<Entries<T, P>>,
    ttl: Duration,
    capacity: usize,
    loads: [tokio::sync::Mutex<()>; LOADS_AT_ONCE],
    hasher: RandomState,
}

/// What a reader holds between reading the token and keeping what it loaded.
pub struct Lookup<T, P = ()> {
    /// The value kept under the current token, if any.
    pub found: Option<Arc<T>>,
    part: P,
    token: Option<String>,
    readable: bool,
    started: Instant,
}

impl<T> Kept<T> {
    /// Reads the id's token and what this instance keeps under it. An unreadable token is logged and
    /// finds nothing; what is then loaded is not kept.
    pub async fn lookup(&self, cache: &Cache, id: i64) -> Lookup<T> {
        self.lookup_part(cache, id, ()).await
    }
}

impl<T, P: Eq + Hash> Kept<T, P> {
    /// A store whose tokens are `{kind}:{id}`; a zero `ttl` keeps nothing.
    pub fn new(kind: &'static str, ttl: Duration) -> Kept<T, P> {
        Kept::with_capacity(kind, ttl, CAPACITY_DEFAULT)
    }

    /// A store that keeps at most `capacity` values (for values larger than a caller or a wallet).
    pub fn with_capacity(kind: &'static str, ttl: Duration, capacity: usize) -> Kept<T, P> {
        let entries = Entries { by_id: HashMap::new(), count: 0 };
        let loads = std::array::from_fn(|_| tokio::sync::Mutex::new(()));
        Kept { kind, entries: Mutex::new(entries), ttl, capacity: capacity.max(2), loads, hasher: RandomState::new() }
    }

    /// Reads the id's token and what this instance keeps of `part` under it (see [`Kept::lookup`]).
    pub async fn lookup_part(&self, cache: &Cache, id: i64, part: P) -> Lookup<T, P> {
        let started = Instant::now();
        if self.ttl.is_zero() {
            // Nothing is kept, so there is no token to compare with.
            return Lookup { found: None, part, token: None, readable: false, started };
        }
        match cache.get(&token_key(self.kind, id)).await {
            Ok(token) => {
                let found = self.fresh(id, &part, token.as_deref());
                Lookup { found, part, token, readable: true, started }
            }
            Err(error) => {
                tracing::warn!(%error, kind = self.kind, "tokens unreadable: the value is loaded from the database");
                Lookup { found: None, part, token: None, readable: false, started }
            }
        }
    }

    /// Keeps what was loaded after `lookup`, under the token read then. The id's parts kept under
    /// another token are dropped: they can no longer be used.
    pub fn keep(&self, id: i64, lookup: Lookup<T, P>, value: &Arc<T>) {
        if self.ttl.is_zero() || !lookup.readable {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.count >= self.capacity {
            let ttl = self.ttl;
            entries.retain(|e| e.loaded.elapsed() < ttl);
        }
        if entries.count >= self.capacity {
            let mut ages: Vec<Instant> =
                entries.by_id.values().flat_map(|parts| parts.values().map(|e| e.loaded)).collect();
            ages.sort_unstable();
            let cut = ages[ages.len() / 2];
            entries.retain(|e| e.loaded > cut);
        }
        let Lookup { part, token, started, .. } = lookup;
        let parts = entries.by_id.entry(id).or_default();
        let before = parts.len();
        parts.retain(|_, e| e.token == token);
        parts.insert(part, Entry { value: value.clone(), token, loaded: started });
        let after = parts.len();
        entries.count = entries.count + after - before;
    }

    /// The id's part as kept under its current token when `usable` says it may still serve, else
    /// what `load` loads, kept for the next readers. While one reader of this instance loads an id's
    /// part, the others that miss it wait, then read the token again and take what it kept; one
    /// finding nothing usable still (its token changed meanwhile, or nothing could be kept) loads in
    /// turn. A reader that did not have to wait loads under the token it already read.
    pub async fn get_or_load<E>(
        &self,
        cache: &Cache,
        id: i64,
        part: P,
        usable: impl Fn(&T) -> bool,
        load: impl AsyncFnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E>
    where
        P: Clone,
    {
        let lookup = self.lookup_part(cache, id, part.clone()).await;
        if let Some(found) = lookup.found.as_ref().filter(|value| usable(value)) {
            return Ok(found.clone());
        }
        if !lookup.readable {
            return load().await.map(Arc::new);
        }
        let stripe = usize::try_from(self.hasher.hash_one((id, &part)) % LOADS_AT_ONCE as u64).unwrap_or(0);
        let (_loading, lookup) = match self.loads[stripe].try_lock() {
            Ok(free) => (free, lookup),
            Err(_) => {
                let waited = self.loads[stripe].lock().await;
                let lookup = self.lookup_part(cache, id, part).await;
                if let Some(found) = lookup.found.as_ref().filter(|value| usable(value)) {
                    return Ok(found.clone());
                }
                (waited, lookup)
            }
        };
        let value = Arc::new(load().await?);
        self.keep(id, lookup, &value);
        Ok(value)
    }

    /// Call after committing a change to what the id's values are read from, before answering: this
    /// instance drops its copies and every instance loads afresh on its next request.
    pub async fn changed(&self, cache: &Cache, id: i64) {
        self.forget(id);
        publish(cache, self.kind, id).await;
    }

    /// Drops this instance's copies of the id's values without telling other instances: for a store
    /// that shares its tokens with another, whose `changed` (or [`publish`]) replaces the token.
    pub fn forget(&self, id: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(parts) = entries.by_id.remove(&id) {
            entries.count -= parts.len();
        }
    }

    /// The kind in the store's token keys (for [`publish_all`]).
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    fn fresh(&self, id: i64, part: &P, token: Option<&str>) -> Option<Arc<T>> {
        let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = entries.by_id.get(&id)?.get(part)?;
        (entry.token.as_deref() == token && entry.loaded.elapsed() < self.ttl).then(|| entry.value.clone())
    }
}

fn token_key(kind: &str, id: i64) -> String {
    format!("{kind}:{id}")
}

/// Replaces the token of `{kind}:{id}` (for a process without the store, such as the CLI). When the
/// shared cache cannot be written, instances keep their copies until these age out.
pub async fn publish(cache: &Cache, kind: &str, id: i64) {
    publish_all(cache, &[(kind, id)]).await;
}

/// [`publish`] for several tokens in one round trip (after [`Kept::forget`] on each store): a change
/// that retires more than one kind of kept value.
pub async fn publish_all(cache: &Cache, tokens: &[(&str, i64)]) {
    let fresh: Vec<(String, String)> =
        tokens.iter().map(|(kind, id)| (token_key(kind, *id), format!("{:016x}", rand::random::<u64>()))).collect();
    if let Err(error) = cache.set_many(&fresh, TOKEN_TTL).await {
        tracing::error!(%error, ?tokens, "could not publish a change to the other instances");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_now<P>(part: P, token: &str) -> Lookup<u32, P> {
        Lookup { found: None, part, token: Some(token.to_owned()), readable: true, started: Instant::now() }
    }

    fn kept_ids<P: Eq + Hash>(kept: &Kept<u32, P>) -> Vec<i64> {
        let mut ids: Vec<i64> = kept.entries.lock().unwrap().by_id.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn a_full_store_first_drops_what_outlived_the_ttl() {
        let kept = Kept::with_capacity("test", Duration::from_millis(20), 4);
        for id in 0..4 {
            kept.keep(id, read_now((), "t"), &Arc::new(0));
        }
        std::thread::sleep(Duration::from_millis(30));
        kept.keep(4, read_now((), "t"), &Arc::new(4));
        assert_eq!(kept_ids(&kept), vec![4]);
        assert_eq!(kept.fresh(4, &(), Some("t")).as_deref(), Some(&4));
    }

    #[test]
    fn a_full_store_of_fresh_values_drops_the_older_half() {
        let kept = Kept::with_capacity("test", Duration::from_secs(600), 4);
        for id in 0..4 {
            kept.keep(id, read_now((), "t"), &Arc::new(0));
            std::thread::sleep(Duration::from_millis(2));
        }
        kept.keep(4, read_now((), "t"), &Arc::new(4));
        assert_eq!(kept_ids(&kept), vec![3, 4], "the three oldest went (the older half, up to the median)");
        assert!(kept.fresh(0, &(), Some("t")).is_none());
    }

    #[test]
    fn parts_live_under_their_ids_token_and_go_with_it() {
        let kept: Kept<u32, &str> = Kept::with_capacity("test", Duration::from_secs(600), 100);
        kept.keep(1, read_now("first", "t1"), &Arc::new(1));
        kept.keep(1, read_now("deep", "t1"), &Arc::new(2));
        kept.keep(2, read_now("first", "u1"), &Arc::new(3));
        assert_eq!(kept.fresh(1, &"deep", Some("t1")).as_deref(), Some(&2));
        assert!(kept.fresh(1, &"deep", Some("t2")).is_none(), "another token finds nothing");
        // A part kept under the id's new token drops the parts kept under the old one.
        kept.keep(1, read_now("first", "t2"), &Arc::new(4));
        assert!(kept.fresh(1, &"deep", Some("t1")).is_none());
        assert_eq!(kept.fresh(1, &"first", Some("t2")).as_deref(), Some(&4));
        assert_eq!(kept.entries.lock().unwrap().count, 2);
        kept.forget(1);
        assert_eq!(kept_ids(&kept), vec![2]);
        assert_eq!(kept.entries.lock().unwrap().count, 1);
    }

    #[test]
    fn the_capacity_counts_parts() {
        let kept: Kept<u32, u32> = Kept::with_capacity("test", Duration::from_secs(600), 4);
        for part in 0..4 {
            kept.keep(7, read_now(part, "t"), &Arc::new(part));
            std::thread::sleep(Duration::from_millis(2));
        }
        kept.keep(8, read_now(0, "t"), &Arc::new(9));
        let entries = kept.entries.lock().unwrap();
        assert_eq!(entries.count, 2, "id 7's older parts went, up to the median");
        assert_eq!(entries.by_id[&7].len(), 1);
    }

    #[tokio::test]
    async fn readers_that_miss_together_load_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let cache: Cache = Arc::new(crate::platform::cache::MemoryCache::new("kept-test:"));
        let kept: Arc<Kept<u32, &'static str>> = Arc::new(Kept::new("test", Duration::from_secs(600)));
        let loads = Arc::new(AtomicUsize::new(0));
        let read = |kept: Arc<Kept<u32, &'static str>>, part: &'static str, value: u32| {
            let (cache, loads) = (cache.clone(), loads.clone());
            async move {
                let load = async || {
                    loads.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok::<u32, ()>(value)
                };
                kept.get_or_load(&cache, 1, part, |_| true, load).await.map(|v| *v)
            }
        };
        let together: Vec<_> = (0..8).map(|_| tokio::spawn(read(kept.clone(), "page", 7))).collect();
        for reader in together {
            assert_eq!(reader.await.unwrap(), Ok(7));
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1, "eight readers, one load");

        // Another part of the same id is its own load; a change published makes every part load again.
        assert_eq!(read(kept.clone(), "deep", 8).await, Ok(8));
        assert_eq!(loads.load(Ordering::SeqCst), 2);
        kept.changed(&cache, 1).await;
        assert_eq!(read(kept.clone(), "page", 9).await, Ok(9));
        assert_eq!(loads.load(Ordering::SeqCst), 3);

        // A kept value that `usable` turns down is loaded afresh and replaces it.
        let fresh = kept.get_or_load(&cache, 1, "page", |v| *v != 9, async || Ok::<u32, ()>(10)).await;
        assert_eq!(fresh.map(|v| *v), Ok(10));
        assert_eq!(
            kept.fresh(1, &"page", cache.get(&token_key("test", 1)).await.unwrap().as_deref()).as_deref(),
            Some(&10)
        );
    }
}
