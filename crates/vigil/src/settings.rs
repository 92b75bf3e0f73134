//! Configuration: defaults < TOML file (`--config`) < environment (`VIGIL_…`) < flags.
//! Clap resolves flag-over-environment; this file fills the rest from the TOML file and defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use serde::Deserialize;
use vigil_api::{ApiConfig, LoginPolicy, RateLimit, Window};

/// Where the data lives; shared by every command that opens the database.
#[derive(Args, Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageArgs {
    /// TOML configuration file (keys are the long flag names with `_`, e.g. `data_dir`).
    #[arg(long, env = "VIGIL_CONFIG", global = true)]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Data directory: SQLite database, master key. [default: ./vigil-data]
    #[arg(long, env = "VIGIL_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER[:PASS]@HOST[:PORT]/DB. [default: sqlite://<data-dir>/vigil.db]
    #[arg(long, env = "VIGIL_DATABASE", global = true)]
    pub database: Option<String>,
    /// Database connections per process. [default: 8]
    #[arg(long, env = "VIGIL_DB_MAX_CONNECTIONS", global = true, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_max_connections: Option<u32>,
    /// Log every database statement slower than this many milliseconds (WARN, with its SQL); 0 turns it off. [default: 200]
    #[arg(long, env = "VIGIL_SLOW_QUERY_MS", global = true)]
    pub slow_query_ms: Option<u64>,
    /// Model directory. [default: $VIGIL_MODEL_DIR, else <data-dir>/models, else ../shared/models of a checkout]
    #[arg(long, global = true)]
    pub model_dir: Option<PathBuf>,
    /// Emit logs as JSON lines instead of text. [default: false]
    #[arg(long, env = "VIGIL_LOG_JSON", global = true)]
    pub log_json: Option<bool>,
    /// Log filter (tracing env-filter syntax, e.g. `info,vigil_api=debug`). [default: info for serve, warn otherwise]
    #[arg(long, env = "VIGIL_LOG", global = true)]
    pub log: Option<String>,
}

