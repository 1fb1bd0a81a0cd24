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
//! The order matters: a reader that read the token before a writer replaced it keeps what it loaded
//! under the *old* token, so its next request sees the new token and loads again, whether its load
//! saw the change or not.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::platform::cache::{Cache, CacheError};

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

/// One kind of value kept per instance, by id.
pub struct Kept<T> {
    kind: &'static str,
    entries: Mutex<HashMap<i64, Entry<T>>>,
    ttl: Duration,
    capacity: usize,
}

/// What a reader holds between reading the token and keeping what it loaded.
pub struct Lookup<T> {
    /// The value kept under the current token, if any.
    pub found: Option<Arc<T>>,
    token: Option<String>,
    readable: bool,
    started: Instant,
}

impl<T> Kept<T> {
    /// A store whose tokens are `{kind}:{id}`; a zero `ttl` keeps nothing.
    pub fn new(kind: &'static str, ttl: Duration) -> Kept<T> {
        Kept::with_capacity(kind, ttl, CAPACITY_DEFAULT)
    }

    /// A store that keeps at most `capacity` values (for values larger than a caller or a wallet).
    pub fn with_capacity(kind: &'static str, ttl: Duration, capacity: usize) -> Kept<T> {
        Kept { kind, entries: Mutex::new(HashMap::new()), ttl, capacity: capacity.max(2) }
    }

    /// Reads the id's token and what this instance keeps under it. An unreadable token is logged and
    /// finds nothing; what is then loaded is not kept.
    pub async fn lookup(&self, cache: &Cache, id: i64) -> Lookup<T> {
        let started = Instant::now();
        if self.ttl.is_zero() {
            // Nothing is kept, so there is no token to compare with.
            return Lookup { found: None, token: None, readable: false, started };
        }
        match cache.get(&token_key(self.kind, id)).await {
            Ok(token) => Lookup { found: self.fresh(id, token.as_deref()), token, readable: true, started },
            Err(error) => {
                tracing::warn!(%error, kind = self.kind, "tokens unreadable: the value is loaded from the database");
                Lookup { found: None, token: None, readable: false, started }
            }
        }
    }

    /// Keeps what was loaded after `lookup`, under the token read then.
    pub fn keep(&self, id: i64, lookup: Lookup<T>, value: &Arc<T>) {
        if self.ttl.is_zero() || !lookup.readable {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= self.capacity {
            let ttl = self.ttl;
            entries.retain(|_, e| e.loaded.elapsed() < ttl);
        }
        if entries.len() >= self.capacity {
            let mut ages: Vec<Instant> = entries.values().map(|e| e.loaded).collect();
            ages.sort_unstable();
            let cut = ages[ages.len() / 2];
            entries.retain(|_, e| e.loaded > cut);
        }
        entries.insert(id, Entry { value: value.clone(), token: lookup.token, loaded: lookup.started });
    }

    /// Call after committing a change to what the id's value is read from, before answering: this
    /// instance drops its copy and every instance loads afresh on its next request.
    pub async fn changed(&self, cache: &Cache, id: i64) {
        self.forget(id);
        publish(cache, self.kind, id).await;
    }

    fn fresh(&self, id: i64, token: Option<&str>) -> Option<Arc<T>> {
        let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = entries.get(&id)?;
        (entry.token.as_deref() == token && entry.loaded.elapsed() < self.ttl).then(|| entry.value.clone())
    }

    fn forget(&self, id: i64) {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&id);
    }
}

fn token_key(kind: &str, id: i64) -> String {
    format!("{kind}:{id}")
}

/// Replaces the token of `{kind}:{id}` (for a process without the store, such as the CLI). When the
/// shared cache cannot be written, instances keep their copies until these age out.
pub async fn publish(cache: &Cache, kind: &str, id: i64) {
    let token = format!("{:016x}", rand::random::<u64>());
    let result: Result<(), CacheError> = cache.set(&token_key(kind, id), &token, Some(TOKEN_TTL)).await;
    if let Err(error) = result {
        tracing::error!(%error, kind, id, "could not publish a change to the other instances");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_now() -> Lookup<u32> {
        Lookup { found: None, token: Some("t".to_owned()), readable: true, started: Instant::now() }
    }

    fn kept_ids(kept: &Kept<u32>) -> Vec<i64> {
        let mut ids: Vec<i64> = kept.entries.lock().unwrap().keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn a_full_store_first_drops_what_outlived_the_ttl() {
        let kept = Kept::with_capacity("test", Duration::from_millis(20), 4);
        for id in 0..4 {
            kept.keep(id, read_now(), &Arc::new(0));
        }
        std::thread::sleep(Duration::from_millis(30));
        kept.keep(4, read_now(), &Arc::new(4));
        assert_eq!(kept_ids(&kept), vec![4]);
        assert_eq!(kept.fresh(4, Some("t")).as_deref(), Some(&4));
    }

    #[test]
    fn a_full_store_of_fresh_values_drops_the_older_half() {
        let kept = Kept::with_capacity("test", Duration::from_secs(600), 4);
        for id in 0..4 {
            kept.keep(id, read_now(), &Arc::new(0));
            std::thread::sleep(Duration::from_millis(2));
        }
        kept.keep(4, read_now(), &Arc::new(4));
        assert_eq!(kept_ids(&kept), vec![3, 4], "the three oldest went (the older half, up to the median)");
        assert!(kept.fresh(0, Some("t")).is_none());
    }
}
