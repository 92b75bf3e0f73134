//! The catalogue of the built-in VIAS algorithms with their typed `config.common` schemas,
//! `config.common` validation and the `target_roi` check. Pure data and checks: the API
//! validates tasks with it without linking any inference code (`vigil-algorithms` adds the
//! analyzers on top).

pub mod event_type;
pub mod json_schema;
pub mod model_roles;
pub mod roi_check;
pub mod schema;
pub mod spec;
#[rustfmt::skip]
mod table;
pub mod validate;

pub use event_type::{EventSpec, Provenance};
pub use model_roles::{roles, RoleSpec, PARTNER_RULE};
pub use roi_check::{parse_roi, validate_roi};
pub use schema::{DefaultValue, ParamKind, ParamSpec};
pub use spec::{AlgorithmSpec, Catalog, Constraint, Placement};
pub use validate::{validate_common, validate_common_at, ConfigError, ConfigErrorKind, ValidatedCommon, COMMON_PATH};
