//! What every handler can reach, built once at start-up and shared as `web::Data`.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::identity::auth::jwt::JwtKeys;
use crate::identity::caller::CallerCache;
use crate::platform::cache::Cache;
use crate::platform::clock::SharedClock;
use crate::platform::config::Settings;
use crate::platform::db_health::DatabaseHealth;
use crate::platform::metrics::Metrics;
use crate::platform::rate_limit::ReadCounts;
use crate::platform::shutdown::Shutdown;
use crate::platform::wechat::WechatClient;
use crate::scenes::notifications::kept::InboxCache;
use crate::scenes::requests::kept::{DetailCache, QueueCache, StatsCache};
use crate::scenes::wallet::kept::WalletCache;

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: DatabaseConnection,
    pub cache: Cache,
    pub wechat: WechatClient,
    pub jwt: Arc<JwtKeys>,
    pub metrics: Arc<Metrics>,
    pub clock: SharedClock,
    /// This instance's read counts (see `platform::rate_limit`).
    pub read_counts: Arc<ReadCounts>,
    /// Callers kept on this instance between requests (see `identity::caller`).
    pub callers: Arc<CallerCache>,
    /// Residents' wallets kept on this instance between requests (see `scenes::wallet::kept`).
    pub wallets: Arc<WalletCache>,
    /// Inboxes' first pages kept on this instance between requests (see `scenes::notifications::kept`).
    pub inboxes: Arc<InboxCache>,
    /// Pages of communities' requests kept on this instance between requests (see
    /// `scenes::requests::kept`).
    pub queue_pages: Arc<QueueCache>,
    /// Requests' details kept on this instance, under their communities' tokens (see
    /// `scenes::requests::kept`).
    pub request_details: Arc<DetailCache>,
    /// Communities' statistics answers kept on this instance (see `scenes::requests::kept`).
    pub request_stats: Arc<StatsCache>,
    /// Whether the database answers, as this instance last saw it (`platform::db_health`).
    pub db_health: Arc<DatabaseHealth>,
    /// The background jobs, stopped at a safe point on shutdown (`platform::shutdown`).
    pub shutdown: Shutdown,
}
