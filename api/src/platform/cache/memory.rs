//! The in-process cache: one mutex-guarded map. Correct for one API instance only.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{CacheError, Hit, SharedCache, WindowCount};

#[derive(Debug, Clone)]
enum Value {
    Text(String),
    Sorted(HashMap<String, f64>),
}

#[derive(Debug, Clone)]
struct Entry {
    value: Value,
    expires_at: Option<Instant>,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

pub struct MemoryCache {
    prefix: String,
    entries: Mutex<HashMap<String, Entry>>,
}

/// Expired keys are swept when the map grows past this many entries.
const SWEEP_THRESHOLD: usize = 10_000;

impl MemoryCache {
    pub fn new(prefix: &str) -> MemoryCache {
        MemoryCache { prefix: prefix.to_owned(), entries: Mutex::new(HashMap::new()) }
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Entry>, Instant) -> T) -> T {
        // A poisoned lock only means another thread panicked mid-operation; every operation leaves
        // the map consistent, so the data is still usable.
        let mut map = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        if map.len() > SWEEP_THRESHOLD {
            map.retain(|_, entry| entry.live(now));
        }
        f(&mut map, now)
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }
}

fn live_text(map: &HashMap<String, Entry>, key: &str, now: Instant) -> Option<String> {
    match map.get(key) {
        Some(Entry { value: Value::Text(text), expires_at }) if expires_at.is_none_or(|at| at > now) => {
            Some(text.clone())
        }
        _ => None,
    }
}

#[async_trait::async_trait]
impl SharedCache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        let key = self.key(key);
        Ok(self.with(|map, now| live_text(map, &key, now)))
    }

    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), CacheError> {
        let key = self.key(key);
        self.with(|map, now| {
            map.insert(key, Entry { value: Value::Text(value.to_owned()), expires_at: ttl.map(|t| now + t) });
        });
        Ok(())
    }

    async fn set_if_absent(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, CacheError> {
        let key = self.key(key);
        Ok(self.with(|map, now| {
            if map.get(&key).is_some_and(|entry| entry.live(now)) {
                return false;
            }
            map.insert(key, Entry { value: Value::Text(value.to_owned()), expires_at: Some(now + ttl) });
            true
        }))
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let key = self.key(key);
        self.with(|map, _| map.remove(&key));
        Ok(())
    }

    async fn delete_if_equals(&self, key: &str, expected: &str) -> Result<bool, CacheError> {
        let key = self.key(key);
        Ok(self.with(|map, now| {
            if live_text(map, &key, now).as_deref() == Some(expected) {
                map.remove(&key);
                true
            } else {
                false
            }
        }))
    }

    async fn take(&self, key: &str) -> Result<Option<String>, CacheError> {
        let key = self.key(key);
        Ok(self.with(|map, now| {
            let value = live_text(map, &key, now);
            map.remove(&key);
            value
        }))
    }

    async fn hits(&self, hits: &[Hit<'_>]) -> Result<Vec<WindowCount>, CacheError> {
        self.with(|map, now| {
            let mut counted = Vec::with_capacity(hits.len());
            for hit in hits {
                let key = self.key(hit.key);
                let (count, expires_at) = match map.get(&key) {
                    Some(Entry { value: Value::Text(text), expires_at: Some(at) }) if *at > now => {
                        let count: u64 = text.parse().map_err(|_| CacheError::Corrupt(key.clone()))?;
                        (count + 1, *at)
                    }
                    _ => (1, now + hit.window),
                };
                map.insert(key, Entry { value: Value::Text(count.to_string()), expires_at: Some(expires_at) });
                counted.push(WindowCount { count, resets_in: expires_at.saturating_duration_since(now) });
                if count > hit.limit {
                    break;
                }
            }
            Ok(counted)
        })
    }

    async fn set_many(&self, entries: &[(String, String)], ttl: Duration) -> Result<(), CacheError> {
        self.with(|map, now| {
            for (key, value) in entries {
                map.insert(self.key(key), Entry { value: Value::Text(value.clone()), expires_at: Some(now + ttl) });
            }
        });
        Ok(())
    }

    async fn add_counts(&self, counts: &[(String, u64)], ttl: Duration) -> Result<Vec<u64>, CacheError> {
        self.with(|map, now| {
            let mut totals = Vec::with_capacity(counts.len());
            for (key, count) in counts {
                let key = self.key(key);
                let (total, expires_at) = match map.get(&key) {
                    Some(Entry { value: Value::Text(text), expires_at: Some(at) }) if *at > now => {
                        let stored: u64 = text.parse().map_err(|_| CacheError::Corrupt(key.clone()))?;
                        (stored + count, *at)
                    }
                    _ => (*count, now + ttl),
                };
                map.insert(key, Entry { value: Value::Text(total.to_string()), expires_at: Some(expires_at) });
                totals.push(total);
            }
            Ok(totals)
        })
    }

    async fn sorted_add(&self, key: &str, member: &str, increment: f64) -> Result<f64, CacheError> {
        let key = self.key(key);
        Ok(self.with(|map, now| {
            let entry =
                map.entry(key).or_insert_with(|| Entry { value: Value::Sorted(HashMap::new()), expires_at: None });
            if !entry.live(now) || !matches!(entry.value, Value::Sorted(_)) {
                *entry = Entry { value: Value::Sorted(HashMap::new()), expires_at: None };
            }
            match &mut entry.value {
                Value::Sorted(scores) => {
                    let score = scores.entry(member.to_owned()).or_insert(0.0);
                    *score += increment;
                    *score
                }
                Value::Text(_) => increment,
            }
        }))
    }

    async fn sorted_replace(&self, key: &str, members: &[(String, f64)]) -> Result<(), CacheError> {
        let key = self.key(key);
        let scores: HashMap<String, f64> = members.iter().cloned().collect();
        self.with(|map, _| map.insert(key, Entry { value: Value::Sorted(scores), expires_at: None }));
        Ok(())
    }

    async fn sorted_top(&self, key: &str, offset: usize, limit: usize) -> Result<Vec<(String, f64)>, CacheError> {
        let key = self.key(key);
        Ok(self.with(|map, now| match map.get(&key) {
            Some(entry @ Entry { value: Value::Sorted(scores), .. }) if entry.live(now) => {
                let mut ranked: Vec<(String, f64)> = scores.iter().map(|(m, s)| (m.clone(), *s)).collect();
                // Redis orders equal scores by member, descending, in ZREVRANGE; do the same.
                ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
                ranked.into_iter().skip(offset).take(limit).collect()
            }
            _ => Vec::new(),
        }))
    }

    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}
