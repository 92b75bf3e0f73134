//! The Video Center's source health: the media prober over the store's registered sources,
//! writing status, stream path, snapshot and quality labels back. Why a probe failed goes to
//! the log only (tenants see the status, not error texts that could echo RESTful answers,
//! paths or internal addresses).

use vigil_core::secret_box::SecretBox;
use vigil_media::{ProbeReport, ProbeTarget, ProbeTargets};
use vigil_store::video_sources::SourceHealth;
use vigil_store::Store;

pub struct StoreTargets {
    pub store: Store,
    /// Opens the sealed secrets of stored sources (`None`: stored as plain text, tests).
    pub secrets: Option<SecretBox>,
}

impl ProbeTargets for StoreTargets {
    async fn targets(&self) -> Vec<ProbeTarget> {
        match self.store.all_sources().await {
            Ok(all) => all
                .iter()
                .filter_map(|s| {
                    crate::source_spec::from_source(s, self.secrets.as_ref())
                        .ok()
                        .map(|spec| ProbeTarget {
                            id: s.id.clone(),
                            project: s.project_id.clone(),
                            spec,
                        })
                })
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot list sources to probe");
                Vec::new()
            }
        }
    }

    async fn report(&self, id: String, r: ProbeReport) {
        if let Some(e) = &r.error {
            tracing::warn!(video_source_id = %id, kind = e.kind().as_str(), error = %e, "source probe failed");
        }
        let health = SourceHealth {
            status: r.status.code() as i64,
            stream_path: r.stream_path.clone(),
            image: r.image_base64(),
            quality: r.quality.iter().map(|q| q.as_str().to_string()).collect(),
        };
        if let Err(e) = self.store.set_source_health(&id, health).await {
            tracing::warn!(video_source_id = %id, error = %e, "cannot store probe result");
        }
    }
}
