//! RESTful sources (VIAS §2.2/§5.3): the stream address is not configured directly but
//! fetched from an HTTP(S) endpoint whose JSON answer holds it at a slash-separated path, e.g.
//! `data/url` in `{"data": {"url": "rtsp://…"}}`. Resolution happens on every (re)connect, so
//! rotating tokens in the address keep working. The endpoint, every name it resolves to and
//! every redirect pass the egress policy; the answer is then opened exactly like a configured
//! address (the same scheme rule, media roots and egress checks).

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use vigil_core::egress::http::{check_url, client_builder, is_denied};

use super::local_runtime;
use crate::clock::CancelToken;
use crate::error::{ErrorKind, MediaError, Result};
use crate::spec::{invalid, parse_url, redact_url, MediaConfig};

/// Largest JSON answer we accept.
const MAX_BODY: usize = 1 << 20;

/// Redirects followed (each one checked against the egress policy).
const MAX_REDIRECTS: usize = 5;

/// GETs `url` and returns the string found at `path` in the JSON answer.
pub fn resolve(
    url: &str,
    headers: &[(String, String)],
    cert_check: bool,
    path: &str,
    config: &MediaConfig,
    cancel: &CancelToken,
) -> Result<String> {
    let parsed = parse_url(url)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid(format!("RESTful source {} must be http(s)", redact_url(url))));
    }
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        // Framing, routing and forwarding headers are not the tenant's to set (as for webhooks).
        if vigil_core::outbound_headers::is_forbidden(k) {
            tracing::warn!(header = %k, "RESTful source: header not sent");
            continue;
        }
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| invalid(format!("bad header name {k:?}")))?;
        let value = HeaderValue::from_str(v).map_err(|_| invalid(format!("bad value for header {k}")))?;
        map.insert(name, value);
    }
    let display = redact_url(url);
    // The egress policy on the first address (literal IPs skip the resolver), on every name
    // the client resolves and on every redirect.
    check_url(&config.egress, &parsed)
        .map_err(|e| MediaError::new(ErrorKind::Refused, format!("RESTful source {display}: {e}")))?;
    let client = client_builder(config.egress.clone(), MAX_REDIRECTS)
        .default_headers(map)
        .danger_accept_invalid_certs(!cert_check)
        .connect_timeout(config.open_timeout)
        .timeout(config.open_timeout)
        .build()
        .map_err(|e| MediaError::new(ErrorKind::Internal, format!("HTTP client: {e}")))?;
    let rt = local_runtime()?;
    let fetch = async {
        let resp = client.get(parsed).send().await.map_err(|e| {
            if is_denied(&e) {
                return MediaError::new(ErrorKind::Refused, format!("RESTful source {display}: {e:?}"));
            }
            if tls_rejected(&e) {
                return MediaError::new(
                    ErrorKind::AuthFailed,
                    format!(
                        "RESTful source {display}: TLS certificate rejected \
                         (cert_check false accepts self-signed certificates)"
                    ),
                );
            }
            let kind = if e.is_timeout() || e.is_connect() {
                ErrorKind::Unreachable
            } else {
                ErrorKind::CorruptData
            };
            MediaError::new(kind, format!("RESTful source {display}: {e}"))
        })?;
        let status = resp.status();
        if !status.is_success() {
            let kind = match status.as_u16() {
                401 | 403 => ErrorKind::AuthFailed,
                404 | 410 => ErrorKind::NotFound,
                _ => ErrorKind::Unreachable,
            };
            return Err(MediaError::new(
                kind,
                format!("RESTful source {display}: HTTP {status}"),
            ));
        }
        let mut body = Vec::new();
        let mut resp = resp;
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| MediaError::new(ErrorKind::Unreachable, format!("RESTful source {display}: {e}")))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BODY {
                return Err(MediaError::new(
                    ErrorKind::CorruptData,
                    format!("RESTful source {display}: answer larger than {MAX_BODY} bytes"),
                ));
            }
        }
        Ok(body)
    };
    let cancelled = async {
        while !cancel.is_cancelled() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let body = rt.block_on(async {
        tokio::select! {
            r = fetch => r,
            _ = cancelled => Err(MediaError::cancelled()),
        }
    })?;
    extract(&body, path).map_err(|m| MediaError::new(ErrorKind::CorruptData, format!("RESTful source {display}: {m}")))
}

/// Whether the request failed because the server's certificate was not trusted.
fn tls_rejected(e: &reqwest::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let text = err.to_string().to_ascii_lowercase();
        if text.contains("certificate") || text.contains("unknownissuer") {
            return true;
        }
        cur = err.source();
    }
    false
}

/// Follows `path` (segments separated by `/`; numeric segments index arrays) in a JSON body
/// and returns the string there.
pub fn extract(body: &[u8], path: &str) -> std::result::Result<String, String> {
    let json: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("answer is not JSON ({e})"))?;
    let mut cur = &json;
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        cur = match cur {
            serde_json::Value::Object(m) => m.get(seg),
            serde_json::Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        }
        .ok_or_else(|| format!("path {path:?} not found in the answer (at {seg:?})"))?;
    }
    match cur {
        serde_json::Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        other => Err(format!(
            "value at {path:?} is not a non-empty string: {}",
            truncate(&other.to_string(), 80)
        )),
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::extract;

    #[test]
    fn follows_paths() {
        let body = br#"{"data":{"streams":[{"url":"rtsp://a/b"}]},"x":1}"#;
        assert_eq!(extract(body, "data/streams/0/url").as_deref(), Ok("rtsp://a/b"));
        assert!(extract(body, "data/missing").is_err());
        assert!(extract(body, "x").is_err());
        assert!(extract(b"\x00\xffgarbage", "a").is_err());
    }
}
