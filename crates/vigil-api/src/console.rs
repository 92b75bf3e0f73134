//! The web console at `/console/`: the files of `console/dist`, embedded at build time
//! (build.rs). Unknown paths under `/console/` get `index.html` (the console routes by URL
//! hash, so this only serves old bookmarks). No auth here: the console signs in through the API.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

include!(concat!(env!("OUT_DIR"), "/console_files.rs"));

/// Shown when the binary was built before the console (`cargo build` without Node.js).
const NOT_BUILT: &str = "<!doctype html><title>Vigil console</title><h1>The console is not built into this binary</h1>\
<p>Run <code>scripts/build_console.sh</code> (needs Node.js and npm), then rebuild Vigil \
(<code>cargo build --release</code>). <code>scripts/run.sh</code> does both.</p>";

/// Everything the console loads comes from this origin; pictures are blob: URLs made from
/// authenticated fetches.
const CSP: &str = "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; \
connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn file(path: &str) -> Option<&'static [u8]> {
    CONSOLE_FILES.iter().find(|(p, _)| *p == path).map(|(_, b)| *b)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// A weak validator from the bytes: browsers revalidate (`no-cache`) and get 304 until the
/// binary changes.
fn etag(bytes: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    format!("W/\"{:016x}\"", h.finish())
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let (path, bytes) = match file(path) {
        Some(b) => (path, b),
        None => match file("index.html") {
            Some(b) => ("index.html", b),
            None => {
                return (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    NOT_BUILT,
                )
                    .into_response()
            }
        },
    };
    let tag = etag(bytes);
    let mut res = if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == tag.as_bytes())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type(path))], bytes).into_response()
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    res
}

/// `GET /console` → `/console/`.
pub async fn redirect() -> Redirect {
    Redirect::permanent("/console/")
}

/// `GET /console/`.
pub async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// `GET /console/{*path}`.
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

/// Whether the console was built into this binary (logged at start).
pub fn is_built() -> bool {
    file("index.html").is_some()
}
