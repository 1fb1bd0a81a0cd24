//! The access token shared by every API instance.
//!
//! One token lives in the shared cache under [`TOKEN_KEY`]. When it is missing, one task per process
//! refreshes it (a tokio mutex; tasks that queued behind an attempt share its outcome), and across
//! processes the refresher holds [`LOCK_KEY`], taken with `SET NX PX`. Instances that lose the lock
//! poll the cache for the token the winner stores, and take the lock over if it expires, so a crashed
//! refresher delays callers by at most the lock's lifetime.
//!
//! When the shared cache does not answer (Redis away, DESIGN §7), each instance fetches and keeps a
//! token of its own, in process, for as long as it would have been cached; `stable_token` without
//! `force_refresh` hands every instance the same token, so this invalidates nobody's.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::platform::cache::{Cache, CacheError};

use super::error::WechatError;

pub const TOKEN_KEY: &str = "wechat:access_token";
pub const LOCK_KEY: &str = "wechat:access_token:lock";

/// A cached token never outlives this many seconds less than half its life, whatever the margin.
const TOKEN_TTL_SECONDS_MIN: u64 = 5;
/// How often an instance that lost the lock looks for the winner's token.
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// A token freshly issued by WeChat.
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in_seconds: u64,
}

pub struct TokenCache {
    cache: Cache,
    margin_seconds: u64,
    /// How long the cross-instance lock lives: longer than the slowest fetch, with its retries.
    lock_ttl: Duration,
    /// How long an instance waits for another instance's refresh before giving up.
    wait_max: Duration,
    /// Held while this process refreshes; holds the error of the last attempt for those who queued.
    flight: Mutex<Option<WechatError>>,
    /// Counts finished refresh attempts, so a task that queued behind one knows it finished.
    attempts: AtomicU64,
    /// This process's own token and until when it is used, while the shared cache does not answer.
    local: Mutex<Option<(String, Instant)>>,
}

impl TokenCache {
    pub fn new(cache: Cache, margin_seconds: u64, fetch_duration_max: Duration) -> TokenCache {
        let lock_ttl =
            (fetch_duration_max + Duration::from_secs(1)).clamp(Duration::from_secs(2), Duration::from_secs(60));
        TokenCache {
            cache,
            margin_seconds,
            lock_ttl,
            wait_max: lock_ttl + Duration::from_secs(2),
            flight: Mutex::new(None),
            attempts: AtomicU64::new(0),
            local: Mutex::new(None),
        }
    }

    /// The cached token, or a fresh one fetched by `fetch` (at most one fetch in flight per process,
    /// and one across all processes sharing the cache).
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<String, WechatError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<IssuedToken, WechatError>>,
    {
        match self.cache.get(TOKEN_KEY).await {
            Ok(Some(token)) => return Ok(token),
            Ok(None) => {}
            Err(err) => return self.get_local(fetch, err).await,
        }
        let seen = self.attempts.load(Ordering::Acquire);
        let mut last_error = self.flight.lock().await;
        if let Some(token) = self.cache.get(TOKEN_KEY).await? {
            return Ok(token);
        }
        if self.attempts.load(Ordering::Acquire) != seen
            && let Some(err) = last_error.clone()
        {
            // An attempt finished while this task queued and it failed: share its failure rather
            // than have every queued caller repeat the fetch one after another.
            return Err(err);
        }
        let outcome = self.refresh_shared(fetch).await;
        *last_error = outcome.as_ref().err().cloned();
        self.attempts.fetch_add(1, Ordering::Release);
        outcome
    }

    /// This process's own token, fetched when it has none or it has lived its time.
    async fn get_local<F, Fut>(&self, fetch: F, cause: CacheError) -> Result<String, WechatError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<IssuedToken, WechatError>>,
    {
        let mut local = self.local.lock().await;
        if let Some((token, until)) = local.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        tracing::warn!(error = %cause, "shared cache unreachable: this instance fetches its own WeChat access token");
        let issued = fetch().await?;
        let ttl_seconds = token_ttl_seconds(issued.expires_in_seconds, self.margin_seconds);
        *local = Some((issued.access_token.clone(), Instant::now() + Duration::from_secs(ttl_seconds)));
        Ok(issued.access_token)
    }

    /// Forgets `used` after WeChat said it is invalid, unless another caller already replaced it.
    pub async fn invalidate(&self, used: &str) -> Result<bool, WechatError> {
        let mut local = self.local.lock().await;
        let forgot_local = local.as_ref().is_some_and(|(token, _)| token == used);
        if forgot_local {
            *local = None;
        }
        match self.cache.delete_if_equals(TOKEN_KEY, used).await {
            Ok(deleted) => Ok(deleted || forgot_local),
            Err(_) if forgot_local => Ok(true),
            Err(err) => Err(err.into()),
        }
    }

    /// Takes the cross-instance lock and fetches, or waits for the instance that holds it.
    async fn refresh_shared<F, Fut>(&self, fetch: F) -> Result<String, WechatError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<IssuedToken, WechatError>>,
    {
        let holder = lock_holder_id();
        let deadline = Instant::now() + self.wait_max;
        loop {
            if self.cache.set_if_absent(LOCK_KEY, &holder, self.lock_ttl).await? {
                return self.fetch_holding_lock(&holder, fetch).await;
            }
            tokio::time::sleep(POLL_INTERVAL).await;
            if let Some(token) = self.cache.get(TOKEN_KEY).await? {
                return Ok(token);
            }
            if Instant::now() >= deadline {
                tracing::warn!(
                    wait_ms = self.wait_max.as_millis(),
                    "gave up waiting for another instance to refresh the WeChat access token"
                );
                return Err(WechatError::Busy);
            }
        }
    }

