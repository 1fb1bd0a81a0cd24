//! What every handler can reach, built once at start-up and shared as `web::Data`.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::jwt::JwtKeys;
use crate::cache::Cache;
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::wechat::WechatClient;

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: DatabaseConnection,
    pub cache: Cache,
    pub wechat: WechatClient,
    pub jwt: Arc<JwtKeys>,
    pub metrics: Arc<Metrics>,
    pub clock: SharedClock,
}
