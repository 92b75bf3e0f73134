//! `output.obs`: each alarm becomes objects under the task's bucket and path,
//! `{path}/{task_id}/{YYYY-MM-DD}/{message_id}.jpg` (the picture, when there is one) and then
//! `….json` (the envelope without `image_base64`); the date is the alarm's UTC day. Writing the
//! JSON last means a reader that sees it finds the picture too. A retry rewrites the same keys.
//!
//! The server decides where buckets live: a local directory (`root/{bucket}/…`, the default) or
//! an S3-compatible endpoint (one `object_store` client per bucket, created on first use).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::{Path, PathPart};
use object_store::{ObjectStore, PutPayload};
use vigil_core::alarm::ObsOutput;

use crate::{AlarmPayload, DeliverFuture, ObsConfig, Sink, SinkError};

pub struct ObsSink {
    config: ObsConfig,
    /// S3 clients by bucket; the local store serves every bucket.
    stores: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
}

/// Object keys of one alarm: (picture, envelope).
pub fn object_keys(out: &ObsOutput, task_id: &str, timestamp: u64, message_id: &str) -> (Path, Path) {
    let day = chrono::DateTime::from_timestamp(i64::try_from(timestamp).unwrap_or(0), 0)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string();
    let dir: Vec<PathPart<'static>> = out
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| PathPart::from(s.to_string()))
        .chain([PathPart::from(task_id.to_string()), PathPart::from(day)])
        .collect();
    let key = |ext: &str| {
        dir.iter()
            .cloned()
            .chain([PathPart::from(format!("{message_id}.{ext}"))])
            .collect::<Path>()
    };
    (key("jpg"), key("json"))
}

impl ObsSink {
    pub fn new(config: ObsConfig) -> Self {
        Self {
            config,
            stores: Mutex::new(HashMap::new()),
        }
    }

    /// The store holding `bucket`, and the prefix of the bucket inside it.
    fn store_for(&self, bucket: &str) -> Result<(Arc<dyn ObjectStore>, Option<PathPart<'static>>), SinkError> {
        let mut stores = self
            .stores
            .lock()
            .map_err(|_| SinkError::Retryable("obs client cache poisoned".into()))?;
        match &self.config {
            ObsConfig::Local { root } => {
                let store = match stores.get("") {
                    Some(s) => s.clone(),
                    None => {
                        let s: Arc<dyn ObjectStore> = Arc::new(local_store(root)?);
                        stores.insert(String::new(), s.clone());
                        s
                    }
                };
                Ok((store, Some(PathPart::from(bucket.to_string()))))
            }
            ObsConfig::S3(s3) => {
                if let Some(s) = stores.get(bucket) {
                    return Ok((s.clone(), None));
                }
                let s: Arc<dyn ObjectStore> = Arc::new(
                    AmazonS3Builder::new()
                        .with_endpoint(&s3.endpoint)
                        .with_region(&s3.region)
                        .with_bucket_name(bucket)
                        .with_access_key_id(&s3.access_key_id)
                        .with_secret_access_key(&s3.secret_access_key)
                        .with_allow_http(s3.allow_http())
                        .with_virtual_hosted_style_request(false)
                        .build()
                        .map_err(|e| SinkError::Permanent(format!("obs bucket {bucket:?}: {e}")))?,
                );
                stores.insert(bucket.to_string(), s.clone());
                Ok((s, None))
            }
        }
    }

    async fn write(&self, p: &AlarmPayload) -> Result<(), SinkError> {
        let out: ObsOutput = p.settings()?;
        let (store, prefix) = self.store_for(&out.bucket)?;
        let (jpg, json) = object_keys(&out, &p.alarm.task_id, p.alarm.timestamp, &p.alarm.message_id);
        let place = |key: Path| match &prefix {
            Some(b) => std::iter::once(b.clone()).chain(key.parts()).collect::<Path>(),
            None => key,
        };
        if let Some(image) = p.alarm.image_jpeg() {
            let bytes = image.map_err(|e| SinkError::Permanent(format!("alarm picture is not base64: {e}")))?;
            put(&*store, &place(jpg), bytes).await?;
        }
        put(&*store, &place(json), p.alarm.without_image().to_json().into_bytes()).await
    }
}

fn local_store(root: &std::path::Path) -> Result<LocalFileSystem, SinkError> {
    std::fs::create_dir_all(root)
        .map_err(|e| SinkError::Retryable(format!("cannot create obs root {}: {e}", root.display())))?;
    LocalFileSystem::new_with_prefix(root)
        .map_err(|e| SinkError::Retryable(format!("obs root {}: {e}", root.display())))
}

async fn put(store: &dyn ObjectStore, key: &Path, bytes: Vec<u8>) -> Result<(), SinkError> {
    store
        .put(key, PutPayload::from(bytes))
        .await
        .map(|_| ())
        .map_err(|e| SinkError::Retryable(format!("obs write of {key} failed: {e}")))
}

impl Sink for ObsSink {
    fn deliver<'a>(&'a self, payload: &'a AlarmPayload) -> DeliverFuture<'a> {
        Box::pin(self.write(payload))
    }
}

/// Where local buckets live by default: `<data-dir>/obs`.
pub fn default_root(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("obs")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_documented_layout() {
        let out = ObsOutput {
            bucket: "b".into(),
            path: "alarms/site-1/".into(),
        };
        let (jpg, json) = object_keys(&out, "t1", 1618299313, "C8F6");
        assert_eq!(jpg.as_ref(), "alarms/site-1/t1/2021-04-13/C8F6.jpg");
        assert_eq!(json.as_ref(), "alarms/site-1/t1/2021-04-13/C8F6.json");
        let hostile = ObsOutput {
            bucket: "b".into(),
            path: "../x".into(),
        };
        let (_, json) = object_keys(&hostile, "t", 0, "m");
        assert!(!json.as_ref().split('/').any(|p| p == ".."), "{json}");
    }
}
