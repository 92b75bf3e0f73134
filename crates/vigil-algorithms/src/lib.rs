//! vigil-algorithms: the analyzers of the built-in VIAS algorithms, on top of the catalogue and
//! `config.common` validation of `vigil_core::catalog` (re-exported here).
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

pub mod abandon;
pub mod abnormal_park;
pub mod analyzer;
mod colour_name;
mod colour_regions;
mod common;
pub mod crowd_count;
pub mod cyanobacteria;
pub mod drainage;
mod dwell;
pub mod event_action;
mod face_mask;
pub mod fight;
pub mod fire_exit;
pub mod floating;
pub mod flow_count;
mod frame_history;
pub mod highpoint_crowd;
mod homography;
pub mod intrusion;
pub mod model_binding;
pub mod model_objects;
pub mod non_motor;
pub mod object_attributes;
pub mod overspeed;
pub mod partner_rule;
pub mod payload_schema;
pub mod ponding;
pub mod pose_action;
mod pose_track;
pub mod registry;
pub mod retrograde;
pub mod safety_gear;
pub mod shared_bicycle;
pub mod ship_intrusion;
pub mod smoke_fire;
pub mod soil;
pub mod staff_on_duty;
mod stationary;
mod surface_cover;
pub mod typed_config;
pub mod umbrella;
mod vehicle_common;
pub mod vehicle_detection;
pub mod vehicle_statistics;
pub mod water_ruler;
pub mod wear_mask;

// The catalogue, its schemas and `config.common` validation live in vigil-core (so the API can use
// them without linking inference); re-exported here under their old paths.
pub use vigil_core::catalog::{self, event_type, schema, validate};

pub use analyzer::{Analyzer, AnalyzerError, DetectorModel, DetectorNeed, Event, FrameInput, Needs, Perception};
pub use catalog::{AlgorithmSpec, Catalog, Constraint, Placement};
pub use crowd_count::{CrowdConfig, CrowdCountAnalyzer};
pub use event_type::{EventSpec, Provenance};
pub use flow_count::{FlowConfig, FlowCountAnalyzer};
pub use intrusion::{IntrusionAnalyzer, IntrusionConfig};
pub use model_binding::ModelBinding;
pub use registry::{
    build_analyzer, build_analyzer_seeded, build_analyzer_with, build_partner_analyzer, is_implemented, parse_roi,
    validate_roi, AnalyzerContext, REGISTRY,
};
pub use schema::{DefaultValue, ParamKind, ParamSpec};
pub use validate::{validate_common, validate_common_at, ConfigError, ConfigErrorKind, ValidatedCommon};
