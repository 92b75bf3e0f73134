//! `output.obs`: each alarm becomes objects under the task's bucket, inside its project's prefix
//! (`vigil_core::object_storage::project_key`): `{project_id}/{path}/{task_id}/{YYYY-MM-DD}/
//! {message_id}.jpg` (the picture, when there is one) and then `….json` (the envelope without
//! `image_base64`); the date is the alarm's UTC day. Writing the JSON last means a reader that
//! sees it finds the picture too. A retry rewrites the same keys. A tenant therefore writes only
//! under its own prefix: `.`/`..` segments and bad bucket names are refused here as at the API.
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
use vigil_core::object_storage::project_key;
use vigil_core::task_io::{bucket_ok, obs_path_ok};

use crate::{AlarmPayload, DeliverFuture, ObsConfig, Sink, SinkError};

pub struct ObsSink {
    config: ObsConfig,
    /// S3 clients by bucket; the local store serves every bucket.
    stores: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
}

/// Object keys of one alarm of `project_id`, inside the bucket: (picture, envelope). Refuses
/// settings that could leave the project's prefix.
pub fn object_keys(
    project_id: &str,
    out: &ObsOutput,
    task_id: &str,
    timestamp: u64,
    message_id: &str,
) -> Result<(Path, Path), SinkError> {
    let segment_ok = |s: &str| !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\']);
    if !segment_ok(project_id) || !segment_ok(task_id) || !segment_ok(message_id) {
        return Err(SinkError::Permanent("alarm ids cannot name an object".into()));
    }
    if !bucket_ok(&out.bucket) || !obs_path_ok(&out.path) || out.path.starts_with('/') {
        return Err(SinkError::Permanent(
            "obs output: invalid bucket or path (no '.'/'..' segments, relative paths only)".into(),
        ));
    }
    let day = chrono::DateTime::from_timestamp(i64::try_from(timestamp).unwrap_or(0), 0)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string();
    let dir: Vec<PathPart<'static>> = project_key(project_id, &out.path)
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
    Ok((key("jpg"), key("json")))
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
        let (jpg, json) = object_keys(
            &p.project_id,
            &out,
            &p.alarm.task_id,
            p.alarm.timestamp,
            &p.alarm.message_id,
        )?;
        let (store, prefix) = self.store_for(&out.bucket)?;
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
            bucket: "bkt".into(),
            path: "alarms/site-1/".into(),
        };
        let (jpg, json) = object_keys("p1", &out, "t1", 1618299313, "C8F6").unwrap();
        assert_eq!(jpg.as_ref(), "p1/alarms/site-1/t1/2021-04-13/C8F6.jpg");
        assert_eq!(json.as_ref(), "p1/alarms/site-1/t1/2021-04-13/C8F6.json");
        for path in ["../x", "a/../../x", "/abs", "a/./b"] {
            let hostile = ObsOutput {
                bucket: "bkt".into(),
                path: path.into(),
            };
            assert!(object_keys("p1", &hostile, "t", 0, "m").is_err(), "{path}");
        }
        let bad_bucket = ObsOutput {
            bucket: "..".into(),
            path: String::new(),
        };
        assert!(object_keys("p1", &bad_bucket, "t", 0, "m").is_err());
        assert!(object_keys("..", &out, "t", 0, "m").is_err());
    }
}
