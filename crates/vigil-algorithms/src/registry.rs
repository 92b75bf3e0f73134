//! Which analyzer runs a service: one line per implemented algorithm.

use vigil_vision::Roi;

use crate::analyzer::Analyzer;
use crate::catalog::Catalog;
use crate::common::fresh_seed;
use crate::validate::{ConfigError, ConfigErrorKind, ValidatedCommon, COMMON_PATH};
use crate::water_ruler;
use crate::{abandon, abnormal_park, fire_exit};
use crate::{crowd_count, flow_count, highpoint_crowd, intrusion, staff_on_duty};
use crate::{cyanobacteria, floating, ponding, soil};
use crate::{drainage, smoke_fire};
use crate::{event_action, fight, pose_action};
use crate::{model_objects as mo, partner_rule, safety_gear};
use crate::{non_motor, shared_bicycle, ship_intrusion, umbrella};
use crate::{object_attributes, wear_mask};
use crate::{overspeed, retrograde, vehicle_detection, vehicle_statistics};

// `target_roi` checking lives with the catalogue in vigil-core (the API uses it without inference).
pub use vigil_core::catalog::{parse_roi, validate_roi};

/// What the engine tells an analyzer when it is built.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyzerContext {
    /// The server's analysis rate (`--analysis-fps`): analyzers that have no rate of their own
    /// ask for this one.
    pub analysis_fps: f64,
    /// Seed of the task's `detection_id`s (differs between tasks; fixed in tests).
    pub seed: u64,
    /// The operator's detector bound to this algorithm (model-bound and partner algorithms).
    pub model: Option<crate::model_binding::ModelBinding>,
}

impl Default for AnalyzerContext {
    fn default() -> Self {
        AnalyzerContext {
            analysis_fps: 5.0,
            seed: fresh_seed(),
            model: None,
        }
    }
}

/// Builds an analyzer from the validated `config.common` and the parsed ROI.
pub type BuildFn = fn(&ValidatedCommon, Roi, &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError>;

/// Algorithm id ([`crate::AlgorithmSpec::id`]) → analyzer. Adding an algorithm: one file with
/// its typed config, `needs()` and `process()`, and one line here (docs/engine.md).
pub const REGISTRY: &[(&str, BuildFn)] = &[
    ("c-intrusiondetection", intrusion::build),
    ("c-flowcount", flow_count::build),
    ("c-crowdcount", crowd_count::build),
    ("c-sharedbicycledetection", shared_bicycle::build),
    ("c-non-motor-detection", non_motor::build),
    ("c-urban-umbrella", umbrella::build),
    ("ship-intrusion", ship_intrusion::build),
    ("c-vehicle-detection", vehicle_detection::build),
    ("c-vehicle-statistics", vehicle_statistics::build),
    ("c-retrograde-detection", retrograde::build),
    ("c-highpoint-overspeed", overspeed::build),
    ("c-staffonduty", staff_on_duty::build),
    ("c-highpoint-crowdcount", highpoint_crowd::build),
    ("c-abandon-detection", abandon::build),
    ("c-traffic-abnormal-park", abnormal_park::build),
    ("c-fire-exit-occupation", fire_exit::build),
    ("c-pose-action-recog", pose_action::build),
    ("c-fightdetect", fight::build),
    ("c-event-action-recog", event_action::build),
    ("c-wear-mask-recog", wear_mask::build),
    ("c-object-attri-recog", object_attributes::build),
    ("w-ponding-detection", ponding::build),
    ("c-urban-soil-exposure", soil::build),
    ("c-cyanobacteria", cyanobacteria::build),
    ("floating", floating::build),
    ("c-smoke-and-fire", smoke_fire::build),
    ("drainage-recognition", drainage::build),
    ("cali-water-ruler-river", water_ruler::build),
    // Model-bound: an operator's detector package (catalog::model_roles, docs/algorithm-center.md).
    ("c-safetysuitedetection", safety_gear::build_work_gear),
    ("c-helmet-elec-recog", safety_gear::build_ebike_helmet),
    ("c-trash-abnormal-detect", mo::build_trash_abnormal),
    ("c-urban-trash-overflow", mo::build_trash_overflow),
    ("c-urban-sign-detect", mo::build_sign),
    ("c-urban-stacking", mo::build_stacking),
    ("c-urban-drying", mo::build_drying),
    ("c-urban-dregs", mo::build_dregs),
    ("c-urban-manholecover-miss", mo::build_manhole),
    ("c-mobile-manholecover", mo::build_mobile_manhole),
    ("c-urban-trash-detect", mo::build_urban_trash),
    ("c-mobile-trash-detect", mo::build_mobile_trash),
    ("c-urban-roadside-stall", mo::build_roadside_stall),
];

/// Whether an algorithm id has an analyzer.
pub fn is_implemented(id: &str) -> bool {
    REGISTRY.iter().any(|(i, _)| *i == id)
}

/// The analyzer of `service_name` (e.g. `c-intrusiondetection-edge`) configured by `common`.
/// Refuses unknown and unimplemented services (`param` `service_name`) and an invalid ROI
/// (`param` `config.common.target_roi…`).
pub fn build_analyzer(service_name: &str, common: &ValidatedCommon) -> Result<Box<dyn Analyzer>, ConfigError> {
    build_analyzer_with(service_name, common, &AnalyzerContext::default())
}

/// As [`build_analyzer`], with the seed of the `detection_id`s given (reproducible ids).
pub fn build_analyzer_seeded(
    service_name: &str,
    common: &ValidatedCommon,
    seed: u64,
) -> Result<Box<dyn Analyzer>, ConfigError> {
    build_analyzer_with(
        service_name,
        common,
        &AnalyzerContext {
            seed,
            ..AnalyzerContext::default()
        },
    )
}

/// As [`build_analyzer`], in the given context.
pub fn build_analyzer_with(
    service_name: &str,
    common: &ValidatedCommon,
    ctx: &AnalyzerContext,
) -> Result<Box<dyn Analyzer>, ConfigError> {
    let refuse = |message: String| ConfigError {
        param: "service_name".to_string(),
        message,
        kind: ConfigErrorKind::InvalidValue,
    };
    let Some((spec, _)) = Catalog::by_service_name(service_name) else {
        return Err(refuse(format!("unknown algorithm service {service_name:?}")));
    };
    let Some((_, build)) = REGISTRY.iter().find(|(id, _)| *id == spec.id) else {
        return Err(refuse(format!(
            "algorithm {service_name:?} ({}) is not implemented by Vigil yet",
            spec.title_en
        )));
    };
    let roi = parse_roi(common, &format!("{COMMON_PATH}.target_roi"))?;
    build(common, roi, ctx)
}

/// The analyzer of a partner rule service (a generic rule package served under its own name):
/// `common` validated against [`crate::catalog::PARTNER_RULE`], the package in `ctx.model`.
pub fn build_partner_analyzer(
    common: &ValidatedCommon,
    ctx: &AnalyzerContext,
) -> Result<Box<dyn Analyzer>, ConfigError> {
    let roi = parse_roi(common, &format!("{COMMON_PATH}.target_roi"))?;
    partner_rule::build(common, roi, ctx)
}
