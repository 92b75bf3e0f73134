//! `GET /metrics` in the Prometheus text format (0.0.4): the process-wide recorder behind the
//! `metrics` facade (engine, inference, sinks and API latency record into it), plus gauges read
//! from the store at scrape time (outbox backlog, task leases). Labels carry ids only.
//!
//! With a metrics token (`--metrics-token`) a scrape must send `Authorization: Bearer <token>`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{FromRef, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use metrics_util::MetricKindMask;
use subtle::ConstantTimeEq;
use vigil_store::Store;

use crate::AppState;

/// Series not updated for this long disappear (the counters of a task stopped minutes ago).
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// How often histograms are folded and idle series dropped.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);
/// Sink kinds whose backlog is always reported (0 when empty), so an emptied outbox reads 0.
const SINK_KINDS: [&str; 3] = ["webhook", "obs", "dis"];
/// Label of requests that matched no route (one value, so probes cannot mint series).
const UNMATCHED: &str = "unmatched";

/// Latency buckets (seconds): model runs and HTTP handlers from 1 ms, deliveries up to a minute.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];
/// Alarm age at delivery (seconds): from immediate to a day of backlog.
const LAG_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder once per process (later calls return the same handle).
/// Before this, every `metrics` macro of the process is a no-op.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .idle_timeout(MetricKindMask::ALL, Some(IDLE_TIMEOUT))
            .set_buckets_for_metric(Matcher::Full("vigil_alarm_delivery_lag_seconds".into()), LAG_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS));
        let recorder = match builder {
            Ok(b) => b.build_recorder(),
            // Only reachable with empty bucket lists, which are constants above.
            Err(e) => {
                tracing::error!(error = %e, "metrics buckets rejected; histograms render as summaries");
                PrometheusBuilder::new()
                    .idle_timeout(MetricKindMask::ALL, Some(IDLE_TIMEOUT))
                    .build_recorder()
            }
        };
        let handle = recorder.handle();
        if let Err(e) = ::metrics::set_global_recorder(recorder) {
            tracing::warn!(error = %e, "another metrics recorder is installed; /metrics shows only store gauges");
        }
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("vigil-metrics".into())
            .spawn(move || loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the metrics upkeep thread");
        }
        describe();
        handle
    })
}

/// HELP lines of the families recorded outside this crate.
fn describe() {
    use ::metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "vigil_source_decoded_frames_total",
        "Frames decoded from a source (shared by every task on it)."
    );
    describe_gauge!(
        "vigil_source_decode_fps",
        "Frames per second decoded from a source, over the last few seconds."
    );
    describe_counter!(
        "vigil_source_dropped_frames_total",
        "Frames of a live source dropped because analysis fell behind."
    );
    describe_counter!(
        "vigil_source_stall_restarts_total",
        "Readers of a live source restarted by the stall watchdog."
    );
    describe_gauge!("vigil_source_tasks", "Tasks attached to a running source.");
    describe_counter!("vigil_task_analysed_frames_total", "Frames a task analysed.");
    describe_gauge!(
        "vigil_task_analysed_fps",
        "Frames per second a task analysed, over the last few seconds."
    );
    describe_gauge!(
        "vigil_task_decode_fps",
        "Frames per second decoded from the task's source, over the last few seconds."
    );
    describe_counter!(
        "vigil_task_dropped_frames_total",
        "Frames of the task's live source dropped while the task was on it."
    );
    describe_counter!(
        "vigil_task_alarms_total",
        "Alarms a task produced (stored in the outbox)."
    );
    describe_counter!(
        "vigil_pipeline_restarts_total",
        "Task pipelines restarted by their supervisor after a failure, by error code."
    );
    describe_histogram!(
        "vigil_inference_duration_seconds",
        Unit::Seconds,
        "Duration of one model run, by model file."
    );
    describe_counter!(
        "vigil_inference_failures_total",
        "Model runs that failed, by model file."
    );
    describe_histogram!(
        "vigil_delivery_duration_seconds",
        Unit::Seconds,
        "Duration of one delivery attempt to a sink, by sink kind and result."
    );
    describe_counter!("vigil_deliveries_total", "Alarms a sink acknowledged, by sink kind.");
    describe_counter!(
        "vigil_delivery_failures_total",
        "Failed delivery attempts (rescheduled), by sink kind."
    );
    describe_histogram!(
        "vigil_alarm_delivery_lag_seconds",
        Unit::Seconds,
        "Time from an alarm entering the outbox to its acknowledgement, by sink kind."
    );
    describe_gauge!(
        "vigil_outbox_depth",
        "Alarms waiting in the outbox (all workers), by sink kind."
    );
    describe_gauge!(
        "vigil_outbox_oldest_age_seconds",
        "Age of the oldest alarm waiting in the outbox, by sink kind."
    );
    describe_gauge!(
        "vigil_worker_leased_tasks",
        "Task leases each worker node holds (from the database)."
    );
    describe_gauge!(
        "vigil_worker_running_tasks",
        "Task pipelines the worker of this process runs."
    );
    describe_histogram!(
        "vigil_http_request_duration_seconds",
        Unit::Seconds,
        "API request latency by route template, method and status class."
    );
}

