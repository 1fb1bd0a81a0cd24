//! Building and running the application. `Application::build` binds the listener, so tests bind
//! port 0 and ask which port they got.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};

use crate::platform::rate_limit::ReadCounts;
use anyhow::Context;
use sea_orm::DatabaseConnection;

use crate::identity::auth::jwt::JwtKeys;
use crate::identity::caller::CallerCache;
use crate::platform::clock::{SharedClock, SystemClock};
use crate::platform::config::{Settings, TextCheck};
use crate::platform::db_health::DatabaseHealth;
use crate::platform::error::ApiError;
use crate::platform::metrics::Metrics;
use crate::platform::shutdown::Shutdown;
use crate::platform::wechat::WechatClient;
use crate::scenes::notifications::kept::InboxCache;
use crate::scenes::requests::kept::{DetailCache, QueueCache, StatsCache};
use crate::scenes::wallet::kept::WalletCache;
use crate::state::AppState;

pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

impl Application {
    /// Connects to the database and the cache, migrates, seeds demo data on a new dev database, and
    /// binds `settings.bind`.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        Application::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// As `build`, with the clock the domain reads (tests move a `TestClock`). Refuses an implicit
    /// dev mode where the setup looks deployed, before touching the database.
    pub async fn build_with_clock(settings: Settings, clock: SharedClock) -> anyhow::Result<Application> {
        settings.refuse_implicit_dev_mode()?;
        announce_modes(&settings);
        let db = crate::platform::db::connect(&settings.database).await?;
        let fresh = crate::platform::db::migrate(&db).await?;
        if fresh && settings.seed_demo {
            crate::demo::seed(&db).await.context("seeding demo data")?;
            tracing::info!("seeded demo data into the new database");
        }
        let listener = TcpListener::bind(settings.bind).with_context(|| format!("binding {}", settings.bind))?;
        Application::with_listener(settings, db, listener, clock).await
    }

    pub async fn with_listener(
        settings: Settings,
        db: DatabaseConnection,
        listener: TcpListener,
        clock: SharedClock,
    ) -> anyhow::Result<Application> {
        let cache = crate::platform::cache::connect(settings.redis.url.as_deref(), &settings.redis.key_prefix)
            .await
            .context("connecting to Redis")?;
        let wechat = WechatClient::new(&settings.wechat, cache.clone()).context("building the WeChat client")?;
        let actor_ttl = Duration::from_millis(settings.auth.actor_cache_ttl_ms);
        let wallet_ttl = Duration::from_millis(settings.points.wallet_cache_ttl_ms);
        let inbox_ttl = Duration::from_millis(settings.requests.inbox_cache_ttl_ms);
        let requests_ttl = Duration::from_millis(settings.requests.requests_cache_ttl_ms);
        let db_health = DatabaseHealth::connect(&settings.database).await?;
        let state = AppState {
            jwt: Arc::new(JwtKeys::new(&settings.auth)),
            metrics: Arc::new(Metrics::new().context("registering metrics")?),
            settings: Arc::new(settings),
            db,
            cache,
            wechat,
            clock,
            read_counts: Arc::new(ReadCounts::new()),
            callers: Arc::new(CallerCache::new(crate::identity::caller::TOKENS, actor_ttl)),
            wallets: Arc::new(WalletCache::new(crate::scenes::wallet::kept::TOKENS, wallet_ttl)),
            inboxes: Arc::new(InboxCache::with_capacity(
                crate::scenes::notifications::kept::TOKENS,
                inbox_ttl,
                crate::scenes::notifications::kept::INBOXES_KEPT_MAX,
            )),
            queue_pages: Arc::new(QueueCache::with_capacity(
                crate::scenes::requests::kept::TOKENS,
                requests_ttl,
                crate::scenes::requests::kept::PAGES_KEPT_MAX,
            )),
            request_details: Arc::new(DetailCache::new(requests_ttl)),
            request_stats: Arc::new(StatsCache::with_capacity(
                crate::scenes::requests::kept::STATS_TOKENS,
                requests_ttl,
                crate::scenes::requests::kept::STATS_KEPT_MAX,
            )),
            db_health,
            shutdown: Shutdown::new(),
        };
        crate::platform::db_health::spawn_probe(state.db_health.clone(), &state.shutdown);
        crate::platform::idempotency::spawn_heartbeat(state.cache.clone(), &state.shutdown);
        crate::platform::rate_limit::spawn_exchange(
            state.read_counts.clone(),
            state.cache.clone(),
            state.clock.clone(),
        );
        let port = listener.local_addr().context("reading the bound address")?.port();
        let server = run(listener, state.clone())?;
        Ok(Application { port, server, state })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM (or SIGINT): stops accepting connections at once, lets the requests in
    /// flight finish within `EHOME_SHUTDOWN_TIMEOUT_SECONDS`, then stops the background jobs at a safe
    /// point (between two runs) and closes the database pool.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        tracing::info!("stopped accepting and drained the requests in flight; stopping background jobs");
        let within = std::time::Duration::from_secs(self.state.settings.shutdown_timeout_seconds.max(1));
        self.state.shutdown.stop(within).await;
        if let Err(err) = self.state.db.clone().close().await {
            tracing::warn!(error = %err, "closing the database pool");
        }
        served
    }
}

/// Says once at start what a reader of the log must know about this instance's trust.
fn announce_modes(settings: &Settings) {
    if settings.environment.is_dev() && settings.environment_explicit {
        tracing::warn!(
            bind = %settings.bind,
            "EHOME_ENV=dev: dev-login is served and signs anyone in as any user; never run this where others can reach it"
        );
    }
    match settings.wechat.text_check {
        TextCheck::LocalWordList => tracing::warn!("content check: local word list (dev)"),
        TextCheck::Wechat => tracing::info!("content check: WeChat msg_sec_check"),
    }
}

fn run(listener: TcpListener, state: AppState) -> anyhow::Result<Server> {
    let shutdown_timeout = state.settings.shutdown_timeout_seconds;
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        let environment = data.settings.environment;
        let body_limit = data.settings.body_limit_bytes;
        App::new()
            .app_data(data.clone())
            .configure(|config| crate::platform::json::configure(config, body_limit))
            .configure(|config| {
                crate::routes::configure(config, environment);
            })
            .default_service(web::to(|| async { Err::<actix_web::HttpResponse, _>(ApiError::RouteNotFound) }))
            .wrap(from_fn(crate::platform::idempotency::replay))
            .wrap(from_fn(crate::platform::json::objects_only))
            .wrap(from_fn(crate::platform::rate_limit::limit_requests))
            .wrap(from_fn(crate::platform::compression::mark_small))
            .wrap(actix_web::middleware::Compress::default())
            .wrap(from_fn(crate::platform::compression::settle))
            .wrap(from_fn(crate::platform::middleware::request_context))
    })
    .shutdown_timeout(shutdown_timeout)
    // A compressed (chunked) body ends in a small last write; with Nagle on, it waits for the client's
    // delayed ACK (40 ms on Linux) — measured as a 50 ms p99 on every compressed list.
    .tcp_nodelay(true)
    .listen(listener)
    .context("listening")?
    .run();
    Ok(server)
}
