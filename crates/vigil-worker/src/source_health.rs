//! The Video Center's source health: the media prober over the store's registered sources,
//! writing status, stream path, snapshot and quality labels back.

use vigil_media::{ProbeReport, ProbeTargets, SourceSpec};
use vigil_store::video_sources::SourceHealth;
use vigil_store::Store;

pub struct StoreTargets {
    pub store: Store,
}

impl ProbeTargets for StoreTargets {
    async fn targets(&self) -> Vec<(String, SourceSpec)> {
        match self.store.all_sources().await {
            Ok(all) => all
                .iter()
                .filter_map(|s| crate::source_spec::from_source(s).ok().map(|spec| (s.id.clone(), spec)))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot list sources to probe");
                Vec::new()
            }
        }
    }

    async fn report(&self, id: String, r: ProbeReport) {
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
