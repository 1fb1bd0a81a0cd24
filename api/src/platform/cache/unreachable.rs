//! A shared cache that never answers: what the API sees while Redis is down. Fault drills and tests
//! hand it to code that must degrade as DESIGN §7 says (limits fail open, one-time codes and
//! idempotency fail closed, leaderboards fall back to the database).

use std::time::Duration;

use super::{CacheError, Hit, SharedCache, WindowCount};

#[derive(Debug, Clone, Copy, Default)]
pub struct UnreachableCache;

fn unreachable() -> CacheError {
    CacheError::Unavailable
}

#[async_trait::async_trait]
impl SharedCache for UnreachableCache {
    async fn get(&self, _: &str) -> Result<Option<String>, CacheError> {
        Err(unreachable())
    }
    async fn set(&self, _: &str, _: &str, _: Option<Duration>) -> Result<(), CacheError> {
        Err(unreachable())
    }
    async fn set_if_absent(&self, _: &str, _: &str, _: Duration) -> Result<bool, CacheError> {
        Err(unreachable())
    }
    async fn delete(&self, _: &str) -> Result<(), CacheError> {
        Err(unreachable())
    }
    async fn delete_if_equals(&self, _: &str, _: &str) -> Result<bool, CacheError> {
        Err(unreachable())
    }
    async fn take(&self, _: &str) -> Result<Option<String>, CacheError> {
        Err(unreachable())
    }
    async fn hits(&self, _: &[Hit<'_>]) -> Result<Vec<WindowCount>, CacheError> {
        Err(unreachable())
    }
    async fn set_many(&self, _: &[(String, String)], _: Duration) -> Result<(), CacheError> {
        Err(unreachable())
    }
    async fn add_counts(&self, _: &[(String, u64)], _: Duration) -> Result<Vec<u64>, CacheError> {
        Err(unreachable())
    }
    async fn sorted_add(&self, _: &str, _: &str, _: f64) -> Result<f64, CacheError> {
        Err(unreachable())
    }
    async fn sorted_replace(&self, _: &str, _: &[(String, f64)]) -> Result<(), CacheError> {
        Err(unreachable())
    }
    async fn sorted_top(&self, _: &str, _: usize, _: usize) -> Result<Vec<(String, f64)>, CacheError> {
        Err(unreachable())
    }
    async fn ping(&self) -> Result<(), CacheError> {
        Err(unreachable())
    }
    fn backend(&self) -> &'static str {
        "unreachable"
    }
}
