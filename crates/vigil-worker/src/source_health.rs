//! The Video Center's source health: the media prober over the store's registered sources,
//! writing status, stream path, snapshot, quality labels and scene recommendations back, and
//! raising a `VIDEO_QUALITY_CHANGED` alarm on the tasks of a source whose labels changed. Why a
//! probe failed goes to the log only (tenants see the status, not error texts that could echo
//! RESTful answers, paths or internal addresses).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, UNIX_EPOCH};

use serde_json::{json, Map};
use vigil_core::alarm::Alarm;
use vigil_core::catalog::event_type::VIDEO_QUALITY_CHANGED;
use vigil_core::catalog::Placement;
use vigil_core::secret_box::SecretBox;
use vigil_core::task_io::parse_output;
use vigil_media::{ProbeReport, ProbeTarget, ProbeTargets, QualityLabel, SourceStatus};
use vigil_store::video_sources::SourceHealth;
use vigil_store::Store;

use crate::scene_recommend::SceneRecommender;

/// Labels under which the picture shows nothing to recommend from (the last recommendation
/// is kept until the view is usable again).
const UNUSABLE_VIEW: [QualityLabel; 5] = [
    QualityLabel::BlackScreen,
    QualityLabel::GrayScreen,
    QualityLabel::SnowNoise,
    QualityLabel::ScreenSplash,
    QualityLabel::Occlude,
];

/// Labels after which a source's scene is looked at again at once.
const SCENE_CHANGED: [QualityLabel; 2] = [QualityLabel::SceneUpheaval, QualityLabel::ScreenMovement];

/// Default time after which a source's scene recommendation is refreshed.
pub const DEFAULT_SCENE_INTERVAL: Duration = Duration::from_secs(6 * 3600);

/// What this process remembers between probes (lost on restart: the store's values take over).
#[derive(Default)]
struct Memory {
    /// Catalogue placement matching each listed source's access type.
    placement: HashMap<String, Placement>,
    /// When a source's scene was last recommended.
    recommended_at: HashMap<String, Instant>,
    /// The labels last announced (alarmed) per source; the store's labels before the first.
    announced: HashMap<String, Vec<String>>,
}

pub struct StoreTargets {
    pub store: Store,
    /// Opens the sealed secrets of stored sources (`None`: stored as plain text, tests).
    pub secrets: Option<SecretBox>,
    /// Scene recommendations (`None`: off).
    pub scenes: Option<Arc<SceneRecommender>>,
    /// A source's recommendation is refreshed after this long (and after its scene changed).
    pub scene_interval: Duration,
    /// Called after quality alarms were queued (wakes the alarm dispatcher).
    pub wake: Option<Arc<dyn Fn() + Send + Sync>>,
    memory: Mutex<Memory>,
}

impl StoreTargets {
    /// Probe targets over `store`, without scene recommendations.
    pub fn new(store: Store, secrets: Option<SecretBox>) -> Self {
        StoreTargets {
            store,
            secrets,
            scenes: None,
            scene_interval: DEFAULT_SCENE_INTERVAL,
            wake: None,
            memory: Mutex::default(),
        }
    }

    fn memory(&self) -> MutexGuard<'_, Memory> {
        // Plain maps, replaced entry by entry: usable after a panic elsewhere.
        self.memory.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// New scene tags for this report, when they are due; `None` keeps the stored ones.
    async fn scene_tags(&self, id: &str, r: &ProbeReport) -> Option<Vec<String>> {
        let rec = self.scenes.clone()?;
        if r.samples.0.is_empty() || r.quality.iter().any(|q| UNUSABLE_VIEW.contains(q)) {
            return None;
        }
        let changed = r.quality.iter().any(|q| SCENE_CHANGED.contains(q));
        let placement = {
            let m = self.memory();
            let due = changed
                || m.recommended_at
                    .get(id)
                    .is_none_or(|t| t.elapsed() >= self.scene_interval);
            if !due {
                return None;
            }
            m.placement.get(id).copied().unwrap_or(Placement::Cloud)
        };
        let frames = r.samples.0.clone();
        let tags = tokio::task::spawn_blocking(move || rec.recommend(&frames, placement))
            .await
            .ok()
            .flatten()?;
        self.memory().recommended_at.insert(id.to_string(), Instant::now());
        Some(tags)
    }

