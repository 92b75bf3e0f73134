//! Vigil's HTTP API: the Huawei VIAS v2 surface (Video Center for now), IAM-compatible token
//! issue, AK/SK request signing, request ids, per-project rate limits and the VIAS error bodies.

pub mod aksk;
pub mod alarm_stream;
mod alarms;
mod algorithm_center;
mod auth;
mod batch_tasks;
pub mod console;
mod edge_pools;
pub mod error;
mod event_center;
mod event_subscriptions;
mod health;
mod iam_tokens;
mod json_body;
mod legacy_tasks;
mod login_throttle;
pub mod metrics;
pub mod model_packages;
mod nodes;
pub mod openapi;
mod password_check;
mod query;
mod rate_limit;
mod replay;
mod request_id;
mod router;
mod source_snapshot;
mod task_center;
mod task_stats;
mod tasks;
mod token_cache;
mod video_groups;
mod video_sources;

use std::sync::Arc;
use std::time::Duration;

use vigil_core::secret_box::SecretBox;
use vigil_store::Store;

pub use login_throttle::LoginPolicy;
pub use rate_limit::{RateLimit, Window};
pub use router::router;

/// Server-side settings of the API (validated by the binary before it builds this).
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub source_quota: i64,
    pub group_quota: i64,
    pub task_quota: i64,
    /// Batch tasks per project (VIAS.0010048 beyond, as for tasks).
    pub batch_task_quota: i64,
    /// Edge pools per project (VIAS.00010050 beyond).
    pub edge_pool_quota: i64,
    /// Brute-force protection of password checks.
    pub login: LoginPolicy,
    /// `None` disables rate limiting.
    pub rate_limit: Option<RateLimit>,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    pub token_ttl: Duration,
    /// How long a validated token is remembered (no database lookup); zero turns it off.
    pub token_cache: Duration,
    /// How far an AK/SK request's `X-Sdk-Date` may be from the server's clock.
    pub max_clock_skew: Duration,
    /// Base URL clients reach this server at, advertised in the token catalog.
    pub public_url: String,
    pub region: String,
    /// When set, `GET /metrics` requires `Authorization: Bearer <token>` (`--metrics-token`).
    pub metrics_token: Option<String>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            source_quota: 1000,
            group_quota: 100,
            task_quota: 200,
            batch_task_quota: 50,
            edge_pool_quota: 10,
            login: LoginPolicy::default(),
            rate_limit: Some(RateLimit {
                quota: 10_000,
                window: Window::Hour,
            }),
            body_limit: 1024 * 1024,
            token_ttl: Duration::from_secs(24 * 3600),
            token_cache: Duration::from_secs(5),
            max_clock_skew: Duration::from_secs(15 * 60),
            public_url: "http://127.0.0.1:8080".into(),
            region: "local".into(),
            metrics_token: None,
        }
    }
}

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub secrets: SecretBox,
    pub config: Arc<ApiConfig>,
    limiter: Arc<rate_limit::Limiter>,
    replays: Arc<replay::ReplayCache>,
    logins: Arc<login_throttle::LoginThrottle>,
    tokens: Arc<token_cache::TokenCache>,
    hostname: Arc<str>,
}

/// Most AK/SK signatures remembered for replay protection.
const REPLAY_CACHE_SIZE: usize = 100_000;

impl AppState {
    pub fn new(store: Store, secrets: SecretBox, config: ApiConfig) -> Self {
        let hostname = std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "vigil".into());
        Self {
            limiter: Arc::new(rate_limit::Limiter::new(config.rate_limit)),
            replays: Arc::new(replay::ReplayCache::new(REPLAY_CACHE_SIZE)),
            logins: Arc::new(login_throttle::LoginThrottle::new(config.login)),
            tokens: Arc::new(token_cache::TokenCache::new(config.token_cache)),
            store,
            secrets,
            config: Arc::new(config),
            hostname: hostname.into(),
        }
    }
}
