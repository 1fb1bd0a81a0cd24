//! Shared state between API instances: key/value with TTL, atomic set-if-absent, compare-and-delete,
//! counters for rate limits, sorted sets. Redis when `REDIS_URL` is set; otherwise an in-process
//! implementation that is correct for a single instance only. Every key lives under the configured
//! prefix, so tests and deployments can share one Redis.

mod memory;
mod redis_store;
mod unreachable;

use std::sync::Arc;
use std::time::Duration;

pub use memory::MemoryCache;
pub use redis_store::RedisCache;
pub use unreachable::UnreachableCache;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("stored value is not valid: {0}")]
    Corrupt(String),
    /// Redis failed to answer a moment ago; it is not asked again until the back-off has passed.
    #[error("the shared cache is unreachable (failing fast until it answers again)")]
    Unavailable,
}

/// A counter in a fixed window: how many hits so far and when the window closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowCount {
    pub count: u64,
    pub resets_in: Duration,
}

/// One hit to count: the counter's key, its window, and the count above which later hits of the same
/// call are not counted (see [`SharedCache::hits`]).
#[derive(Debug, Clone, Copy)]
pub struct Hit<'a> {
    pub key: &'a str,
    pub window: Duration,
    pub limit: u64,
}

#[async_trait::async_trait]
pub trait SharedCache: Send + Sync + 'static {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError>;
    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), CacheError>;
    /// Sets the key only when it does not exist; true when this call set it (locks, one-time codes).
    async fn set_if_absent(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, CacheError>;
    async fn delete(&self, key: &str) -> Result<(), CacheError>;
    /// Deletes the key only while it still holds `expected`; true when deleted.
    async fn delete_if_equals(&self, key: &str, expected: &str) -> Result<bool, CacheError>;
    /// Reads and deletes in one step; a one-time code can be taken once.
    async fn take(&self, key: &str) -> Result<Option<String>, CacheError>;
    /// Counts hits in order, each in the window that starts with its key's first hit, in one round
    /// trip; stops after the first count above its limit, so a refusal by one counter (a client
    /// address) is not charged to the next (the user). Returns the counts made, in order.
    async fn hits(&self, hits: &[Hit<'_>]) -> Result<Vec<WindowCount>, CacheError>;
    /// Sets every key to its value with the same TTL, in one round trip.
    async fn set_many(&self, entries: &[(String, String)], ttl: Duration) -> Result<(), CacheError>;
    /// Adds each count to its counter (created with `ttl` when absent) in one round trip, and returns
    /// the counters' totals in the same order.
    async fn add_counts(&self, counts: &[(String, u64)], ttl: Duration) -> Result<Vec<u64>, CacheError>;
    async fn sorted_add(&self, key: &str, member: &str, increment: f64) -> Result<f64, CacheError>;
    /// Replaces the whole set with these members and scores, atomically (a rebuilt leaderboard).
    async fn sorted_replace(&self, key: &str, members: &[(String, f64)]) -> Result<(), CacheError>;
    /// Highest scores first, `limit` members from `offset`.
    async fn sorted_top(&self, key: &str, offset: usize, limit: usize) -> Result<Vec<(String, f64)>, CacheError>;
    async fn ping(&self) -> Result<(), CacheError>;
    fn backend(&self) -> &'static str;
}

pub type Cache = Arc<dyn SharedCache>;

/// Counts one hit in the window that starts with the key's first hit.
pub async fn hit(cache: &dyn SharedCache, key: &str, window: Duration) -> Result<WindowCount, CacheError> {
    let counted = cache.hits(&[Hit { key, window, limit: u64::MAX }]).await?;
    counted.into_iter().next().ok_or_else(|| CacheError::Corrupt(format!("no count for {key}")))
}

/// Connects to Redis when a URL is given, otherwise returns the in-process cache. An unreachable Redis
/// is not an error: the cache serves degraded and reconnects on use (see `redis_store`).
pub async fn connect(url: Option<&str>, key_prefix: &str) -> Result<Cache, CacheError> {
    match url {
        Some(url) => Ok(Arc::new(RedisCache::connect(url, key_prefix).await?)),
        None => Ok(Arc::new(MemoryCache::new(key_prefix))),
    }
}
