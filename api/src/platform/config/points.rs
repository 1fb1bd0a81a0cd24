//! Points expiry settings.

use std::collections::HashMap;

use super::{ConfigError, parse_range};

/// Points expire `POINTS_EXPIRY_MONTHS` (1 to 120, default 36) after the day they were earned, oldest
/// first; `points::ExpiryRule` is the rule itself.
#[derive(Debug, Clone)]
pub struct PointsSettings {
    pub expiry_months: u32,
    /// How often each instance runs the expiry job; it acts once per resident and day (0: off here).
    pub expiry_job_interval_seconds: u64,
    /// How long an instance may keep a resident's wallet while nothing tells it of a change
    /// (`POINTS_WALLET_CACHE_TTL_MS`, 0 to 600,000, default 5,000; 0 keeps none).
    pub wallet_cache_ttl_ms: u64,
}

pub(super) fn points_settings(vars: &HashMap<String, String>) -> Result<PointsSettings, ConfigError> {
    Ok(PointsSettings {
        expiry_months: parse_range(vars, "POINTS_EXPIRY_MONTHS", 36, 1..=120)?,
        expiry_job_interval_seconds: parse_range(vars, "POINTS_EXPIRY_JOB_INTERVAL_SECONDS", 3600, 0..=86_400)?,
        wallet_cache_ttl_ms: parse_range(vars, "POINTS_WALLET_CACHE_TTL_MS", 5_000, 0..=600_000)?,
    })
}
