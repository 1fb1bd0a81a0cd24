//! Prometheus metrics: requests by route template and status, latency, database pool use.

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

/// What a feature did when the shared cache did not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Degraded {
    /// Let the request through unchecked (rate limits).
    FailOpen,
    /// Refused it with 503 (idempotency replays, one-time code guards).
    FailClosed,
}

impl Degraded {
    fn as_str(self) -> &'static str {
        match self {
            Degraded::FailOpen => "fail_open",
            Degraded::FailClosed => "fail_closed",
        }
    }
}

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_in_use: IntGauge,
    pool_size: IntGauge,
    cache_degraded: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by method, route template and status"),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency by route template")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["method", "route"],
        )?;
        let pool_in_use = IntGauge::new("db_pool_connections_in_use", "Database connections checked out")?;
        let pool_size = IntGauge::new("db_pool_connections", "Database connections open")?;
        let cache_degraded = IntCounterVec::new(
            Opts::new(
                "cache_degraded_total",
                "Requests served without the shared cache, by feature and what it did (fail_open, fail_closed)",
            ),
            &["feature", "outcome"],
        )?;
        registry.register(Box::new(cache_degraded.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(pool_in_use.clone()))?;
        registry.register(Box::new(pool_size.clone()))?;
        Ok(Metrics { registry, requests, latency, pool_in_use, pool_size, cache_degraded })
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests.with_label_values(&[method, route, &status.to_string()]).inc();
        self.latency.with_label_values(&[method, route]).observe(seconds);
    }

    /// Counts one request that a feature served without the shared cache (DESIGN §7).
    pub fn cache_degraded(&self, feature: &str, outcome: Degraded) {
        self.cache_degraded.with_label_values(&[feature, outcome.as_str()]).inc();
    }

    pub fn render(&self, pool_in_use: u32, pool_size: u32) -> Result<String, prometheus::Error> {
        self.pool_in_use.set(i64::from(pool_in_use));
        self.pool_size.set(i64::from(pool_size));
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        String::from_utf8(buffer).map_err(|err| prometheus::Error::Msg(err.to_string()))
    }
}
