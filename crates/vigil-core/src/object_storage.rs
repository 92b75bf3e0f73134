//! Where `obs` buckets live. Inputs (videos read from a bucket) and outputs (alarms written to
//! one) share one backend: a local directory by default, or an S3-compatible service.

use std::fmt;
use std::path::PathBuf;

/// An S3-compatible service: Huawei OBS's S3 API, MinIO, Ceph, AWS S3. Buckets must exist.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Endpoint {
    /// Base URL, e.g. `https://obs.example.com` or `http://127.0.0.1:9000`.
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl S3Endpoint {
    /// Plain HTTP is allowed only when the endpoint itself says `http://`.
    pub fn allow_http(&self) -> bool {
        self.endpoint.to_ascii_lowercase().starts_with("http://")
    }
}

// The secret key never reaches a log line.
impl fmt::Debug for S3Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Endpoint")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"******")
            .finish()
    }
}

/// The object-storage backend behind `obs` inputs and outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObsBackend {
    /// Object `key` of `bucket` is the file `<root>/<bucket>/<key>` (keys carry the project
    /// prefix of [`project_key`]).
    Local {
        root: PathBuf,
    },
    S3(S3Endpoint),
}

/// The object key a project's `path` maps to inside a bucket: every project has its own prefix
/// (its id), so a tenant reads and writes only its own objects, on the local root and on S3
/// alike. `path` is taken relative (leading slashes dropped); the caller rejects `..` segments.
pub fn project_key(project_id: &str, path: &str) -> String {
    format!("{project_id}/{}", path.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_masked_and_http_follows_the_endpoint() {
        let e = S3Endpoint {
            endpoint: "HTTP://127.0.0.1:9000".into(),
            region: "us-east-1".into(),
            access_key_id: "AK".into(),
            secret_access_key: "very-secret".into(),
        };
        assert!(e.allow_http());
        assert!(!format!("{e:?}").contains("very-secret"));
        let tls = S3Endpoint {
            endpoint: "https://obs.example.com".into(),
            ..e
        };
        assert!(!tls.allow_http());
    }
}
