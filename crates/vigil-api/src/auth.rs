//! Authentication of every VIAS route: `X-Auth-Token` (tokens issued by `/v3/auth/tokens`) or an
//! AK/SK-signed request. Then the project scope check (403) and the per-project rate limit.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDateTime, Utc};
use sha2::{Digest, Sha256};
use vigil_core::ErrorCode;

use crate::aksk::{self, Authorization, SignInput};
use crate::error::ApiError;
use crate::AppState;

/// Who is calling, once authenticated. Handlers read it from the request extensions.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub user_name: String,
    pub project_id: String,
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Resolves an `X-Auth-Token` to its caller, refusing unknown, revoked and expired tokens. With
/// `remembered_ok` (reads), a token validated in the last seconds is not looked up again
/// ([`crate::token_cache`]).
pub async fn caller_from_token(state: &AppState, token: &str, remembered_ok: bool) -> Result<Caller, ApiError> {
    if token.is_empty() || token.len() > 32_768 {
        return Err(ApiError::unauthorized("the X-Auth-Token is empty or too long"));
    }
    let hash = token_hash(token);
    let now = vigil_store::now_ms();
    if remembered_ok {
        if state.tokens.claim_recheck(now) {
            state.tokens.observe_changes(state.store.auth_changes().await?);
        }
        if let Some(caller) = state.tokens.get(&hash, now) {
            return Ok(caller);
        }
    }
    let revocations = state.tokens.revocations();
    let grant = state
        .store
        .find_token(&hash)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the X-Auth-Token is not valid"))?;
    if grant.revoked {
        return Err(ApiError::unauthorized("the X-Auth-Token has been revoked"));
    }
    if grant.expires_at <= now {
        return Err(ApiError::unauthorized("the X-Auth-Token has expired"));
    }
    let caller = Caller {
        user_id: grant.user_id,
        user_name: grant.user_name,
        project_id: grant.project_id,
    };
    state.tokens.put(&hash, &caller, grant.expires_at, now, revocations);
    Ok(caller)
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// One message for an unknown access key, a wrong signature, a forged body hash and a replay,
/// so that answers do not tell which access keys exist.
const SIGNATURE_MISMATCH: &str = "the request signature does not match";

/// How long after its first use a read (GET/HEAD) may repeat the same signature: identical
/// reads within one second of `X-Sdk-Date` resolution carry identical signatures.
const READ_REPEAT_GRACE_MS: i64 = 2_000;

async fn caller_from_signature(state: &AppState, req: Request) -> Result<(Caller, Request), ApiError> {
    let auth = header(&req, "authorization")
        .and_then(Authorization::parse)
        .ok_or_else(|| ApiError::unauthorized("the Authorization header is not a valid SDK-HMAC-SHA256 header"))?;
    let sdk_date = header(&req, "x-sdk-date")
        .ok_or_else(|| ApiError::unauthorized("AK/SK requests need an X-Sdk-Date header"))?
        .to_string();
    let signed_at = NaiveDateTime::parse_from_str(&sdk_date, aksk::DATE_FORMAT)
        .map_err(|_| ApiError::unauthorized("X-Sdk-Date must look like 20260101T120000Z"))?
        .and_utc();
    let now = Utc::now();
    let max_skew = state.config.max_clock_skew.as_secs();
    let skew = (now - signed_at).num_seconds().unsigned_abs();
    if skew > max_skew {
        return Err(ApiError::unauthorized(format!(
            "X-Sdk-Date is {skew} s away from the server clock (at most {max_skew} s allowed)"
        )));
    }
    if !auth.signed_headers.iter().any(|h| h == "x-sdk-date") {
        return Err(ApiError::unauthorized("SignedHeaders must include x-sdk-date"));
    }
    let key = state.store.find_access_key(&auth.access).await?;
    // An unknown key is checked against a throw-away secret, so it costs what a known one does.
    let secret = match &key {
        Some(k) => state.secrets.open(&k.secret_sealed).map_err(ApiError::internal)?,
        None => "vigil-no-such-access-key".to_string(),
    };

    let (parts, body) = req.into_parts();
    // Model package uploads carry the model in the body and have a larger limit of their own.
    let limit = if parts.method == http::Method::POST && parts.uri.path().ends_with("/algorithm/packages") {
        crate::model_packages::UPLOAD_BODY_LIMIT
    } else {
        state.config.body_limit
    };
    let bytes = to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            ErrorCode::BodyTooLarge,
            "the request body is larger than the server's limit",
        )
    })?;
    let headers: Vec<(String, String)> = auth
        .signed_headers
        .iter()
        .map(|name| {
            let value = parts
                .headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            (name.clone(), value.to_string())
        })
        .collect();
    let content_sha = match parts.headers.get("x-sdk-content-sha256") {
        None => None,
        Some(v) => Some(v.to_str().map_err(|_| ApiError::unauthorized(SIGNATURE_MISMATCH))?),
    };
    let input = SignInput {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &headers,
        body: &bytes,
        content_sha256: content_sha,
    };
    let verified = aksk::verify(&secret, &sdk_date, &input, &auth);
    let Some(key) = key.filter(|_| verified) else {
        return Err(ApiError::unauthorized(SIGNATURE_MISMATCH));
    };
    // The body hash the client claims must be signed and true (or the SDKs' UNSIGNED-PAYLOAD).
    if !aksk::content_sha256_acceptable(content_sha, &auth.signed_headers, &bytes) {
        return Err(ApiError::unauthorized(SIGNATURE_MISMATCH));
    }
    // A signature is good for one request: replays within the skew window are refused. Reads
    // may repeat within a moment (`replay.rs` says why).
    let expires_ms = signed_at
        .timestamp_millis()
        .saturating_add((max_skew as i64 + 1) * 1000);
    let grace_ms = if matches!(parts.method, Method::GET | Method::HEAD) {
        READ_REPEAT_GRACE_MS
    } else {
        0
    };
    if !state
        .replays
        .first_use(&auth.signature, now.timestamp_millis(), expires_ms, grace_ms)
    {
        tracing::warn!(access = %key.access, "refused a replayed AK/SK signature");
        return Err(ApiError::unauthorized(SIGNATURE_MISMATCH));
    }
    if let Some(pid) = parts.headers.get("x-project-id").and_then(|v| v.to_str().ok()) {
        if pid != key.project_id {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "the access key is not scoped to the X-Project-Id project",
            ));
        }
    }
    let caller = Caller {
        user_id: key.user_id,
        user_name: key.user_name,
        project_id: key.project_id,
    };
    Ok((caller, Request::from_parts(parts, Body::from(bytes))))
}

