//! Object storage sources (`obs` input: bucket + object path) through `object_store`. Every
//! project reads under its own key prefix (`vigil_core::object_storage::project_key`).
//!
//! With the local backend an object is the file `<root>/<bucket>/<path>`, read in place. With
//! an S3-compatible backend (Huawei OBS, MinIO, AWS) the object's existence is checked with a
//! HEAD request and the video is streamed by libavformat from a presigned URL, so no copy is
//! written to disk.

use std::path::PathBuf;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjPath;
use object_store::signer::Signer;
use object_store::ObjectStore;

use super::local_runtime;
use crate::error::{ErrorKind, MediaError, Result};
use crate::spec::{invalid, MediaConfig, ObsBackend};
use vigil_core::object_storage::project_key;

/// Validity of presigned URLs (long enough for a long file to be read through).
const PRESIGN_VALIDITY: Duration = Duration::from_secs(24 * 3600);

/// Where libavformat reads an object from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Presigned(String),
}

/// Locates object `path` of `bucket` for project `project`: the object key is
/// `project_key(project, path)`, so a tenant reads only objects under its own project prefix.
/// Missing objects are `NotFound`; `..` segments are refused.
pub fn locate(project: &str, bucket: &str, path: &str, config: &MediaConfig) -> Result<Location> {
    let valid_bucket = !bucket.is_empty()
        && bucket.len() <= 63
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !bucket.contains("..");
    if !valid_bucket {
        return Err(invalid(format!("bad bucket name {bucket:?}")));
    }
    if path.split(['/', '\\']).any(|seg| seg == ".." || seg == ".") {
        return Err(invalid(format!(
            "bad object path {path:?}: . and .. segments are not allowed"
        )));
    }
    if !vigil_core::ids::is_project_id(project) {
        return Err(invalid(format!("bad project id {project:?}")));
    }
    if path.trim_start_matches('/').is_empty() {
        return Err(invalid("empty object path"));
    }
    let full = project_key(project, path);
    let key = ObjPath::parse(&full).map_err(|e| invalid(format!("bad object path {path:?}: {e}")))?;
    let rt = local_runtime()?;
    match &config.obs {
        ObsBackend::Local { root } => {
            let store = LocalFileSystem::new_with_prefix(root.join(bucket)).map_err(|e| {
                MediaError::new(
                    ErrorKind::NotFound,
                    format!("obs bucket {bucket} under {}: {e}", root.display()),
                )
            })?;
            rt.block_on(store.head(&key)).map_err(|e| map_obs(bucket, path, e))?;
            let file = store.path_to_filesystem(&key).map_err(|e| map_obs(bucket, path, e))?;
            Ok(Location::File(file))
        }
        ObsBackend::S3(s3) => {
            let store = AmazonS3Builder::new()
                .with_endpoint(&s3.endpoint)
                .with_region(&s3.region)
                .with_bucket_name(bucket)
                .with_access_key_id(&s3.access_key_id)
                .with_secret_access_key(&s3.secret_access_key)
                .with_allow_http(s3.allow_http())
                .with_virtual_hosted_style_request(false)
                .build()
                .map_err(|e| invalid(format!("obs backend: {e}")))?;
            let url = rt.block_on(async {
                let limit = config.open_timeout;
                tokio::time::timeout(limit, store.head(&key))
                    .await
                    .map_err(|_| {
                        MediaError::new(ErrorKind::Unreachable, format!("obs endpoint {}: timeout", s3.endpoint))
                    })?
                    .map_err(|e| map_obs(bucket, path, e))?;
                store
                    .signed_url(reqwest::Method::GET, &key, PRESIGN_VALIDITY)
                    .await
                    .map_err(|e| map_obs(bucket, path, e))
            })?;
            Ok(Location::Presigned(url.to_string()))
        }
    }
}

fn map_obs(bucket: &str, path: &str, e: object_store::Error) -> MediaError {
    let kind = match &e {
        object_store::Error::NotFound { .. } => ErrorKind::NotFound,
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            ErrorKind::AuthFailed
        }
        object_store::Error::InvalidPath { .. } => ErrorKind::InvalidSource,
        _ => ErrorKind::Unreachable,
    };
    MediaError::new(kind, format!("obs object {bucket}/{path}: {e}"))
}