    /// Raises `VIDEO_QUALITY_CHANGED` on every live task of the source when its labels differ
    /// from the ones last announced (`stored`: the store's labels before this probe).
    async fn announce(&self, id: &str, stored: Vec<String>, r: &ProbeReport) {
        let current: Vec<String> = r.quality.iter().map(|q| q.as_str().to_string()).collect();
        let before = self.memory().announced.get(id).cloned().unwrap_or(stored);
        let added: Vec<&String> = current.iter().filter(|l| !before.contains(l)).collect();
        let removed: Vec<&String> = before.iter().filter(|l| !current.contains(l)).collect();
        if added.is_empty() && removed.is_empty() {
            self.memory().announced.insert(id.to_string(), current);
            return;
        }
        let tasks = match self.store.live_tasks_of_source(id).await {
            Ok(t) => t,
            Err(e) => {
                // Not marked as announced: the next probe tries again.
                tracing::warn!(video_source_id = %id, error = %e, "cannot list the tasks of a source");
                return;
            }
        };
        let timestamp = r.probed_at.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let data = json!({
            "video_source_id": id,
            "video_source_quality": current,
            "added": added,
            "removed": removed,
        });
        let image = r.image_base64();
        let mut queued = 0;
        for t in &tasks {
            let outputs = match serde_json::from_str(&t.output).ok().and_then(|v| parse_output(&v).ok()) {
                Some((o, _)) => o,
                None => {
                    tracing::warn!(task_id = %t.id, "stored output is invalid; no quality alarm for this task");
                    continue;
                }
            };
            let alarm = Alarm {
                event_type: VIDEO_QUALITY_CHANGED,
                task_id: t.id.clone(),
                stream_id: id.to_string(),
                timestamp,
                message_id: Alarm::new_message_id(),
                image_base64: image.clone(),
                alarm_type: Some(if added.is_empty() { 1 } else { 0 }),
                data: data.clone(),
                extra: Map::new(),
            };
            match self
                .store
                .enqueue_alarm(&alarm, &t.project_id, Some(id), &outputs)
                .await
            {
                Ok(_) => queued += 1,
                Err(e) => tracing::warn!(task_id = %t.id, error = %e, "cannot queue a quality alarm"),
            }
        }
        tracing::info!(video_source_id = %id, ?current, tasks = queued, "video source quality changed");
        self.memory().announced.insert(id.to_string(), current);
        if queued > 0 {
            if let Some(w) = &self.wake {
                w();
            }
        }
    }
}

impl ProbeTargets for StoreTargets {
    async fn targets(&self) -> Vec<ProbeTarget> {
        let all = match self.store.all_sources().await {
            Ok(all) => all,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list sources to probe");
                return Vec::new();
            }
        };
        {
            let mut m = self.memory();
            m.placement = all
                .iter()
                .map(|s| {
                    let p = if s.access_type == "edge" {
                        Placement::Edge
                    } else {
                        Placement::Cloud
                    };
                    (s.id.clone(), p)
                })
                .collect();
            let Memory {
                placement,
                recommended_at,
                announced,
            } = &mut *m;
            recommended_at.retain(|k, _| placement.contains_key(k));
            announced.retain(|k, _| placement.contains_key(k));
            // A stored recommendation (from before a restart) counts as fresh.
            for s in all.iter().filter(|s| !s.scene_recommend.is_empty()) {
                recommended_at.entry(s.id.clone()).or_insert_with(Instant::now);
            }
        }
        all.iter()
            .filter_map(|s| {
                crate::source_spec::from_source(s, self.secrets.as_ref())
                    .ok()
                    .map(|spec| ProbeTarget {
                        id: s.id.clone(),
                        project: s.project_id.clone(),
                        spec,
                    })
            })
            .collect()
    }

    async fn report(&self, id: String, r: ProbeReport) {
        if let Some(e) = &r.error {
            tracing::warn!(video_source_id = %id, kind = e.kind().as_str(), error = %e, "source probe failed");
        }
        let online = r.status == SourceStatus::Online;
        let scene_recommend = if online { self.scene_tags(&id, &r).await } else { None };
        let health = SourceHealth {
            status: r.status.code() as i64,
            stream_path: r.stream_path.clone(),
            image: r.image_base64(),
            quality: r.quality.iter().map(|q| q.as_str().to_string()).collect(),
            scene_recommend,
        };
        let stored = match self.store.set_source_health(&id, health).await {
            Ok(Some(stored)) => stored,
            // Deleted meanwhile.
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(video_source_id = %id, error = %e, "cannot store probe result");
                return;
            }
        };
        // Only a picture has a quality: an outage is the source's status, not a label change.
        if online {
            self.announce(&id, stored, &r).await;
        }
    }
}
