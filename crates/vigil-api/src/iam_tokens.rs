//! IAM-compatible token API (`/v3/auth/tokens`): password auth scoped to a project → 201 with the
//! token in `X-Subject-Token`; validation (GET) and revocation (DELETE) as Keystone does them,
//! limited to the caller's own tokens; "revoke all my tokens" (`DELETE /v3/auth/tokens/mine`);
//! password change (`POST /v3/users/{user_id}/password`). Password checks are throttled
//! (`login_throttle.rs`) and run on the blocking pool (`password_check.rs`).

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::{caller_from_token, token_hash, Caller};
use crate::login_throttle::{wait, Refusal};
use crate::{password_check, AppState};

#[derive(Deserialize, ToSchema)]
pub struct AuthTokensRequest {
    pub auth: AuthBody,
}

#[derive(Deserialize, ToSchema)]
pub struct AuthBody {
    pub identity: Identity,
    pub scope: Option<Scope>,
}

#[derive(Deserialize, ToSchema)]
pub struct Identity {
    pub methods: Vec<String>,
    pub password: Option<PasswordIdentity>,
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordIdentity {
    pub user: PasswordUser,
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordUser {
    pub name: String,
    pub password: String,
    /// Accepted for compatibility; Vigil has one domain.
    pub domain: Option<serde_json::Value>,
}

#[derive(Deserialize, ToSchema)]
pub struct Scope {
    pub project: Option<ScopeProject>,
}

#[derive(Deserialize, ToSchema)]
pub struct ScopeProject {
    pub id: Option<String>,
    pub name: Option<String>,
}

/// Keystone-style error body, as IAM answers.
#[derive(Serialize, ToSchema)]
pub struct IamErrorBody {
    pub error: IamError,
}

#[derive(Serialize, ToSchema)]
pub struct IamError {
    pub code: u16,
    pub message: String,
    pub title: String,
}

fn iam_error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = IamErrorBody {
        error: IamError {
            code: status.as_u16(),
            message: message.into(),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
        },
    };
    crate::error::json_response(status, serde_json::to_vec(&body).unwrap_or_default())
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .unwrap_or_default()
}

fn token_body(
    state: &AppState,
    user: (&str, &str),
    project: (&str, &str),
    issued: i64,
    expires: i64,
) -> serde_json::Value {
    let domain = json!({"id": "default", "name": "default"});
    json!({"token": {
        "expires_at": iso(expires),
        "issued_at": iso(issued),
        "methods": ["password"],
        "user": {"id": user.0, "name": user.1, "domain": domain, "password_expires_at": ""},
        "project": {"id": project.0, "name": project.1, "domain": domain},
        "roles": [{"id": "vias_admin", "name": "vias_adm"}],
        "catalog": [{
            "type": "vias", "id": "vias", "name": "vias",
            "endpoints": [{
                "id": "vias-public", "interface": "public",
                "region": state.config.region, "region_id": state.config.region,
                "url": format!("{}/v2/{}", state.config.public_url.trim_end_matches('/'), project.0)
            }]
        }]
    }})
}

/// The client's address, when the server was started with connect info (`vigil serve` is).
fn client_addr(ext: &Extensions) -> Option<IpAddr> {
    ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

/// The answer to an attempt refused by the login throttle, with `Retry-After`.
fn throttled(refusal: Refusal) -> Response {
    let secs = wait(refusal).as_secs().max(1);
    let mut resp = match refusal {
        // What Huawei IAM answers for a locked account.
        Refusal::Locked { .. } => iam_error(StatusCode::UNAUTHORIZED, "The account is locked."),
        Refusal::TooSoon { .. } => iam_error(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many failed logins; retry in {secs} s."),
        ),
    };
    resp.headers_mut().insert("Retry-After", HeaderValue::from(secs));
    resp
}

/// Checks a user's password under the throttle; `Ok(None)` is a wrong name or password.
async fn check_password(
    state: &AppState,
    name: &str,
    password: &str,
    addr: Option<IpAddr>,
) -> Result<Option<vigil_store::iam::User>, Response> {
    state.logins.check(name, addr).map_err(throttled)?;
    let user = state
        .store
        .find_user(name)
        .await
        .map_err(|e| crate::error::ApiError::internal(e).into_response())?;
    let ok = password_check::verify(password.to_string(), user.as_ref().map(|u| u.password_hash.clone())).await;
    if ok {
        state.logins.success(name);
        Ok(user)
    } else {
        state.logins.failure(name, addr);
        tracing::warn!(user = %name, addr = ?addr, "failed password check");
        Ok(None)
    }
}

/// Issue a token (IAM `KeystoneCreateUserTokenByPassword`).
#[utoipa::path(post, path = "/v3/auth/tokens", operation_id = "KeystoneCreateUserTokenByPassword", tag = "IAM",
    request_body = AuthTokensRequest,
    responses(
        (status = 201, description = "Token issued; the token is in the X-Subject-Token header",
         headers(("X-Subject-Token" = String, description = "the token"))),
        (status = 400, body = IamErrorBody),
        (status = 401, body = IamErrorBody, description = "Wrong name or password, or `The account is locked.` after too many failures (Retry-After)"),
        (status = 429, body = IamErrorBody, description = "Too soon after a failed login (Retry-After)")))]
