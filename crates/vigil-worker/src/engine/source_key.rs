//! Which tasks share a reader: the same video source or the same normalised address.

use vigil_media::SourceSpec;

/// The key under which a source's reader is shared. Credentials are part of it (two logins to
/// one camera may see different streams); it is never logged.
pub fn source_key(spec: &SourceSpec) -> String {
    match spec {
        SourceSpec::Url { url } if !spec.is_live() => {
            // A local file: the canonical path, so `./a.mp4` and `/data/a.mp4` share.
            let path = url.strip_prefix("file://").unwrap_or(url);
            match std::fs::canonicalize(path) {
                Ok(p) => format!("file:{}", p.display()),
                Err(_) => format!("url:{}", url.trim()),
            }
        }
        SourceSpec::Url { url } => format!("url:{}", normalise_url(url)),
        other => format!("{other:?}"),
    }
}

/// Scheme and host are case-insensitive; a trailing slash changes nothing.
fn normalise_url(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            // User info (a password) keeps its case; the host does not.
            let (user, host) = match authority.rsplit_once('@') {
                Some((u, h)) => (format!("{u}@"), h),
                None => (String::new(), authority),
            };
            format!(
                "{}://{user}{}{path}",
                scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase()
            )
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_camera_same_key() {
        let a = source_key(&SourceSpec::url("RTMP://Cam.local/live/1/"));
        let b = source_key(&SourceSpec::url("rtmp://cam.local/live/1"));
        assert_eq!(a, b);
        assert_ne!(a, source_key(&SourceSpec::url("rtmp://cam.local/live/2")));
    }
}
