//! The one place where failures become VIAS error bodies (spec §1.6):
//! shape A for platform routes, gateway shape B for unknown routes, legacy shape C.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use vigil_core::{ErrorCode, FieldError};
use vigil_store::StoreError;

/// Shape A body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ViasErrorBody {
    pub error_code: String,
    pub error_msg: String,
    pub detail: String,
    pub params: Vec<String>,
    pub reason: String,
    pub advice: String,
}

/// Shape B body (API gateway).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GatewayErrorBody {
    pub error_code: String,
    pub error_msg: String,
    pub request_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Vias,
    Legacy,
}

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: String,
    pub params: Vec<String>,
    pub shape: Shape,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            params: Vec::new(),
            shape: Shape::Vias,
        }
    }

    pub fn param(code: ErrorCode, param: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            params: vec![param.into()],
            shape: Shape::Vias,
        }
    }

    pub fn invalid(param: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::param(ErrorCode::InvalidParams, param, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::AuthorizationFailed, detail)
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(ErrorCode::Internal, "internal error; see the server log")
    }

    /// Maps a store "not found" on a path id to the documented code for that resource.
    pub fn not_found(param: &str, what: &str) -> Self {
        Self::param(ErrorCode::ObjectNotFound, param, format!("{what} does not exist"))
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        Self::param(e.code, e.param, e.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(f) => f.into(),
            StoreError::NotFound(what) => Self::new(ErrorCode::ObjectNotFound, format!("{what} does not exist")),
            StoreError::DuplicateName("video source") => Self::param(
                ErrorCode::DuplicateSourceName,
                "video_source_name",
                "a video source with this name exists",
            ),
            StoreError::DuplicateName("video group") => Self::param(
                ErrorCode::ObjectExists,
                "video_group_name",
                "a video group with this name exists",
            ),
            StoreError::DuplicateName(what) => Self::new(ErrorCode::ObjectExists, format!("{what} already exists")),
            StoreError::Quota {
                what: "video sources",
                limit,
            } => Self::new(
                ErrorCode::SourceQuotaReached,
                format!("the project may hold at most {limit} video sources"),
            ),
            StoreError::Quota { what, limit } => Self::new(
                ErrorCode::ExceedMaxQuota,
                format!("the project may hold at most {limit} {what}"),
            ),
            StoreError::InUse(msg) => Self::new(ErrorCode::OperationNotAllowed, msg),
            other => Self::internal(other),
        }
    }
}

/// Shape C body (legacy VAS routes and legacy bodies).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LegacyErrorBody {
    pub error_code: String,
    pub error_message: String,
}

/// What `CreateTask` answers on a refusal: shape A, or shape C for a legacy VAS body.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum TaskCreateErrorBody {
    Vias(ViasErrorBody),
    Legacy(LegacyErrorBody),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let http = if self.shape == Shape::Legacy {
            self.code.legacy().1
        } else {
            self.code.http_status()
        };
        let status = StatusCode::from_u16(http).unwrap_or(StatusCode::BAD_REQUEST);
        let body = match self.shape {
            Shape::Vias => serde_json::to_vec(&ViasErrorBody {
                error_code: self.code.code().to_string(),
                error_msg: self.code.message().to_string(),
                reason: if self.detail.is_empty() {
                    self.code.message().to_string()
                } else {
                    self.detail.clone()
                },
                advice: advice(self.code, &self.params).to_string(),
                detail: self.detail,
                params: self.params,
            }),
            Shape::Legacy => {
                let (code, _, message) = self.code.legacy();
                let code = if self.detail.starts_with("malformed JSON") {
                    "IVA.0003"
                } else {
                    code
                };
                let mut error_message = message.to_string();
                if !self.params.is_empty() {
                    error_message.push_str(&format!(" {}:", self.params.join(",")));
                }
                if !self.detail.is_empty() {
                    error_message.push_str(&format!(" {}", self.detail));
                }
                serde_json::to_vec(&LegacyErrorBody {
                    error_code: code.to_string(),
                    error_message,
                })
            }
        };
        json_response(status, body.unwrap_or_default())
    }
}

fn advice(code: ErrorCode, params: &[String]) -> &'static str {
    match code {
        ErrorCode::InvalidParams | ErrorCode::ObjectOrParamInvalid if !params.is_empty() => {
            "Correct the parameter named in params and retry."
        }
        ErrorCode::InvalidParams | ErrorCode::ObjectOrParamInvalid => "Correct the request and retry.",
        ErrorCode::ObjectNotFound | ErrorCode::TaskNotFound | ErrorCode::IdNotFound => "Check the id and retry.",
        ErrorCode::AuthorizationFailed => "Provide a valid X-Auth-Token or a valid AK/SK signature.",
        ErrorCode::Forbidden => "Use a credential scoped to this project.",
        ErrorCode::DuplicateSourceName | ErrorCode::DuplicateTaskName | ErrorCode::ObjectExists => {
            "Choose another name."
        }
        ErrorCode::SourceQuotaReached | ErrorCode::TaskQuotaReached | ErrorCode::ExceedMaxQuota => {
            "Delete unused resources or raise the quota in the server configuration."
        }
        ErrorCode::Throttled => "Wait for the rate-limit window to pass, then retry.",
        ErrorCode::OperationNotAllowed => "Change the resource's state first, then retry.",
        _ => "Retry later; if it persists, check the server log.",
    }
}

pub fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    resp
}

/// Shape B `IVA.0101` for a route or method that does not exist.
pub fn unknown_route(request_id: &str) -> Response {
    let body = GatewayErrorBody {
        error_code: "IVA.0101".into(),
        error_msg: "The API does not exist or has not been publish in the environment".into(),
        request_id: request_id.to_string(),
    };
    json_response(StatusCode::NOT_FOUND, serde_json::to_vec(&body).unwrap_or_default())
}

pub type ApiResult<T> = Result<T, ApiError>;
