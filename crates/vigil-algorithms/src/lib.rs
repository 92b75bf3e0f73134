//! vigil-algorithms: the catalogue of built-in VIAS algorithms and `config.common` validation.

pub mod catalog;
pub mod event_type;
pub mod schema;
#[rustfmt::skip]
mod table;
pub mod validate;

pub use catalog::{AlgorithmSpec, Catalog, Constraint, Placement};
pub use event_type::{EventSpec, Provenance};
pub use schema::{DefaultValue, ParamKind, ParamSpec};
pub use validate::{
    validate_common, validate_common_at, ConfigError, ConfigErrorKind, ValidatedCommon,
};
