//! `--metrics-listen ADDR`: `GET /metrics` on a listener of its own, so that `vigil worker`
//! (which has no API listener) can be scraped too.

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use vigil_store::Store;

use crate::settings::{metrics_token, ServeArgs};

/// Installs the metrics recorder and, when `--metrics-listen` is set, serves `/metrics` there
/// until `stop` turns true.
pub async fn start(
    a: &ServeArgs,
    f: &ServeArgs,
    store: &Store,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Option<JoinHandle<()>>> {
    vigil_api::metrics::install();
    let Some(addr) = a.metrics_listen.or(f.metrics_listen) else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for metrics"))?;
    let local = listener.local_addr()?;
    let token = metrics_token(a, f);
    tracing::info!(listen = %local, token = token.is_some(), "metrics listening at /metrics");
    let app = vigil_api::metrics::standalone(store.clone(), token);
    Ok(Some(tokio::spawn(async move {
        let shutdown = crate::jobs::stopped(stop);
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            tracing::error!(error = %e, "metrics listener failed");
        }
    })))
}
