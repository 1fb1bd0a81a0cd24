//! Code guessing at the counter is limited: every wrong code counts against the staff member and
//! against the shop in a window, and past the limit the staff member (or the whole shop) is locked
//! out for a while, whatever code they type. Counted in the shared cache so every instance sees the
//! same counts. When the cache is down a capture is refused with `503` (DESIGN §7: one-time codes fail
//! closed): the code itself lives in the database and a capture would still be exactly once, but
//! without the counters a staff member could guess codes unchecked.

use std::time::Duration;

use crate::domain::{MerchantId, UserId};
use crate::platform::cache::Cache;
use crate::platform::error::ApiError;
use crate::platform::metrics::Degraded;
use crate::state::AppState;

/// Wrong codes a staff member may type in a window before being locked out.
pub const MISSES_PER_STAFF: u64 = 10;
/// Wrong codes a shop's staff together may type in a window before the shop is locked out.
pub const MISSES_PER_MERCHANT: u64 = 30;
const WINDOW: Duration = Duration::from_secs(15 * 60);
const LOCKOUT: Duration = Duration::from_secs(15 * 60);

fn keys(staff: UserId, merchant: MerchantId) -> [(String, String, u64); 2] {
    [
        (format!("redeem:miss:staff:{staff}"), format!("redeem:lock:staff:{staff}"), MISSES_PER_STAFF),
        (format!("redeem:miss:merchant:{merchant}"), format!("redeem:lock:merchant:{merchant}"), MISSES_PER_MERCHANT),
    ]
}

fn locked() -> ApiError {
    ApiError::RateLimited { retry_after_seconds: LOCKOUT.as_secs() }
}

/// Refuses a staff member, or a shop, that is locked out, and everyone while the counters cannot be
/// read.
pub async fn refuse_if_locked(state: &AppState, staff: UserId, merchant: MerchantId) -> Result<(), ApiError> {
    for (_, lock, _) in keys(staff, merchant) {
        match state.cache.get(&lock).await {
            Ok(Some(_)) => return Err(locked()),
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(error = %err, "redemption lock-out unreadable; refusing the capture");
                state.metrics.cache_degraded("redemption_guard", Degraded::FailClosed);
                return Err(ApiError::Unavailable("shared cache".to_owned()));
            }
        }
    }
    Ok(())
}

/// Counts a wrong code; locks the staff member or the shop out when it passes their limit.
pub async fn count_miss(cache: &Cache, staff: UserId, merchant: MerchantId) {
    for (counter, lock, limit) in keys(staff, merchant) {
        match crate::platform::cache::hit(cache.as_ref(), &counter, WINDOW).await {
            Ok(window) if window.count >= limit => {
                if let Err(err) = cache.set(&lock, "1", Some(LOCKOUT)).await {
                    tracing::warn!(error = %err, "could not record a redemption lock-out");
                }
                tracing::warn!(%staff, %merchant, key = %lock, "redemption code guessing: locked out");
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "redemption miss counter unavailable; failing open"),
        }
    }
}