/// What a scrape needs: the store for the scrape-time gauges and the optional token.
#[derive(Clone)]
pub struct MetricsState {
    pub store: Store,
    pub token: Option<String>,
}

impl FromRef<AppState> for MetricsState {
    fn from_ref(s: &AppState) -> Self {
        MetricsState {
            store: s.store.clone(),
            token: s.config.metrics_token.clone(),
        }
    }
}

/// A router with only `GET /metrics`, for `vigil worker --metrics-listen`.
pub fn standalone(store: Store, token: Option<String>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(MetricsState { store, token })
}

fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some(v) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    match v.split_once(' ') {
        Some((scheme, given)) if scheme.eq_ignore_ascii_case("bearer") => {
            bool::from(given.trim().as_bytes().ct_eq(token.as_bytes()))
        }
        _ => false,
    }
}

/// `GET /metrics`.
pub async fn scrape(State(state): State<MetricsState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.token {
        if !authorized(&headers, token) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
                "a metrics token is required: Authorization: Bearer <token>\n",
            )
                .into_response();
        }
    }
    let handle = install();
    store_gauges(&state.store).await;
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        handle.render(),
    )
        .into_response()
}

/// Outbox backlog and leases, read now; a failing store leaves the last values (and logs).
async fn store_gauges(store: &Store) {
    let now = vigil_store::now_ms();
    match store.outbox_backlog_by_sink(now).await {
        Ok(mut by_sink) => {
            for kind in SINK_KINDS {
                by_sink.entry(kind.to_string()).or_default();
            }
            for (sink, b) in by_sink {
                ::metrics::gauge!("vigil_outbox_depth", "sink" => sink.clone()).set(b.depth as f64);
                ::metrics::gauge!("vigil_outbox_oldest_age_seconds", "sink" => sink)
                    .set(b.oldest_age_ms as f64 / 1000.0);
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the outbox backlog"),
    }
    match store.leases_by_node(now).await {
        Ok(nodes) => {
            for (node, n) in nodes {
                ::metrics::gauge!("vigil_worker_leased_tasks", "node_id" => node).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the task leases"),
    }
}

/// The route template a request matched, carried from the route layer to [`track`].
#[derive(Clone)]
struct RouteLabel(String);

/// Route layer: remembers which route template answered (inner side of routing).
pub async fn mark_route(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    let mut res = next.run(req).await;
    if let Some(r) = route {
        res.extensions_mut().insert(RouteLabel(r));
    }
    res
}

/// Outermost layer: request latency by route template (never the raw path), method and status
/// class.
pub async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let res = next.run(req).await;
    let route = res
        .extensions()
        .get::<RouteLabel>()
        .map(|r| r.0.clone())
        .unwrap_or_else(|| UNMATCHED.to_string());
    let status = match res.status().as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    ::metrics::histogram!("vigil_http_request_duration_seconds",
        "route" => route, "method" => method, "status" => status)
    .record(started.elapsed().as_secs_f64());
    res
}

/// Standard methods by name; anything else as one value (clients choose methods freely).
fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_is_checked() {
        let mut h = HeaderMap::new();
        assert!(!authorized(&h, "s3cret"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer s3cret"));
        assert!(authorized(&h, "s3cret"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer s3cret"));
        assert!(authorized(&h, "s3cret"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer s3cre"));
        assert!(!authorized(&h, "s3cret"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic s3cret"));
        assert!(!authorized(&h, "s3cret"));
    }
}