/// `/v{1,2}/{project_id}/…` → the project id segment.
fn path_project(path: &str) -> Option<&str> {
    let mut it = path.trim_start_matches('/').split('/');
    match (it.next(), it.next()) {
        (Some("v1" | "v2"), Some(p)) => Some(p),
        _ => None,
    }
}

/// Middleware for every project-scoped route.
pub async fn require(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let result = if let Some(token) = header(&req, "x-auth-token").map(str::to_string) {
        let read = matches!(*req.method(), Method::GET | Method::HEAD);
        caller_from_token(&state, &token, read).await.map(|c| (c, req))
    } else if header(&req, "authorization").is_some() {
        caller_from_signature(&state, req).await
    } else {
        Err(ApiError::unauthorized(
            "send an X-Auth-Token header or an AK/SK-signed request",
        ))
    };
    let (caller, mut req) = match result {
        Ok(ok) => ok,
        Err(e) => return e.into_response(),
    };
    let path_pid = path_project(req.uri().path()).unwrap_or("");
    if !vigil_core::ids::is_project_id(path_pid) {
        return ApiError::invalid("project_id", "must be 1 to 64 letters or digits").into_response();
    }
    if path_pid != caller.project_id {
        return ApiError::new(ErrorCode::Forbidden, "the credential is not scoped to this project").into_response();
    }
    let decision = state.limiter.check(&caller.project_id);
    if let Some(d) = decision.filter(|d| !d.allowed) {
        let mut resp = ApiError::new(
            ErrorCode::Throttled,
            format!(
                "the project's quota of {} requests per {} is used up",
                d.limit.quota,
                d.limit.window.as_str()
            ),
        )
        .into_response();
        d.write_headers(resp.headers_mut());
        return resp;
    }
    req.extensions_mut().insert(caller);
    let mut resp = next.run(req).await;
    if let Some(d) = decision {
        d.write_headers(resp.headers_mut());
    }
    resp
}
