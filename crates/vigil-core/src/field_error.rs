//! A validation failure naming the offending request field, so the API can fill VIAS `params`.

use crate::ErrorCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {message}")]
pub struct FieldError {
    pub code: ErrorCode,
    /// Field path as the client wrote it, e.g. `type_config.url_address`.
    pub param: String,
    pub message: String,
}

impl FieldError {
    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::InvalidParams,
            param: param.into(),
            message: message.into(),
        }
    }

    pub fn with_code(code: ErrorCode, param: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            param: param.into(),
            message: message.into(),
        }
    }
}
