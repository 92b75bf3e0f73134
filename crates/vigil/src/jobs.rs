//! Background jobs of `vigil serve` and `vigil worker`: the source-health prober, the alarm
//! dispatcher, the alarm retention cleanup and the task worker, all stopped by one shutdown flag
//! and each restarted by [`supervise`] if it dies before.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use vigil_core::object_storage::{ObsBackend, S3Endpoint};
use vigil_sinks::{Dispatcher, DispatcherConfig, Sinks, SinksConfig};
use vigil_store::Store;
use vigil_worker::analysis::AnalysisSettings;
use vigil_worker::task_pipeline::TaskPipelines;
use vigil_worker::{Worker, WorkerConfig};

use crate::job_supervisor::{supervise, Backoff};
use crate::settings::{ServeArgs, Storage};

/// Resolves to `()` once the shutdown flag is raised.
pub async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// A flag's value from the command line/environment, else the TOML file, else a default.
macro_rules! pick {
    ($a:expr, $f:expr, $field:ident, $default:expr) => {
        $a.$field.clone().or($f.$field.clone()).unwrap_or($default)
    };
}

/// The `obs` backend: the S3-compatible endpoint when one is configured, else the local root.
fn obs_backend(storage: &Storage, a: &ServeArgs, f: &ServeArgs) -> anyhow::Result<ObsBackend> {
    let Some(endpoint) = a.obs_s3_endpoint.clone().or(f.obs_s3_endpoint.clone()) else {
        return Ok(ObsBackend::Local {
            root: pick!(a, f, obs_root, storage.data_dir.join("obs")),
        });
    };
    let lower = endpoint.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        anyhow::bail!("obs_s3_endpoint must be an http:// or https:// URL, not {endpoint:?}");
    }
    let (Some(access_key_id), Some(secret_access_key)) = (
        a.obs_s3_access_key_id.clone().or(f.obs_s3_access_key_id.clone()),
        a.obs_s3_secret_access_key
            .clone()
            .or(f.obs_s3_secret_access_key.clone()),
    ) else {
        anyhow::bail!("obs_s3_endpoint needs obs_s3_access_key_id and obs_s3_secret_access_key (VIGIL_OBS_S3_…)");
    };
    Ok(ObsBackend::S3(S3Endpoint {
        endpoint,
        region: pick!(a, f, obs_s3_region, "us-east-1".to_string()),
        access_key_id,
        secret_access_key,
    }))
}

pub fn media_config(storage: &Storage, a: &ServeArgs, f: &ServeArgs) -> anyhow::Result<vigil_media::MediaConfig> {
    let security = crate::settings::security(&storage.data_dir, a, f)?;
    let rtsps_ca_file = a.rtsps_ca_file.clone().or(f.rtsps_ca_file.clone());
    if let Some(path) = &rtsps_ca_file {
        // A bad file fails the start, not every rtsps:// camera later.
        vigil_media::tls_check::load_ca_file(path)?;
    }
    Ok(vigil_media::MediaConfig {
        obs: obs_backend(storage, a, f)?,
        egress: security.egress,
        media_roots: Some(security.media_roots),
        max_video_size: (security.max_video_width, security.max_video_height),
        rtsps_ca_file,
        deblock_unsampled: pick!(a, f, deblock_unsampled, false),
        exact_sample_times: pick!(a, f, exact_sample_times, false),
        ..Default::default()
    })
}

/// The prober's quality thresholds: the defaults with `--quality-threshold NAME=VALUE,…` applied;
/// an unknown name or a bad value fails the start, naming the valid names.
pub fn quality_thresholds(a: &ServeArgs, f: &ServeArgs) -> anyhow::Result<vigil_media::QualityThresholds> {
    let mut th = vigil_media::QualityThresholds::default();
    for item in pick!(a, f, quality_threshold, Vec::new()) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let Some((name, value)) = item.split_once('=') else {
            anyhow::bail!("quality_threshold: {item:?} is not NAME=VALUE");
        };
        let (name, value) = (name.trim(), value.trim());
        let Ok(v) = value.parse::<f64>() else {
            anyhow::bail!("quality_threshold {name}: {value:?} is not a number");
        };
        th.set(name, v).map_err(|e| {
            anyhow::anyhow!(
                "quality_threshold {name}: {e} (names: {})",
                vigil_media::QualityThresholds::NAMES.join(", ")
            )
        })?;
    }
    Ok(th)
}