/// Settings of `vigil serve`.
#[derive(Args, Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeArgs {
    /// Address to listen on. [default: 127.0.0.1:8080]
    #[arg(long, env = "VIGIL_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Base URL clients use to reach this server, advertised in tokens' catalog. [default: http://<listen>]
    #[arg(long, env = "VIGIL_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Region name advertised in tokens' catalog. [default: local]
    #[arg(long, env = "VIGIL_REGION")]
    pub region: Option<String>,
    /// Maximum video sources per project (VIAS.0010047 beyond). [default: 1000]
    #[arg(long, env = "VIGIL_SOURCE_QUOTA")]
    pub source_quota: Option<i64>,
    /// Maximum video groups per project. [default: 100]
    #[arg(long, env = "VIGIL_GROUP_QUOTA")]
    pub group_quota: Option<i64>,
    /// Maximum tasks per project (VIAS.0010048 beyond). [default: 200]
    #[arg(long, env = "VIGIL_TASK_QUOTA")]
    pub task_quota: Option<i64>,
    /// Maximum edge pools per project (VIAS.00010050 beyond). [default: 10]
    #[arg(long, env = "VIGIL_EDGE_POOL_QUOTA")]
    pub edge_pool_quota: Option<i64>,
    /// Maximum batch tasks per project (VIAS.0010048 beyond). [default: 50]
    #[arg(long, env = "VIGIL_BATCH_TASK_QUOTA")]
    pub batch_task_quota: Option<i64>,
    /// Failed logins of one user name before it is locked (`The account is locked.`). [default: 5]
    #[arg(long, env = "VIGIL_LOGIN_MAX_FAILURES")]
    pub login_max_failures: Option<u32>,
    /// Failed logins from one client address (any user names) before it is locked. [default: 20]
    #[arg(long, env = "VIGIL_LOGIN_MAX_FAILURES_PER_ADDRESS")]
    pub login_max_failures_per_address: Option<u32>,
    /// Seconds a locked user name or address stays locked. [default: 900]
    #[arg(long, env = "VIGIL_LOGIN_LOCKOUT")]
    pub login_lockout: Option<u64>,
    /// Milliseconds a user name or address must wait after its third failed login; doubles with each further failure. [default: 1000]
    #[arg(long, env = "VIGIL_LOGIN_DELAY_MS")]
    pub login_delay_ms: Option<u64>,
    /// PEM certificate chain: serve the API over HTTPS (with --tls-key). [default: none, plain HTTP]
    #[arg(long, env = "VIGIL_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "VIGIL_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Requests per project per rate-limit window; 0 disables rate limiting. [default: 10000]
    #[arg(long, env = "VIGIL_RATE_LIMIT")]
    pub rate_limit: Option<u64>,
    /// Rate-limit window: minute, hour or day. [default: hour]
    #[arg(long, env = "VIGIL_RATE_LIMIT_WINDOW")]
    pub rate_limit_window: Option<String>,
    /// Largest accepted request body in bytes. [default: 1048576]
    #[arg(long, env = "VIGIL_BODY_LIMIT")]
    pub body_limit: Option<usize>,
    /// Token lifetime in seconds. [default: 86400]
    #[arg(long, env = "VIGIL_TOKEN_TTL")]
    pub token_ttl: Option<u64>,
    /// Seconds a validated token is remembered without a database lookup; a revocation by another process (another API server, `vigil iam`) takes effect within this time, one through this server at once; 0 turns the cache off. [default: 5]
    #[arg(long, env = "VIGIL_TOKEN_CACHE_SECS")]
    pub token_cache_secs: Option<u64>,
    /// Seconds between health probes of every video source (status, snapshot, quality labels, scene recommendations); 0 disables. [default: 300]
    #[arg(long, env = "VIGIL_PROBE_INTERVAL")]
    pub probe_interval: Option<u64>,
    /// Quality-label thresholds of the prober, NAME=VALUE[,NAME=VALUE…] (names in docs/media.md; unknown names fail the start). [default: built-in values]
    #[arg(long, env = "VIGIL_QUALITY_THRESHOLD", value_delimiter = ',')]
    pub quality_threshold: Option<Vec<String>>,
    /// Seconds after which a source's scene recommendation is refreshed (also at once after the scene changed); 0 turns recommendations off. [default: 21600]
    #[arg(long, env = "VIGIL_SCENE_INTERVAL")]
    pub scene_interval: Option<u64>,
    /// Root directory of the local object store behind `obs` inputs and outputs. [default: <data-dir>/obs]
    #[arg(long, env = "VIGIL_OBS_ROOT")]
    pub obs_root: Option<PathBuf>,
    /// S3-compatible endpoint for `obs` inputs and outputs instead of the local root, e.g. https://obs.example.com. [default: none]
    #[arg(long, env = "VIGIL_OBS_S3_ENDPOINT")]
    pub obs_s3_endpoint: Option<String>,
    /// Region of the S3-compatible endpoint. [default: us-east-1]
    #[arg(long, env = "VIGIL_OBS_S3_REGION")]
    pub obs_s3_region: Option<String>,
    /// Access key id for the S3-compatible endpoint (required with --obs-s3-endpoint).
    #[arg(long, env = "VIGIL_OBS_S3_ACCESS_KEY_ID")]
    pub obs_s3_access_key_id: Option<String>,
    /// Secret access key for the S3-compatible endpoint; prefer the environment variable to the flag.
    #[arg(long, env = "VIGIL_OBS_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub obs_s3_secret_access_key: Option<String>,
    /// Do not run tasks in this process (run `vigil worker` processes instead).
    #[arg(long, env = "VIGIL_NO_WORKER")]
    pub no_worker: Option<bool>,
    /// This worker's id in task leases; a restart with the same id resumes its tasks at once. Two running processes must never share one. [default: the host name plus an id persisted in <data-dir>/worker-ids, one per running process]
    #[arg(long, env = "VIGIL_WORKER_ID")]
    pub worker_id: Option<String>,
    /// Frames per second analysed per task. [default: 5]
    #[arg(long, env = "VIGIL_ANALYSIS_FPS")]
    pub analysis_fps: Option<f64>,
    /// Most tasks one worker runs at once. [default: 64]
    #[arg(long, env = "VIGIL_MAX_TASKS")]
    pub max_tasks: Option<usize>,
    /// Edge pool this node joins by name (Operation Center); repeatable or comma separated. [default: none]
    #[arg(long = "pool", env = "VIGIL_POOLS", value_delimiter = ',')]
    #[serde(alias = "pool")]
    pub pools: Option<Vec<String>>,
    /// This node's name in the Operation Center. [default: the host name]
    #[arg(long, env = "VIGIL_NODE_NAME")]
    pub node_name: Option<String>,
    /// Seconds a task lease lasts without heartbeat; another worker takes over after it. [default: 15]
    #[arg(long, env = "VIGIL_LEASE_TTL")]
    pub lease_ttl: Option<u64>,
    /// Replay file inputs at their own frame rate, as if they were cameras. [default: false]
    #[arg(long, env = "VIGIL_REPLAY_REALTIME")]
    pub replay_realtime: Option<bool>,
    /// Run H.264/HEVC's deblocking filter on every decoded picture. By default it is skipped on
    /// reference pictures no task samples (a third less decoding work when analysing 5 of 25
    /// frames/s). [default: false]
    #[arg(long, env = "VIGIL_DEBLOCK_UNSAMPLED")]
    pub deblock_unsampled: Option<bool>,
    /// Analyse the picture at each sampling time exactly. By default a reference picture one
    /// picture earlier takes the sample when the one at that time is a non-reference picture
    /// (H.264/HEVC), so non-reference pictures are never decoded. [default: false]
    #[arg(long, env = "VIGIL_EXACT_SAMPLE_TIMES")]
    pub exact_sample_times: Option<bool>,
    /// Seconds a live input may stay online without delivering a frame before its reader is
    /// restarted (its tasks show ABNORMAL VIGIL.STALLED meanwhile). [default: 30]
    #[arg(long, env = "VIGIL_STALL_RESTART_SECS")]
    pub stall_restart_secs: Option<u64>,
    /// Bearer token `GET /metrics` requires (`Authorization: Bearer <token>`). [default: none, /metrics is open]
    #[arg(long, env = "VIGIL_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Also serve `GET /metrics` on this address (for `vigil worker`, which has no API listener).
    #[arg(long, env = "VIGIL_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// MQTT broker for `dis` outputs, mqtt://[user:pass@]host[:port]. [default: none; dis alarms wait in the outbox]
    #[arg(long, env = "VIGIL_MQTT_URL")]
    pub mqtt_url: Option<String>,
    /// Prefix put before every MQTT topic (before --mqtt-topic-pattern). [default: none]
    #[arg(long, env = "VIGIL_MQTT_TOPIC_PREFIX")]
    pub mqtt_topic_prefix: Option<String>,
    /// MQTT topic of a `dis` output; must contain {project_id}, may use {stream_name}. [default: vigil/{project_id}/{stream_name}]
    #[arg(long, env = "VIGIL_MQTT_TOPIC_PATTERN")]
    pub mqtt_topic_pattern: Option<String>,
    /// PEM file of the CA that signs an mqtts:// broker's certificate. [default: the system roots]
    #[arg(long, env = "VIGIL_MQTT_CA_FILE")]
    pub mqtt_ca_file: Option<PathBuf>,
    /// PEM file of CAs trusted for rtsps:// cameras, on top of the system roots (a source may opt out with <certificate_check>false</certificate_check>). [default: none; the system roots]
    #[arg(long, env = "VIGIL_RTSPS_CA_FILE")]
    pub rtsps_ca_file: Option<PathBuf>,
    /// Kafka bootstrap brokers for `dis` outputs, host:port[,host:port…] (instead of MQTT). [default: none]
    #[arg(long, env = "VIGIL_KAFKA_BROKERS")]
    pub kafka_brokers: Option<String>,
    /// Prefix put before every Kafka topic (before --kafka-topic-pattern). [default: none]
    #[arg(long, env = "VIGIL_KAFKA_TOPIC_PREFIX")]
    pub kafka_topic_prefix: Option<String>,
    /// Kafka topic of a `dis` output; must contain {project_id}, may use {stream_name}. [default: vigil.{project_id}.{stream_name}]
    #[arg(long, env = "VIGIL_KAFKA_TOPIC_PATTERN")]
    pub kafka_topic_pattern: Option<String>,
    /// Seconds a webhook receiver has to answer. [default: 10]
    #[arg(long, env = "VIGIL_WEBHOOK_TIMEOUT")]
    pub webhook_timeout: Option<u64>,
    /// Redirects a webhook POST follows, each checked by the egress policy; 0 follows none. [default: 0]
    #[arg(long, env = "VIGIL_WEBHOOK_MAX_REDIRECTS")]
    pub webhook_max_redirects: Option<usize>,
    /// Days event-center alarms are kept; 0 keeps them forever. [default: 30]
    #[arg(long, env = "VIGIL_ALARM_RETENTION_DAYS")]
    pub alarm_retention_days: Option<u64>,
    /// Days an alarm that keeps failing delivery stays in the outbox; 0 keeps it forever. [default: 7]
    #[arg(long, env = "VIGIL_OUTBOX_RETENTION_DAYS")]
    pub outbox_retention_days: Option<u64>,
    /// Alarm deliveries of one project (per output kind) in flight at once, across all dispatchers; the rest wait their turn so one tenant cannot take every slot. [default: 4]
    #[arg(long, env = "VIGIL_DELIVERY_SLOTS_PER_PROJECT")]
    pub delivery_slots_per_project: Option<usize>,
    /// Largest accepted distance of an AK/SK request's X-Sdk-Date from the server clock, in seconds. [default: 900]
    #[arg(long, env = "VIGIL_MAX_CLOCK_SKEW")]
    pub max_clock_skew: Option<u64>,
    /// Directories tenants' `file://` sources and task inputs must lie in, comma-separated (see docs/security.md). [default: <data-dir>/media]
    #[arg(long, env = "VIGIL_MEDIA_ROOTS", value_delimiter = ',')]
    pub media_roots: Option<Vec<PathBuf>>,
    /// Outbound addresses allowed even when denied: CIDR ranges and host names (`*.example.com`), comma-separated. [default: none]
    #[arg(long, env = "VIGIL_EGRESS_ALLOW")]
    pub egress_allow: Option<String>,
    /// Outbound addresses refused, added to the built-in link-local/metadata/0.0.0.0/8 list: CIDR ranges and host names, comma-separated. [default: none]
    #[arg(long, env = "VIGIL_EGRESS_DENY")]
    pub egress_deny: Option<String>,
    /// Largest decoded picture, WIDTHxHEIGHT; larger video and images are refused. [default: 4096x4096]
    #[arg(long, env = "VIGIL_MAX_VIDEO_SIZE")]
    pub max_video_size: Option<String>,
}

