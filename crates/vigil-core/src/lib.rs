//! Vigil's domain: ids, error codes, video-source types and validation rules. No I/O here.

pub mod alarm;
pub mod catalog;
pub mod egress;
pub mod error_code;
pub mod field_error;
pub mod ids;
pub mod model_package;
pub mod object_storage;
pub mod outbound_headers;
pub mod password;
pub mod roi;
pub mod schedule;
pub mod secret_box;
pub mod secret_fields;
pub mod source_status;
pub mod task_io;
pub mod task_state;
pub mod type_config;
pub mod validate;
pub mod video_source;

pub use error_code::ErrorCode;
pub use field_error::FieldError;
