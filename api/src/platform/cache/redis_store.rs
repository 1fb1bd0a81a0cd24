//! The Redis implementation, through a reconnecting connection manager.
//!
//! Redis may be away when the instance starts or go away later; the instance serves either way
//! (DESIGN §7) and each feature decides what a failing cache means for it. So the connection is made
//! lazily: [`RedisCache::connect`] tries once and, when Redis does not answer, returns a cache that
//! tries again on use. After a connection failure the cache answers every call with an error at once
//! for [`BACKOFF`] (a circuit breaker), so requests do not each wait for a connection timeout; then
//! the next call tries Redis again, and the first that succeeds closes the breaker. Recovery needs no
//! restart.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use tokio::sync::OnceCell;

use super::{CacheError, Hit, SharedCache, WindowCount};

/// How long a failing Redis is not asked again.
const BACKOFF: Duration = Duration::from_millis(1000);
/// How long connecting, and then any one command, may take.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(1);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

pub struct RedisCache {
    prefix: String,
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    /// Until when calls fail at once, after a connection failure.
    failing_until: Mutex<Option<Instant>>,
    compare_and_delete: redis::Script,
    window_hits: redis::Script,
}

impl RedisCache {
    /// A cache on the Redis at `url`; an error only for a URL that cannot be a Redis URL. When Redis
    /// does not answer now, the cache connects on a later call.
    pub async fn connect(url: &str, prefix: &str) -> Result<RedisCache, CacheError> {
        let client = redis::Client::open(url)?;
        let cache = RedisCache {
            prefix: prefix.to_owned(),
            client,
            connection: OnceCell::new(),
            failing_until: Mutex::new(None),
            compare_and_delete: redis::Script::new(
                "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
            ),
            // For each key in order: INCR, set the expiry only on the first hit, and report the count
            // and the time left, atomically; stop after the first count above its limit.
            // ARGV holds (window in ms, limit) per key.
            window_hits: redis::Script::new(
                "local out = {} \
                 for i, key in ipairs(KEYS) do \
                   local window = ARGV[2 * i - 1] \
                   local n = redis.call('INCR', key) \
                   if n == 1 then redis.call('PEXPIRE', key, window) end \
                   local ttl = redis.call('PTTL', key) \
                   if ttl < 0 then redis.call('PEXPIRE', key, window) ttl = tonumber(window) end \
                   out[#out + 1] = n \
                   out[#out + 1] = ttl \
                   if n > tonumber(ARGV[2 * i]) then break end \
                 end \
                 return out",
            ),
        };
        if let Err(err) = cache.ping().await {
            tracing::warn!(error = %err, "Redis does not answer; serving degraded and reconnecting on use");
        }
        Ok(cache)
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    /// The connection, made on first use; an error at once while the breaker is open.
    async fn conn(&self) -> Result<ConnectionManager, CacheError> {
        if self.failing_until.lock().ok().and_then(|until| *until).is_some_and(|until| Instant::now() < until) {
            return Err(CacheError::Unavailable);
        }
        let connecting = self.connection.get_or_try_init(|| async {
            let config = redis::aio::ConnectionManagerConfig::new()
                .set_connection_timeout(Some(CONNECTION_TIMEOUT))
                .set_response_timeout(Some(RESPONSE_TIMEOUT))
                .set_number_of_retries(1);
            ConnectionManager::new_with_config(self.client.clone(), config).await
        });
        match connecting.await {
            Ok(connection) => Ok(connection.clone()),
            Err(err) => Err(self.watch::<()>(Err(err)).err().unwrap_or(CacheError::Unavailable)),
        }
    }

    /// Passes a command's outcome on; a failure to reach Redis opens the breaker, a success closes it.
    fn watch<T>(&self, outcome: Result<T, redis::RedisError>) -> Result<T, CacheError> {
        let unreachable = match &outcome {
            Ok(_) => false,
            Err(err) => {
                err.is_io_error() || err.is_connection_refusal() || err.is_timeout() || err.is_connection_dropped()
            }
        };
        if let Ok(mut until) = self.failing_until.lock() {
            match (unreachable, until.is_some()) {
                (true, was_failing) => {
                    if !was_failing {
                        tracing::warn!("Redis unreachable: the shared cache fails fast until it answers again");
                    }
                    *until = Some(Instant::now() + BACKOFF);
                }
                (false, true) if outcome.is_ok() => {
                    tracing::warn!("Redis answers again");
                    *until = None;
                }
                _ => {}
            }
        }
        Ok(outcome?)
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait::async_trait]
impl SharedCache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        let mut conn = self.conn().await?;
        self.watch(conn.get(self.key(key)).await)
    }

    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), CacheError> {
        let mut conn = self.conn().await?;
        match ttl {
            Some(ttl) => self.watch(conn.pset_ex::<_, _, ()>(self.key(key), value, millis(ttl)).await),
            None => self.watch(conn.set::<_, _, ()>(self.key(key), value).await),
        }
    }

    async fn set_if_absent(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, CacheError> {
        let mut conn = self.conn().await?;
        let reply: Option<String> = self.watch(
            redis::cmd("SET")
                .arg(self.key(key))
                .arg(value)
                .arg("NX")
                .arg("PX")
                .arg(millis(ttl))
                .query_async(&mut conn)
                .await,
        )?;
        Ok(reply.is_some())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let mut conn = self.conn().await?;
        self.watch(conn.del::<_, ()>(self.key(key)).await)
    }

    async fn delete_if_equals(&self, key: &str, expected: &str) -> Result<bool, CacheError> {
        let mut conn = self.conn().await?;
        let deleted: i64 =
            self.watch(self.compare_and_delete.key(self.key(key)).arg(expected).invoke_async(&mut conn).await)?;
        Ok(deleted == 1)
    }

    async fn take(&self, key: &str) -> Result<Option<String>, CacheError> {
        let mut conn = self.conn().await?;
        self.watch(redis::cmd("GETDEL").arg(self.key(key)).query_async(&mut conn).await)
    }

    async fn hits(&self, hits: &[Hit<'_>]) -> Result<Vec<WindowCount>, CacheError> {
        if hits.is_empty() {
            return Ok(Vec::new());
        }
        let mut invocation = self.window_hits.prepare_invoke();
        for hit in hits {
            // Lua numbers are doubles: a limit beyond 2^53 is as good as none.
            invocation.key(self.key(hit.key)).arg(millis(hit.window)).arg(hit.limit.min(1 << 53));
        }
        let mut conn = self.conn().await?;
        let flat: Vec<i64> = self.watch(invocation.invoke_async(&mut conn).await)?;
        Ok(flat
            .chunks_exact(2)
            .map(|pair| WindowCount {
                count: u64::try_from(pair[0]).unwrap_or(0),
                resets_in: Duration::from_millis(u64::try_from(pair[1]).unwrap_or(0)),
            })
            .collect())
    }

    async fn set_many(&self, entries: &[(String, String)], ttl: Duration) -> Result<(), CacheError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (key, value) in entries {
            pipe.pset_ex(self.key(key), value, millis(ttl)).ignore();
        }
        let mut conn = self.conn().await?;
        self.watch(pipe.query_async::<()>(&mut conn).await)
    }

    async fn add_counts(&self, counts: &[(String, u64)], ttl: Duration) -> Result<Vec<u64>, CacheError> {
        if counts.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for (key, count) in counts {
            let key = self.key(key);
            pipe.incr(&key, *count).cmd("PEXPIRE").arg(&key).arg(millis(ttl)).arg("NX").ignore();
        }
        let mut conn = self.conn().await?;
        self.watch(pipe.query_async(&mut conn).await)
    }

    async fn sorted_add(&self, key: &str, member: &str, increment: f64) -> Result<f64, CacheError> {
        let mut conn = self.conn().await?;
        self.watch(conn.zincr(self.key(key), member, increment).await)
    }

    async fn sorted_replace(&self, key: &str, members: &[(String, f64)]) -> Result<(), CacheError> {
        let key = self.key(key);
        let mut pipe = redis::pipe();
        pipe.atomic().del(&key).ignore();
        for chunk in members.chunks(1000) {
            let pairs: Vec<(f64, &str)> = chunk.iter().map(|(member, score)| (*score, member.as_str())).collect();
            pipe.zadd_multiple(&key, &pairs).ignore();
        }
        let mut conn = self.conn().await?;
        self.watch(pipe.query_async::<()>(&mut conn).await)
    }

    async fn sorted_top(&self, key: &str, offset: usize, limit: usize) -> Result<Vec<(String, f64)>, CacheError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let start = isize::try_from(offset).map_err(|_| CacheError::Corrupt("offset".into()))?;
        let stop = isize::try_from(offset + limit - 1).map_err(|_| CacheError::Corrupt("limit".into()))?;
        let mut conn = self.conn().await?;
        self.watch(conn.zrevrange_withscores(self.key(key), start, stop).await)
    }

    async fn ping(&self) -> Result<(), CacheError> {
        let mut conn = self.conn().await?;
        self.watch(redis::cmd("PING").query_async::<String>(&mut conn).await).map(|_| ())
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}