/// The TOML file: the same keys as the flags, in one table.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FileConfig {
    #[serde(flatten)]
    storage: StorageArgs,
    #[serde(flatten)]
    serve: ServeArgs,
}

fn load_file(path: Option<&Path>) -> anyhow::Result<FileConfig> {
    let Some(path) = path else {
        return Ok(FileConfig::default());
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
}

/// Resolved storage settings.
#[derive(Debug, Clone)]
pub struct Storage {
    pub data_dir: PathBuf,
    pub database: String,
    /// Pool size and slow-statement log of the database.
    pub db: vigil_store::StoreOptions,
    pub model_dir: Option<PathBuf>,
    pub log_json: bool,
    /// `None`: the command's own default.
    pub log: Option<String>,
}

/// Resolves the storage settings; also returns the TOML file's serve settings for `api_config`.
pub fn storage(cli: &StorageArgs) -> anyhow::Result<(Storage, ServeArgs)> {
    let file = load_file(cli.config.as_deref())?;
    let data_dir = cli
        .data_dir
        .clone()
        .or(file.storage.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from("./vigil-data"));
    let database = cli
        .database
        .clone()
        .or(file.storage.database.clone())
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("vigil.db").display()));
    let max_connections = cli.db_max_connections.or(file.storage.db_max_connections);
    if max_connections.is_some_and(|n| !(1..=1000).contains(&n)) {
        bail!("db_max_connections must be from 1 to 1000");
    }
    let slow_query_ms = cli.slow_query_ms.or(file.storage.slow_query_ms);
    let db = vigil_store::StoreOptions {
        max_connections,
        slow_query: slow_query_ms.map_or(vigil_store::DEFAULT_SLOW_QUERY, std::time::Duration::from_millis),
    };
    Ok((
        Storage {
            db,
            model_dir: cli.model_dir.clone().or(file.storage.model_dir.clone()),
            log_json: cli.log_json.or(file.storage.log_json).unwrap_or(false),
            log: cli.log.clone().or(file.storage.log.clone()),
            data_dir,
            database,
        },
        file.serve,
    ))
}

