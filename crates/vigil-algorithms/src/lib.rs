//! vigil-algorithms: the catalogue of built-in VIAS algorithms and `config.common` validation.
//!
//! ```
//! use serde_json::json;
//! use vigil_algorithms::{validate_common, Catalog, ConfigErrorKind, Placement};
//!
//! let (spec, placement) = Catalog::by_service_name("c-intrusiondetection-edge").unwrap();
//! assert_eq!((spec.title, placement), ("入侵检测", Placement::Edge));
//!
//! let common = validate_common(spec, &json!({"loitering_detection_sw": 1})).unwrap();
//! assert_eq!(common.get_i64("detection_min_size"), Some(60)); // default filled in
//! assert_eq!(common.get_switch("loitering_detection_sw"), Some(true));
//!
//! let err = validate_common(spec, &json!({"image_compression_ratio": 101})).unwrap_err();
//! assert_eq!(err.param, "config.common.image_compression_ratio");
//! assert_eq!(err.kind, ConfigErrorKind::OutOfRange);
//! ```
//!
//! See `docs/algorithms.md` for the catalogue and the decisions taken where the spec is silent.

pub mod analyzer;
pub mod catalog;
mod common;
pub mod event_type;
pub mod flow_count;
pub mod intrusion;
pub mod registry;
pub mod schema;
#[rustfmt::skip]
mod table;
pub mod validate;

pub use analyzer::{Analyzer, DetectorNeeds, Event, FrameInput};
pub use catalog::{AlgorithmSpec, Catalog, Constraint, Placement};
pub use event_type::{EventSpec, Provenance};
pub use flow_count::{FlowConfig, FlowCountAnalyzer};
pub use intrusion::{IntrusionAnalyzer, IntrusionConfig};
pub use registry::{build_analyzer, build_analyzer_seeded, parse_roi, validate_roi};
pub use schema::{DefaultValue, ParamKind, ParamSpec};
pub use validate::{validate_common, validate_common_at, ConfigError, ConfigErrorKind, ValidatedCommon};
