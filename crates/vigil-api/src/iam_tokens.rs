//! IAM-compatible token API (`/v3/auth/tokens`): password auth scoped to a project → 201 with the
//! token in `X-Subject-Token`; validation (GET) and revocation (DELETE) as Keystone does them.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::{caller_from_token, token_hash};
use crate::AppState;

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

/// Issue a token (IAM `KeystoneCreateUserTokenByPassword`).
#[utoipa::path(post, path = "/v3/auth/tokens", operation_id = "KeystoneCreateUserTokenByPassword", tag = "IAM",
    request_body = AuthTokensRequest,
    responses(
        (status = 201, description = "Token issued; the token is in the X-Subject-Token header",
         headers(("X-Subject-Token" = String, description = "the token"))),
        (status = 400, body = IamErrorBody), (status = 401, body = IamErrorBody)))]
pub async fn issue(State(state): State<AppState>, body: Bytes) -> Response {
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
    let user = match state.store.find_user(&pw.user.name).await {
        Ok(Some(u)) if vigil_core::password::verify(&pw.user.password, &u.password_hash) => u,
        Ok(_) => return iam_error(StatusCode::UNAUTHORIZED, "The username or password is wrong."),
        Err(e) => return crate::error::ApiError::internal(e).into_response(),
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

async fn check_pair(state: &AppState, headers: &HeaderMap) -> Result<String, Response> {
    let Some(auth) = headers.get("x-auth-token").and_then(|v| v.to_str().ok()) else {
        return Err(iam_error(StatusCode::UNAUTHORIZED, "X-Auth-Token is required."));
    };
    if caller_from_token(state, auth).await.is_err() {
        return Err(iam_error(StatusCode::UNAUTHORIZED, "The X-Auth-Token is not valid."));
    }
    subject(headers).ok_or_else(|| iam_error(StatusCode::BAD_REQUEST, "X-Subject-Token is required."))
}

/// Validate a token (`X-Subject-Token`), authenticated by `X-Auth-Token`.
#[utoipa::path(get, path = "/v3/auth/tokens", operation_id = "KeystoneValidateToken", tag = "IAM",
    params(("X-Auth-Token" = String, Header), ("X-Subject-Token" = String, Header)),
    responses((status = 200, description = "The token's details"), (status = 404, body = IamErrorBody)))]
pub async fn validate(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let subject = match check_pair(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match caller_from_token(&state, &subject).await {
        Ok(_) => match state.store.find_token(&token_hash(&subject)).await {
            Ok(Some(g)) => {
                let body = token_body(
                    &state,
                    (&g.user_id, &g.user_name),
                    (&g.project_id, &g.project_name),
                    g.issued_at,
                    g.expires_at,
                );
                let mut resp =
                    crate::error::json_response(StatusCode::OK, serde_json::to_vec(&body).unwrap_or_default());
                if let Ok(v) = HeaderValue::from_str(&subject) {
                    resp.headers_mut().insert("X-Subject-Token", v);
                }
                resp
            }
            _ => iam_error(StatusCode::NOT_FOUND, "The token does not exist."),
        },
        Err(_) => iam_error(
            StatusCode::NOT_FOUND,
            "The token does not exist, has expired or was revoked.",
        ),
    }
}

/// Revoke a token (`X-Subject-Token`), authenticated by `X-Auth-Token`.
#[utoipa::path(delete, path = "/v3/auth/tokens", operation_id = "KeystoneRevokeToken", tag = "IAM",
    params(("X-Auth-Token" = String, Header), ("X-Subject-Token" = String, Header)),
    responses((status = 204, description = "Revoked"), (status = 404, body = IamErrorBody)))]
pub async fn revoke(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let subject = match check_pair(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match state.store.revoke_token(&token_hash(&subject)).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => iam_error(StatusCode::NOT_FOUND, "The token does not exist."),
        Err(e) => crate::error::ApiError::internal(e).into_response(),
    }
}