/// Resolves `vigil serve`'s settings from its flags/environment (`cli`) and the TOML file (`f`).
pub fn api_config(cli: &ServeArgs, f: &ServeArgs) -> anyhow::Result<(SocketAddr, ApiConfig)> {
    let d = ApiConfig::default();
    let listen = cli
        .listen
        .or(f.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let quota = cli.rate_limit.or(f.rate_limit).unwrap_or(10_000);
    let window_name = cli
        .rate_limit_window
        .clone()
        .or(f.rate_limit_window.clone())
        .unwrap_or_else(|| "hour".into());
    let Some(window) = Window::parse(&window_name) else {
        bail!("rate_limit_window must be minute, hour or day, not {window_name:?}");
    };
    let source_quota = cli.source_quota.or(f.source_quota).unwrap_or(d.source_quota);
    let group_quota = cli.group_quota.or(f.group_quota).unwrap_or(d.group_quota);
    let task_quota = cli.task_quota.or(f.task_quota).unwrap_or(d.task_quota);
    let batch_task_quota = cli
        .batch_task_quota
        .or(f.batch_task_quota)
        .unwrap_or(d.batch_task_quota);
    let edge_pool_quota = cli.edge_pool_quota.or(f.edge_pool_quota).unwrap_or(d.edge_pool_quota);
    if source_quota < 0 || group_quota < 0 || task_quota < 0 || batch_task_quota < 0 || edge_pool_quota < 0 {
        bail!("quotas must not be negative");
    }
    let body_limit = cli.body_limit.or(f.body_limit).unwrap_or(d.body_limit);
    if body_limit < 1024 {
        bail!("body_limit must be at least 1024 bytes");
    }
    Ok((
        listen,
        ApiConfig {
            source_quota,
            group_quota,
            task_quota,
            batch_task_quota,
            edge_pool_quota,
            login: login_policy(cli, f),
            rate_limit: (quota > 0).then_some(RateLimit { quota, window }),
            body_limit,
            token_ttl: Duration::from_secs(cli.token_ttl.or(f.token_ttl).unwrap_or(86_400).max(1)),
            token_cache: Duration::from_secs(cli.token_cache_secs.or(f.token_cache_secs).unwrap_or(5)),
            max_clock_skew: Duration::from_secs(cli.max_clock_skew.or(f.max_clock_skew).unwrap_or(900)),
            public_url: cli
                .public_url
                .clone()
                .or(f.public_url.clone())
                .unwrap_or_else(|| format!("http://{listen}")),
            region: cli
                .region
                .clone()
                .or(f.region.clone())
                .unwrap_or_else(|| d.region.clone()),
            metrics_token: metrics_token(cli, f),
        },
    ))
}

/// The `/metrics` bearer token; an empty one means none.
pub fn metrics_token(cli: &ServeArgs, f: &ServeArgs) -> Option<String> {
    cli.metrics_token
        .clone()
        .or(f.metrics_token.clone())
        .filter(|t| !t.trim().is_empty())
}

/// Brute-force protection of `/v3/auth/tokens` and password changes.
fn login_policy(cli: &ServeArgs, f: &ServeArgs) -> LoginPolicy {
    let d = LoginPolicy::default();
    LoginPolicy {
        max_failures_per_user: cli
            .login_max_failures
            .or(f.login_max_failures)
            .unwrap_or(d.max_failures_per_user)
            .max(1),
        max_failures_per_address: cli
            .login_max_failures_per_address
            .or(f.login_max_failures_per_address)
            .unwrap_or(d.max_failures_per_address)
            .max(1),
        lockout: cli
            .login_lockout
            .or(f.login_lockout)
            .map(Duration::from_secs)
            .unwrap_or(d.lockout),
        base_delay: cli
            .login_delay_ms
            .or(f.login_delay_ms)
            .map(Duration::from_millis)
            .unwrap_or(d.base_delay),
    }
}

/// `--tls-cert` and `--tls-key`, when both are set.
pub fn tls_files(cli: &ServeArgs, f: &ServeArgs) -> anyhow::Result<Option<(PathBuf, PathBuf)>> {
    match (
        cli.tls_cert.clone().or(f.tls_cert.clone()),
        cli.tls_key.clone().or(f.tls_key.clone()),
    ) {
        (Some(c), Some(k)) => Ok(Some((c, k))),
        (None, None) => Ok(None),
        _ => bail!("tls_cert and tls_key go together"),
    }
}

/// Settings that keep tenants inside their bounds (docs/security.md).
#[derive(Debug, Clone)]
pub struct Security {
    pub media_roots: Vec<PathBuf>,
    pub egress: std::sync::Arc<vigil_core::egress::EgressPolicy>,
    pub max_video_width: u32,
    pub max_video_height: u32,
}

/// Resolves the media roots, egress policy and picture size limit.
pub fn security(data_dir: &Path, cli: &ServeArgs, f: &ServeArgs) -> anyhow::Result<Security> {
    let media_roots = cli
        .media_roots
        .clone()
        .or(f.media_roots.clone())
        .unwrap_or_else(|| vec![data_dir.join("media")]);
    if media_roots.iter().any(|r| r.as_os_str().is_empty()) {
        bail!("media_roots must not contain an empty path");
    }
    let allow = cli.egress_allow.clone().or(f.egress_allow.clone()).unwrap_or_default();
    let deny = cli.egress_deny.clone().or(f.egress_deny.clone()).unwrap_or_default();
    let egress = vigil_core::egress::EgressPolicy::from_lists(&allow, &deny).map_err(anyhow::Error::msg)?;
    let size = cli
        .max_video_size
        .clone()
        .or(f.max_video_size.clone())
        .unwrap_or_else(|| "4096x4096".into());
    let parsed = size
        .split_once(['x', 'X'])
        .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)))
        .filter(|(w, h)| (16..=16384).contains(w) && (16..=16384).contains(h));
    let Some((max_video_width, max_video_height)) = parsed else {
        bail!("max_video_size must be WIDTHxHEIGHT with each side 16..16384, not {size:?}");
    };
    Ok(Security {
        media_roots,
        egress: std::sync::Arc::new(egress),
        max_video_width,
        max_video_height,
    })
}