pub async fn issue(State(state): State<AppState>, ext: Extensions, body: Bytes) -> Response {
    let req: AuthTokensRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return iam_error(StatusCode::BAD_REQUEST, format!("The request body is invalid: {e}")),
    };
    if !req.auth.identity.methods.iter().any(|m| m == "password") {
        return iam_error(StatusCode::BAD_REQUEST, "Only the password method is supported.");
    }
    let Some(pw) = req.auth.identity.password else {
        return iam_error(StatusCode::BAD_REQUEST, "identity.password is required.");
    };
    let _ = pw.user.domain;
    let user = match check_password(&state, &pw.user.name, &pw.user.password, client_addr(&ext)).await {
        Ok(Some(u)) => u,
        Ok(None) => return iam_error(StatusCode::UNAUTHORIZED, "The username or password is wrong."),
        Err(r) => return r,
    };
    let wanted = req.auth.scope.and_then(|s| s.project).and_then(|p| p.id.or(p.name));
    let project = match wanted {
        Some(w) => state.store.find_project(&w).await,
        None if user.projects.len() == 1 => state.store.find_project(&user.projects[0]).await,
        None => return iam_error(StatusCode::BAD_REQUEST, "scope.project (id or name) is required."),
    };
    let project = match project {
        Ok(Some(p)) if user.projects.contains(&p.id) => p,
        Ok(_) => {
            return iam_error(
                StatusCode::UNAUTHORIZED,
                "The user has no access to the requested project.",
            )
        }
        Err(e) => return crate::error::ApiError::internal(e).into_response(),
    };
    let mut raw = [0u8; 48];
    rand::thread_rng().fill_bytes(&mut raw);
    let token = format!("MIIV{}", URL_SAFE_NO_PAD.encode(raw));
    let issued = vigil_store::now_ms();
    let expires = issued + state.config.token_ttl.as_millis() as i64;
    if let Err(e) = state
        .store
        .insert_token(&token_hash(&token), &user.id, &project.id, issued, expires)
        .await
    {
        return crate::error::ApiError::internal(e).into_response();
    }
    tracing::info!(user = %user.name, project = %project.id, "issued token");
    let body = token_body(
        &state,
        (&user.id, &user.name),
        (&project.id, &project.name),
        issued,
        expires,
    );
    let mut resp = crate::error::json_response(StatusCode::CREATED, serde_json::to_vec(&body).unwrap_or_default());
    if let Ok(v) = HeaderValue::from_str(&token) {
        resp.headers_mut().insert("X-Subject-Token", v);
    }
    resp
}

fn subject(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The caller behind `X-Auth-Token`, and that token.
async fn authenticated(state: &AppState, headers: &HeaderMap) -> Result<(Caller, String), Response> {
    let Some(auth) = headers.get("x-auth-token").and_then(|v| v.to_str().ok()) else {
        return Err(iam_error(StatusCode::UNAUTHORIZED, "X-Auth-Token is required."));
    };
    match caller_from_token(state, auth, false).await {
        Ok(c) => Ok((c, auth.to_string())),
        Err(_) => Err(iam_error(StatusCode::UNAUTHORIZED, "The X-Auth-Token is not valid.")),
    }
}

/// The subject token's grant, when it exists and belongs to the caller's user. Someone else's
/// token answers exactly like a token that does not exist (404), so tokens cannot be probed.
async fn own_subject(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(String, vigil_store::iam::TokenGrant), Response> {
    let (caller, _) = authenticated(state, headers).await?;
    let subject = subject(headers).ok_or_else(|| iam_error(StatusCode::BAD_REQUEST, "X-Subject-Token is required."))?;
    if subject.is_empty() || subject.len() > 32_768 {
        return Err(iam_error(StatusCode::NOT_FOUND, "The token does not exist."));
    }
    match state.store.find_token(&token_hash(&subject)).await {
        Ok(Some(g)) if g.user_id == caller.user_id => Ok((subject, g)),
        Ok(_) => Err(iam_error(StatusCode::NOT_FOUND, "The token does not exist.")),
        Err(e) => Err(crate::error::ApiError::internal(e).into_response()),
    }
}

/// Validate a token (`X-Subject-Token`), authenticated by `X-Auth-Token` of the same user.
#[utoipa::path(get, path = "/v3/auth/tokens", operation_id = "KeystoneValidateToken", tag = "IAM",
    params(("X-Auth-Token" = String, Header), ("X-Subject-Token" = String, Header)),
    responses((status = 200, description = "The token's details"),
              (status = 404, body = IamErrorBody, description = "No such token, expired, revoked, or another user's token")))]