pub fn prober(
    storage: &Storage,
    a: &ServeArgs,
    f: &ServeArgs,
    store: &Store,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Option<JoinHandle<()>>> {
    let interval = pick!(a, f, probe_interval, vigil_media::DEFAULT_PROBE_INTERVAL.as_secs());
    // Validated even when probing is off, so a typo shows at once.
    let thresholds = quality_thresholds(a, f)?;
    if interval == 0 {
        return Ok(None);
    }
    let prober = vigil_media::Prober {
        opener: Arc::new(vigil_media::DefaultOpener::new(media_config(storage, a, f)?)),
        options: vigil_media::ProbeOptions {
            thresholds,
            ..Default::default()
        },
        concurrency: 4,
        interval: Duration::from_secs(interval),
        ..Default::default()
    };
    // Stored camera passwords are sealed; the prober opens them right before connecting.
    let mut targets = vigil_worker::source_health::StoreTargets::new(
        store.clone(),
        Some(crate::master_key::load(&storage.data_dir)?),
    );
    let scene_interval = pick!(
        a,
        f,
        scene_interval,
        vigil_worker::source_health::DEFAULT_SCENE_INTERVAL.as_secs()
    );
    if scene_interval > 0 {
        // Recommendations are a nicety: without a model directory they are off, not the server.
        match vigil_vision::ModelDir::resolve(storage.model_dir.as_deref(), Some(&storage.data_dir)) {
            Ok(models) => {
                targets.scenes = Some(Arc::new(vigil_worker::scene_recommend::SceneRecommender::new(
                    models,
                    vigil_vision::BackendConfig::default(),
                )));
                targets.scene_interval = Duration::from_secs(scene_interval);
            }
            Err(e) => tracing::warn!(error = %e, "scene recommendations are off: no model directory"),
        }
    }
    let targets = Arc::new(targets);
    tracing::info!(
        interval_s = interval,
        scene_interval_s = scene_interval,
        "source health prober started"
    );
    let stop_job = stop.clone();
    Ok(Some(supervise(
        "source health prober",
        stop,
        Backoff::default(),
        move || {
            let (prober, targets, stop) = (prober.clone(), targets.clone(), stop_job.clone());
            async move { prober.run(targets, stopped(stop)).await }
        },
    )))
}

/// The alarm dispatcher (outbox → webhook, obs, MQTT) and the task worker.
pub fn worker(
    storage: &Storage,
    a: &ServeArgs,
    f: &ServeArgs,
    store: &Store,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let id = crate::worker_id::for_process(&storage.data_dir, a.worker_id.clone().or(f.worker_id.clone()))?;
    let mut sinks_cfg = SinksConfig::with_data_dir(&storage.data_dir);
    sinks_cfg.webhook_timeout = Duration::from_secs(pick!(a, f, webhook_timeout, 10).max(1));
    sinks_cfg.webhook_max_redirects = pick!(a, f, webhook_max_redirects, 0).min(20);
    sinks_cfg.obs = obs_backend(storage, a, f)?;
    sinks_cfg.egress = crate::settings::security(&storage.data_dir, a, f)?.egress;
    sinks_cfg.secrets = Some(crate::master_key::load(&storage.data_dir)?);
    if let Some(url) = a.mqtt_url.clone().or(f.mqtt_url.clone()) {
        sinks_cfg.mqtt = Some(vigil_sinks::mqtt::MqttConfig {
            url,
            topic_prefix: pick!(a, f, mqtt_topic_prefix, String::new()),
            topic_pattern: pick!(
                a,
                f,
                mqtt_topic_pattern,
                vigil_sinks::dis_topic::DEFAULT_MQTT_PATTERN.to_string()
            ),
            ca_file: a.mqtt_ca_file.clone().or(f.mqtt_ca_file.clone()),
            ack_timeout: Duration::from_secs(10),
        });
    }
    if let Some(brokers) = a.kafka_brokers.clone().or(f.kafka_brokers.clone()) {
        sinks_cfg.kafka = Some(vigil_sinks::kafka::KafkaConfig {
            brokers: brokers
                .split(',')
                .map(|b| b.trim().to_string())
                .filter(|b| !b.is_empty())
                .collect(),
            topic_prefix: pick!(a, f, kafka_topic_prefix, String::new()),
            topic_pattern: pick!(
                a,
                f,
                kafka_topic_pattern,
                vigil_sinks::dis_topic::DEFAULT_KAFKA_PATTERN.to_string()
            ),
            ack_timeout: Duration::from_secs(10),
        });
    }
    let sinks = Sinks::from_config(&sinks_cfg).context("configuring alarm outputs")?;
    let dispatcher = Dispatcher::new(
        store.clone(),
        sinks,
        DispatcherConfig {
            worker_id: format!("{id}/{}", std::process::id()),
            per_project: pick!(a, f, delivery_slots_per_project, 4).max(1),
            ..Default::default()
        },
    );
    let mut jobs = vec![supervise("alarm dispatcher", stop.clone(), Backoff::default(), {
        let (dispatcher, stop) = (dispatcher.clone(), stop.clone());
        move || dispatcher.clone().run(stopped(stop.clone()))
    })];
    // Hourly: event-center alarms and undeliverable outbox rows past their retention.
    let retention_cfg = vigil_sinks::retention::RetentionConfig {
        alarm_days: pick!(a, f, alarm_retention_days, 30),
        outbox_days: pick!(a, f, outbox_retention_days, 7),
        ..Default::default()
    };
    jobs.push(supervise("alarm retention", stop.clone(), Backoff::default(), {
        let (store, stop) = (store.clone(), stop.clone());
        move || vigil_sinks::retention::Retention::new(store.clone(), retention_cfg).run(stopped(stop.clone()))
    }));

    let models = vigil_vision::ModelDir::resolve(storage.model_dir.as_deref(), Some(&storage.data_dir))
        .context("resolving the model directory (see `vigil models list`)")?;
    let fps = pick!(a, f, analysis_fps, 5.0);
    if !(0.1..=60.0).contains(&fps) {
        anyhow::bail!("analysis_fps must be between 0.1 and 60");
    }
    let wake_dispatcher = dispatcher.clone();
    vigil_worker::packages::set_cache_dir(storage.data_dir.join("packages"));
    let pipelines = Arc::new(TaskPipelines {
        store: store.clone(),
        runtime: tokio::runtime::Handle::current(),
        media: media_config(storage, a, f)?,
        analysis: AnalysisSettings {
            models,
            backend: vigil_vision::BackendConfig::default(),
            fps,
        },
        wake: Some(Arc::new(move || wake_dispatcher.wake())),
        replay_files_realtime: pick!(a, f, replay_realtime, false),
        secrets: Some(crate::master_key::load(&storage.data_dir)?),
        stall_restart: Duration::from_secs(pick!(a, f, stall_restart_secs, 30).max(1)),
        hub: Default::default(),
    });
    let config = WorkerConfig {
        id: id.clone(),
        lease_ttl: Duration::from_secs(pick!(a, f, lease_ttl, 15).max(3)),
        tick: Duration::from_secs(2),
        max_tasks: pick!(a, f, max_tasks, 64).max(1),
        claims_per_tick: 1,
        clock: vigil_worker::WallClock::system(),
        node_name: a.node_name.clone().or(f.node_name.clone()).unwrap_or_default(),
        pools: vigil_worker::node::parse_pools(&a.pools.clone().or(f.pools.clone()).unwrap_or_default()),
    };
    if let Some(bad) = config
        .pools
        .iter()
        .find(|p| !vigil_store::edge_pools::valid_pool_name(p))
    {
        anyhow::bail!(
            "--pool {bad:?}: a pool name has 4-32 characters a-z, 0-9 and '-', starts with a letter and ends with a letter or digit"
        );
    }
    jobs.push(supervise("task worker", stop.clone(), Backoff::default(), {
        let store = store.clone();
        // A restarted worker keeps its id: it resumes the leases of the one that died.
        move || Worker::new(store.clone(), Arc::new(pipelines.clone()), config.clone()).run(stop.clone())
    }));
    tracing::info!(worker = %id, "task worker and alarm dispatcher started");
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(items: &[&str]) -> ServeArgs {
        ServeArgs {
            quality_threshold: Some(items.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn quality_thresholds_are_set_by_name_and_validated() {
        let name = vigil_media::QualityThresholds::NAMES[0];
        let th = quality_thresholds(&args(&[&format!(" {name} = 7.5 ")]), &ServeArgs::default()).unwrap();
        assert_ne!(th, vigil_media::QualityThresholds::default());
        let mut want = vigil_media::QualityThresholds::default();
        want.set(name, 7.5).unwrap();
        assert_eq!(th, want);
        // The flag wins over the file.
        let file = args(&[&format!("{name}=1")]);
        assert_eq!(
            quality_thresholds(&args(&[&format!("{name}=7.5")]), &file).unwrap(),
            want
        );
        assert_eq!(
            quality_thresholds(&ServeArgs::default(), &ServeArgs::default()).unwrap(),
            vigil_media::QualityThresholds::default()
        );
        let e = quality_thresholds(&args(&["no_such_threshold=1"]), &ServeArgs::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("no_such_threshold") && e.contains(name), "{e}");
        let e = quality_thresholds(&args(&[&format!("{name}=abc")]), &ServeArgs::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a number"), "{e}");
        assert!(quality_thresholds(&args(&["novalue"]), &ServeArgs::default()).is_err());
    }
}
