//! JSON request bodies: size-limited, parsed with the failing field's path reported in VIAS
//! `params` (`VIAS.00010001`), never a panic or a bare 422.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use vigil_core::ErrorCode;

use crate::error::ApiError;

pub struct JsonBody<T>(pub T);

/// Parses JSON bytes, naming the offending field on a type error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            ErrorCode::InvalidParams,
            "the request body is empty; a JSON object is required",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::new(ErrorCode::InvalidParams, format!("malformed JSON: {inner}"))
        } else if let Some(field) = missing_field(&inner.to_string()) {
            let param = if path == "." { field } else { format!("{path}.{field}") };
            ApiError::invalid(param.clone(), format!("{param} is required"))
        } else if path == "." {
            ApiError::new(ErrorCode::InvalidParams, format!("invalid request body: {inner}"))
        } else {
            ApiError::invalid(path, inner.to_string())
        }
    })
}

/// serde reports a missing field as "missing field `name` at line …".
fn missing_field(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("missing field `")?;
    Some(rest[..rest.find('`')?].to_string())
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // The size limit is enforced by the body-limit layer; an over-long body fails here.
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    ErrorCode::BodyTooLarge,
                    "the request body is larger than the server's limit",
                )
            } else {
                ApiError::new(ErrorCode::InvalidParams, format!("cannot read the request body: {e}"))
            }
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}