pub async fn validate(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (subject, g) = match own_subject(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if g.revoked || g.expires_at <= vigil_store::now_ms() {
        return iam_error(
            StatusCode::NOT_FOUND,
            "The token does not exist, has expired or was revoked.",
        );
    }
    let body = token_body(
        &state,
        (&g.user_id, &g.user_name),
        (&g.project_id, &g.project_name),
        g.issued_at,
        g.expires_at,
    );
    let mut resp = crate::error::json_response(StatusCode::OK, serde_json::to_vec(&body).unwrap_or_default());
    if let Ok(v) = HeaderValue::from_str(&subject) {
        resp.headers_mut().insert("X-Subject-Token", v);
    }
    resp
}

/// Revoke a token (`X-Subject-Token`), authenticated by `X-Auth-Token` of the same user.
#[utoipa::path(delete, path = "/v3/auth/tokens", operation_id = "KeystoneRevokeToken", tag = "IAM",
    params(("X-Auth-Token" = String, Header), ("X-Subject-Token" = String, Header)),
    responses((status = 204, description = "Revoked"),
              (status = 404, body = IamErrorBody, description = "No such token, or another user's token")))]
pub async fn revoke(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (subject, _) = match own_subject(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let hash = token_hash(&subject);
    let revoked = state.store.revoke_token(&hash).await;
    state.tokens.forget(&hash);
    match revoked {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => iam_error(StatusCode::NOT_FOUND, "The token does not exist."),
        Err(e) => crate::error::ApiError::internal(e).into_response(),
    }
}

/// Revoke every token of the caller's user, the one in `X-Auth-Token` included (Vigil extension).
#[utoipa::path(delete, path = "/v3/auth/tokens/mine", operation_id = "VigilRevokeAllMyTokens", tag = "IAM",
    params(("X-Auth-Token" = String, Header)),
    responses((status = 204, description = "Every token of the user is revoked"), (status = 401, body = IamErrorBody)))]
pub async fn revoke_mine(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (caller, _) = match authenticated(&state, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let revoked = state.store.revoke_user_tokens(&caller.user_id, None).await;
    state.tokens.forget_user(&caller.user_id);
    match revoked {
        Ok(n) => {
            tracing::info!(user = %caller.user_name, revoked = n, "revoked all tokens of the user");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => crate::error::ApiError::internal(e).into_response(),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChangeRequest {
    pub user: PasswordChange,
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    pub password: String,
    pub original_password: String,
}

/// Shortest and longest accepted new password, in characters.
const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 8..=128;

/// Change the caller's own password (Keystone `POST /v3/users/{user_id}/password`); the user's
/// other tokens are revoked, the one in `X-Auth-Token` stays valid.
#[utoipa::path(post, path = "/v3/users/{user_id}/password", operation_id = "KeystoneUpdateUserPassword", tag = "IAM",
    params(("user_id" = String, Path), ("X-Auth-Token" = String, Header)),
    request_body = PasswordChangeRequest,
    responses((status = 204, description = "Changed; the user's other tokens are revoked"),
              (status = 400, body = IamErrorBody), (status = 401, body = IamErrorBody),
              (status = 403, body = IamErrorBody, description = "Another user's password"),
              (status = 429, body = IamErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    ext: Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (caller, token) = match authenticated(&state, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if user_id != caller.user_id {
        return iam_error(
            StatusCode::FORBIDDEN,
            "You are not authorized to perform the requested action.",
        );
    }
    let req: PasswordChangeRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return iam_error(StatusCode::BAD_REQUEST, format!("The request body is invalid: {e}")),
    };
    if !PASSWORD_CHARS.contains(&req.user.password.chars().count()) {
        return iam_error(
            StatusCode::BAD_REQUEST,
            "The new password must be 8 to 128 characters long.",
        );
    }
    match check_password(
        &state,
        &caller.user_name,
        &req.user.original_password,
        client_addr(&ext),
    )
    .await
    {
        Ok(Some(u)) if u.id == caller.user_id => {}
        Ok(_) => return iam_error(StatusCode::UNAUTHORIZED, "The original password is wrong."),
        Err(r) => return r,
    }
    let Some(hash) = password_check::hash(req.user.password).await else {
        return crate::error::ApiError::internal("password hashing failed").into_response();
    };
    let result = async {
        state.store.set_password(&caller.user_id, &hash).await?;
        state
            .store
            .revoke_user_tokens(&caller.user_id, Some(&token_hash(&token)))
            .await
    }
    .await;
    state.tokens.forget_user(&caller.user_id);
    match result {
        Ok(n) => {
            tracing::info!(user = %caller.user_name, revoked = n, "password changed; other tokens revoked");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => crate::error::ApiError::internal(e).into_response(),
    }
}
