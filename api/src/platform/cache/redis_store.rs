//! The Redis implementation, through a reconnecting connection manager.

use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use super::{CacheError, SharedCache, WindowCount};

pub struct RedisCache {
    prefix: String,
    connection: ConnectionManager,
    compare_and_delete: redis::Script,
    window_hit: redis::Script,
}

impl RedisCache {
    pub async fn connect(url: &str, prefix: &str) -> Result<RedisCache, CacheError> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(3)))
            .set_number_of_retries(2);
        let connection = ConnectionManager::new_with_config(client, config).await?;
        Ok(RedisCache {
            prefix: prefix.to_owned(),
            connection,
            compare_and_delete: redis::Script::new(
                "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
            ),
            // INCR then set the expiry only on the first hit, and report the time left, atomically.
            window_hit: redis::Script::new(
                "local n = redis.call('INCR', KEYS[1]) \
                 if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end \
                 local ttl = redis.call('PTTL', KEYS[1]) \
                 if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) ttl = tonumber(ARGV[1]) end \
                 return {n, ttl}",
            ),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    fn conn(&self) -> ConnectionManager {
        self.connection.clone()
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait::async_trait]
impl SharedCache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        Ok(self.conn().get(self.key(key)).await?)
    }

    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), CacheError> {
        let mut conn = self.conn();
        match ttl {
            Some(ttl) => conn.pset_ex::<_, _, ()>(self.key(key), value, millis(ttl)).await?,
            None => conn.set::<_, _, ()>(self.key(key), value).await?,
        }
        Ok(())
    }

    async fn set_if_absent(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, CacheError> {
        let reply: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut self.conn())
            .await?;
        Ok(reply.is_some())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.conn().del::<_, ()>(self.key(key)).await?;
        Ok(())
    }

    async fn delete_if_equals(&self, key: &str, expected: &str) -> Result<bool, CacheError> {
        let deleted: i64 =
            self.compare_and_delete.key(self.key(key)).arg(expected).invoke_async(&mut self.conn()).await?;
        Ok(deleted == 1)
    }

    async fn take(&self, key: &str) -> Result<Option<String>, CacheError> {
        Ok(redis::cmd("GETDEL").arg(self.key(key)).query_async(&mut self.conn()).await?)
    }

    async fn hit(&self, key: &str, window: Duration) -> Result<WindowCount, CacheError> {
        let (count, ttl_ms): (u64, i64) =
            self.window_hit.key(self.key(key)).arg(millis(window)).invoke_async(&mut self.conn()).await?;
        Ok(WindowCount { count, resets_in: Duration::from_millis(u64::try_from(ttl_ms).unwrap_or(0)) })
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
        Ok(pipe.query_async(&mut self.conn()).await?)
    }

    async fn sorted_add(&self, key: &str, member: &str, increment: f64) -> Result<f64, CacheError> {
        Ok(self.conn().zincr(self.key(key), member, increment).await?)
    }

    async fn sorted_replace(&self, key: &str, members: &[(String, f64)]) -> Result<(), CacheError> {
        let key = self.key(key);
        let mut pipe = redis::pipe();
        pipe.atomic().del(&key).ignore();
        for chunk in members.chunks(1000) {
            let pairs: Vec<(f64, &str)> = chunk.iter().map(|(member, score)| (*score, member.as_str())).collect();
            pipe.zadd_multiple(&key, &pairs).ignore();
        }
        pipe.query_async::<()>(&mut self.conn()).await?;
        Ok(())
    }

    async fn sorted_top(&self, key: &str, offset: usize, limit: usize) -> Result<Vec<(String, f64)>, CacheError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let start = isize::try_from(offset).map_err(|_| CacheError::Corrupt("offset".into()))?;
        let stop = isize::try_from(offset + limit - 1).map_err(|_| CacheError::Corrupt("limit".into()))?;
        Ok(self.conn().zrevrange_withscores(self.key(key), start, stop).await?)
    }

    async fn ping(&self) -> Result<(), CacheError> {
        redis::cmd("PING").query_async::<String>(&mut self.conn()).await?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}
