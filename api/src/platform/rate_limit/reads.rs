//! Read limits counted in this process and shared through the cache once a second.
//!
//! A read is the request a resident's phone makes most (points, the inbox, lists); asking Redis on
//! each one would cost a round trip per read, more than the read itself. So each instance counts reads
//! per key and per minute in memory, decides at once from what it knows (its own reads plus every
//! instance's total as of the last exchange), and once a second adds its new reads to the shared
//! counters and learns the totals. Across instances a client may therefore read up to about one
//! second's worth beyond the limit before every instance knows; a lone instance counts exactly. When
//! the cache is unreachable the counts stay local (limits fail open, as DESIGN §7 asks).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::platform::cache::{Cache, CacheError};
use crate::platform::clock::SharedClock;

/// How often an instance adds its reads to the shared counters.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(1);
/// A window is one calendar minute of the domain clock.
const WINDOW_SECONDS: i64 = 60;
/// Shared counters outlive their minute by this much, so a late exchange still finds them.
const SHARED_TTL: Duration = Duration::from_secs(120);

/// What this instance knows of one key in the current minute.
#[derive(Debug, Default, Clone, Copy)]
struct Slot {
    minute: i64,
    /// Every instance's reads as the last exchange reported them (this instance's included).
    shared: u64,
    /// This instance's reads since that exchange.
    unsent: u64,
}

/// The read counts of this instance.
#[derive(Debug, Default)]
pub struct ReadCounts {
    slots: Mutex<HashMap<String, Slot>>,
}

/// A refused read: when the client may read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverLimit {
    pub retry_after_seconds: u64,
}

fn minute_of(now: DateTime<Utc>) -> i64 {
    now.timestamp().div_euclid(WINDOW_SECONDS)
}

impl ReadCounts {
    pub fn new() -> ReadCounts {
        ReadCounts::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        // Every operation leaves the map consistent; a panic elsewhere does not spoil it.
        self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts one read under each key in turn, as the shared counters count sign-ins and writes: the
    /// first key at its limit this minute refuses the read, and the keys after it are not counted.
    pub fn hit(&self, keys: &[(&str, u32)], now: DateTime<Utc>) -> Result<(), OverLimit> {
        let minute = minute_of(now);
        let mut slots = self.lock();
        for (key, limit) in keys {
            let slot = slots.entry((*key).to_owned()).or_default();
            if slot.minute != minute {
                *slot = Slot { minute, ..Slot::default() };
            }
            if slot.shared + slot.unsent >= u64::from(*limit) {
                let left = WINDOW_SECONDS - now.timestamp().rem_euclid(WINDOW_SECONDS);
                return Err(OverLimit { retry_after_seconds: u64::try_from(left).unwrap_or(1).max(1) });
            }
            slot.unsent += 1;
        }
        Ok(())
    }

    /// Adds this instance's new reads to the shared counters and learns every instance's totals;
    /// forgets past minutes. On a cache error the reads stay unsent and go with the next exchange.
    pub async fn exchange(&self, cache: &Cache, now: DateTime<Utc>) -> Result<(), CacheError> {
        let minute = minute_of(now);
        // Every key of the current minute goes, those without new reads too (adding 0 learns the total).
        let outgoing: Vec<(String, i64, u64)> = {
            let mut slots = self.lock();
            slots.retain(|_, slot| slot.minute >= minute);
            slots.iter().map(|(key, slot)| (key.clone(), slot.minute, slot.unsent)).collect()
        };
        if outgoing.is_empty() {
            return Ok(());
        }
        let shared: Vec<(String, u64)> =
            outgoing.iter().map(|(key, minute, sent)| (format!("rl:{key}:{minute}"), *sent)).collect();
        let totals = cache.add_counts(&shared, SHARED_TTL).await?;
        let mut slots = self.lock();
        for ((key, sent_minute, sent), total) in outgoing.into_iter().zip(totals) {
            if let Some(slot) = slots.get_mut(&key).filter(|slot| slot.minute == sent_minute) {
                slot.unsent = slot.unsent.saturating_sub(sent);
                slot.shared = total;
            }
        }
        Ok(())
    }
}

/// Exchanges counts every second for as long as the process runs. With the in-process cache there is
/// no other instance to tell, and nothing runs.
pub fn spawn_exchange(counts: Arc<ReadCounts>, cache: Cache, clock: SharedClock) {
    if cache.backend() == "memory" {
        return;
    }
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(SYNC_INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            ticker.tick().await;
            match counts.exchange(&cache, clock.now()).await {
                Ok(()) => failing = false,
                Err(err) if !failing => {
                    failing = true;
                    tracing::warn!(error = %err, "read limits: the shared counters are unreachable; counting locally");
                }
                Err(_) => {}
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::cache::MemoryCache;

    /// `seconds` after 2027-01-15T08:00:00Z, the start of a minute.
    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("a valid time")
    }

    #[test]
    fn a_lone_instance_counts_exactly_and_a_new_minute_starts_afresh() {
        let counts = ReadCounts::new();
        for _ in 0..3 {
            assert_eq!(counts.hit(&[("user:1", 3)], at(0)), Ok(()));
        }
        let refused = counts.hit(&[("user:1", 3)], at(10)).expect_err("the fourth read is refused");
        assert_eq!(refused.retry_after_seconds, 50);
        assert_eq!(counts.hit(&[("user:2", 3)], at(10)), Ok(()), "another key is not affected");
        assert_eq!(counts.hit(&[("user:1", 3)], at(60)), Ok(()));
    }

    #[test]
    fn a_read_refused_for_the_address_is_not_counted_for_the_user() {
        let counts = ReadCounts::new();
        assert_eq!(counts.hit(&[("ip:a", 1)], at(0)), Ok(()));
        assert!(counts.hit(&[("ip:a", 1), ("user:1", 5)], at(0)).is_err());
        for _ in 0..5 {
            assert_eq!(counts.hit(&[("user:1", 5)], at(0)), Ok(()), "user:1 was not charged for the refusal");
        }
    }

    #[tokio::test]
    async fn instances_learn_each_others_reads_through_the_shared_counters() {
        let cache: Cache = Arc::new(MemoryCache::new("test:"));
        let (one, two) = (ReadCounts::new(), ReadCounts::new());
        for _ in 0..4 {
            one.hit(&[("user:1", 6)], at(0)).expect("under the limit");
        }
        one.exchange(&cache, at(1)).await.expect("exchange");
        two.hit(&[("user:1", 6)], at(1)).expect("the fifth read");
        two.exchange(&cache, at(1)).await.expect("exchange");
        assert!(two.hit(&[("user:1", 6)], at(2)).is_ok(), "the sixth read");
        assert!(two.hit(&[("user:1", 6)], at(2)).is_err(), "two knows of one's four reads");
        one.exchange(&cache, at(2)).await.expect("exchange");
        two.exchange(&cache, at(2)).await.expect("exchange");
        one.exchange(&cache, at(2)).await.expect("exchange");
        assert!(one.hit(&[("user:1", 6)], at(3)).is_err(), "one knows of two's reads");
    }
}
