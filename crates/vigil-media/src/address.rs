//! The gate every stream address passes before anything is opened or dialled, whether a
//! tenant configured it or a RESTful endpoint answered with it: the API's own rule for stream
//! addresses (`vigil_core::video_source::check_stream_url`), the media roots for local files,
//! and the egress policy for every address a host name resolves to.
//!
//! Limit: libavformat and retina resolve the host name again when they connect, so a name whose
//! DNS answer changes between our check and their connect (DNS rebinding) is not caught here;
//! deployments that must rule that out deny internal ranges at the network level too, or
//! allow only literal camera addresses (docs/security.md).

use std::net::{IpAddr, ToSocketAddrs};
use std::path::PathBuf;

use crate::error::{ErrorKind, MediaError, Result};
use crate::spec::{redact_url, MediaConfig};

/// Where an allowed address leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A local regular file (canonical path when media roots apply).
    Local(PathBuf),
    /// A network stream; `scheme` is lower case.
    Network { url: url::Url, scheme: String },
}

fn refused(addr: &str, why: impl std::fmt::Display) -> MediaError {
    MediaError::new(
        ErrorKind::Refused,
        format!("address {} refused: {why}", redact_url(addr)),
    )
}

/// Checks `addr` and tells what it leads to. Bare paths are local files.
pub fn check(addr: &str, config: &MediaConfig) -> Result<Target> {
    let addr = addr.trim();
    if addr.is_empty() {
        return Err(MediaError::new(ErrorKind::InvalidSource, "empty address"));
    }
    let parsed = match url::Url::parse(addr) {
        Ok(u) => u,
        // No scheme at all: a path on this machine (only `vigil analyze` and tests give these).
        Err(url::ParseError::RelativeUrlWithoutBase) if !addr.contains("://") => {
            return local(PathBuf::from(addr), config);
        }
        Err(e) => return Err(refused(addr, e)),
    };
    vigil_core::video_source::check_stream_url("url_address", addr).map_err(|e| refused(addr, e.message))?;
    let scheme = parsed.scheme().to_ascii_lowercase();
    if scheme == "file" {
        if parsed.host_str().is_some_and(|h| !h.is_empty() && h != "localhost") {
            return Err(refused(addr, "file URL names a remote host"));
        }
        let path = parsed.to_file_path().map_err(|_| refused(addr, "not a file path"))?;
        return local(path, config);
    }
    let host = parsed
        .host()
        .map(|h| h.to_string())
        .filter(|h| !h.is_empty())
        .ok_or_else(|| MediaError::new(ErrorKind::InvalidSource, format!("{}: no host", redact_url(addr))))?;
    let port = parsed.port_or_known_default().unwrap_or(match scheme.as_str() {
        "rtsp" => 554,
        "rtsps" => 322,
        "rtmp" => 1935,
        _ => 80,
    });
    check_egress(&host, port, config)?;
    Ok(Target::Network { url: parsed, scheme })
}

fn local(path: PathBuf, config: &MediaConfig) -> Result<Target> {
    match &config.media_roots {
        Some(roots) => crate::media_roots::confine(&path, roots).map(Target::Local),
        // Unrestricted (the operator's `vigil analyze`).
        None => Ok(Target::Local(path)),
    }
}

/// Resolves `host` and checks the name and every address against the egress policy. Literal
/// addresses are checked without a lookup.
pub fn check_egress(host: &str, port: u16, config: &MediaConfig) -> Result<()> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let ips: Vec<IpAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => {
            // Refuse a denied name before it is even looked up.
            config
                .egress
                .check(bare, None)
                .map_err(|e| MediaError::new(ErrorKind::Refused, e.to_string()))?;
            (bare, port)
                .to_socket_addrs()
                .map_err(|e| MediaError::new(ErrorKind::Unreachable, format!("resolving {bare}: {e}")))?
                .map(|a| a.ip())
                .collect()
        }
    };
    if ips.is_empty() {
        return Err(MediaError::new(
            ErrorKind::Unreachable,
            format!("{bare} has no address"),
        ));
    }
    config
        .egress
        .check_resolved(bare, &ips)
        .map_err(|e| MediaError::new(ErrorKind::Refused, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_foreign_schemes_metadata_and_files_outside_roots() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.mp4"), b"x").expect("write");
        let cfg = MediaConfig {
            media_roots: Some(vec![dir.path().to_path_buf()]),
            ..MediaConfig::default()
        };
        let kind = |a: &str| check(a, &cfg).err().map(|e| e.kind());
        for bad in [
            "concat:/etc/passwd|/etc/passwd",
            "subfile,,start,0,end,2,,:/etc/hostname",
            "gopher://127.0.0.1:6379/_PING",
            "file:///etc/passwd",
            "/etc/passwd",
            "data:text/plain,hello",
            "unix:///run/x.sock",
            "ftp://127.0.0.1/a",
            "rtsp://169.254.169.254/x",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::ffff:169.254.169.254]/",
            "rtsp://0.0.0.0:554/x",
        ] {
            assert_eq!(kind(bad), Some(ErrorKind::Refused), "{bad}");
        }
        let inside = format!("file://{}/a.mp4", dir.path().display());
        assert!(matches!(check(&inside, &cfg), Ok(Target::Local(_))));
        assert!(matches!(
            check("rtsp://127.0.0.1:8554/cam", &cfg),
            Ok(Target::Network { ref scheme, .. }) if scheme == "rtsp"
        ));
        assert!(matches!(
            check("http://localhost:9/a.mp4", &cfg),
            Ok(Target::Network { .. })
        ));
        // Unrestricted roots (vigil analyze): local files anywhere, still no foreign protocol.
        let open = MediaConfig::default();
        assert!(matches!(check("/etc/passwd", &open), Ok(Target::Local(_))));
        assert_eq!(
            check("concat:/a|/b", &open).err().map(|e| e.kind()),
            Some(ErrorKind::Refused)
        );
    }
}