    async fn fetch_holding_lock<F, Fut>(&self, holder: &str, fetch: F) -> Result<String, WechatError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<IssuedToken, WechatError>>,
    {
        // Another instance may have stored a token between our last look and taking the lock.
        let outcome = match self.cache.get(TOKEN_KEY).await {
            Ok(Some(token)) => Ok(token),
            Ok(None) => self.fetch_and_store(fetch).await,
            Err(err) => Err(err.into()),
        };
        if let Err(err) = self.cache.delete_if_equals(LOCK_KEY, holder).await {
            // The lock expires on its own; losing the release only delays the next refresh.
            tracing::warn!(error = %err, "could not release the WeChat access-token lock");
        }
        outcome
    }

    async fn fetch_and_store<F, Fut>(&self, fetch: F) -> Result<String, WechatError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<IssuedToken, WechatError>>,
    {
        let issued = fetch().await?;
        let ttl_seconds = token_ttl_seconds(issued.expires_in_seconds, self.margin_seconds);
        self.cache.set(TOKEN_KEY, &issued.access_token, Some(Duration::from_secs(ttl_seconds))).await?;
        tracing::info!(
            expires_in_seconds = issued.expires_in_seconds,
            cached_for_seconds = ttl_seconds,
            "refreshed the WeChat access token"
        );
        Ok(issued.access_token)
    }
}

/// How long to cache a token WeChat says lives `expires_in` seconds: `margin` less, but never less
/// than half its life (a large margin with a short-lived token would otherwise cache nothing), never
/// under a few seconds, and never longer than the token lives.
pub fn token_ttl_seconds(expires_in: u64, margin: u64) -> u64 {
    expires_in.saturating_sub(margin).max(expires_in / 2).max(TOKEN_TTL_SECONDS_MIN).min(expires_in.max(1))
}

/// A value that names this holder of the lock, so it only ever releases its own lock.
fn lock_holder_id() -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::platform::cache::MemoryCache;

    #[test]
    fn ttl_honours_the_margin_and_short_lives() {
        assert_eq!(token_ttl_seconds(7200, 60), 7140);
        assert_eq!(token_ttl_seconds(300, 60), 240);
        assert_eq!(token_ttl_seconds(300, 600), 150);
        assert_eq!(token_ttl_seconds(6, 60), 5);
        assert_eq!(token_ttl_seconds(3, 60), 3);
        assert_eq!(token_ttl_seconds(0, 60), 1);
    }

    fn counting_fetch(
        fetches: &Arc<AtomicUsize>,
    ) -> impl FnOnce() -> std::pin::Pin<Box<dyn Future<Output = Result<IssuedToken, WechatError>> + Send>> + use<> {
        let fetches = Arc::clone(fetches);
        move || {
            Box::pin(async move {
                let n = fetches.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(IssuedToken { access_token: format!("token-{n}"), expires_in_seconds: 7200 })
            })
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_instances_and_many_callers_fetch_once() {
        let shared: Cache = Arc::new(MemoryCache::new("t:"));
        let instances = [
            Arc::new(TokenCache::new(shared.clone(), 60, Duration::from_secs(5))),
            Arc::new(TokenCache::new(shared, 60, Duration::from_secs(5))),
        ];
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..200 {
            let tokens = Arc::clone(&instances[i % 2]);
            let fetch = counting_fetch(&fetches);
            tasks.push(tokio::spawn(async move { tokens.get(fetch).await }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap(), "token-1");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn invalidation_only_removes_the_token_that_was_used() {
        let tokens = TokenCache::new(Arc::new(MemoryCache::new("t:")), 60, Duration::from_secs(5));
        let fetches = Arc::new(AtomicUsize::new(0));
        assert_eq!(tokens.get(counting_fetch(&fetches)).await.unwrap(), "token-1");
        assert!(!tokens.invalidate("token-0").await.unwrap());
        assert_eq!(tokens.get(counting_fetch(&fetches)).await.unwrap(), "token-1");
        assert!(tokens.invalidate("token-1").await.unwrap());
        assert_eq!(tokens.get(counting_fetch(&fetches)).await.unwrap(), "token-2");
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn queued_callers_share_a_failure() {
        let tokens = Arc::new(TokenCache::new(Arc::new(MemoryCache::new("t:")), 60, Duration::from_secs(5)));
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let tokens = Arc::clone(&tokens);
            let fetches = Arc::clone(&fetches);
            tasks.push(tokio::spawn(async move {
                tokens
                    .get(move || async move {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Err(WechatError::Misconfigured { errcode: 40125 })
                    })
                    .await
            }));
        }
        for task in tasks {
            assert!(matches!(task.await.unwrap(), Err(WechatError::Misconfigured { errcode: 40125 })));
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_expired_lock_is_taken_over() {
        let shared: Cache = Arc::new(MemoryCache::new("t:"));
        // A crashed instance left its lock behind.
        shared.set_if_absent(LOCK_KEY, "crashed", Duration::from_millis(200)).await.unwrap();
        let tokens = TokenCache::new(shared, 60, Duration::from_secs(1));
        let fetches = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        assert_eq!(tokens.get(counting_fetch(&fetches)).await.unwrap(), "token-1");
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }
}
