//! Which analyzer runs a service, and `target_roi` validation for task creation.

use vigil_vision::Roi;

use crate::analyzer::Analyzer;
use crate::catalog::Catalog;
use crate::common::fresh_seed;
use crate::flow_count::{FlowConfig, FlowCountAnalyzer};
use crate::intrusion::{IntrusionAnalyzer, IntrusionConfig};
use crate::validate::{ConfigError, ConfigErrorKind, ValidatedCommon, COMMON_PATH};

/// Parses `target_roi` of `common`; errors name the field under `param_prefix`, e.g.
/// `config.common.target_roi.lines[0].data` for the prefix `config.common.target_roi`.
pub fn parse_roi(common: &ValidatedCommon, param_prefix: &str) -> Result<Roi, ConfigError> {
    Roi::parse(common.target_roi().unwrap_or("")).map_err(|e| {
        let field = e.field().unwrap_or("target_roi");
        let rest = field.strip_prefix("target_roi").unwrap_or("");
        let rest = if rest.is_empty() || rest.starts_with('.') || rest.starts_with('[') {
            rest.to_string()
        } else {
            format!(".{rest}")
        };
        ConfigError {
            param: format!("{param_prefix}{rest}"),
            message: e.to_string(),
            kind: ConfigErrorKind::InvalidValue,
        }
    })
}

/// Checks `target_roi` at task creation; see [`parse_roi`].
pub fn validate_roi(common: &ValidatedCommon, param_prefix: &str) -> Result<(), ConfigError> {
    parse_roi(common, param_prefix).map(|_| ())
}

/// Algorithm ids ([`crate::AlgorithmSpec::id`]) that have an analyzer.
pub const IMPLEMENTED: &[&str] = &["c-flowcount", "c-intrusiondetection"];

/// The analyzer of `service_name` (e.g. `c-intrusiondetection-edge`) configured by `common`.
/// Refuses unknown and unimplemented services (`param` `service_name`) and an invalid ROI
/// (`param` `config.common.target_roi…`).
pub fn build_analyzer(service_name: &str, common: &ValidatedCommon) -> Result<Box<dyn Analyzer>, ConfigError> {
    build_analyzer_seeded(service_name, common, fresh_seed())
}

/// As [`build_analyzer`], with the seed of the `detection_id`s given (reproducible ids).
pub fn build_analyzer_seeded(
    service_name: &str,
    common: &ValidatedCommon,
    seed: u64,
) -> Result<Box<dyn Analyzer>, ConfigError> {
    let refuse = |message: String| ConfigError {
        param: "service_name".to_string(),
        message,
        kind: ConfigErrorKind::InvalidValue,
    };
    let Some((spec, _)) = Catalog::by_service_name(service_name) else {
        return Err(refuse(format!("unknown algorithm service {service_name:?}")));
    };
    let roi = parse_roi(common, &format!("{COMMON_PATH}.target_roi"))?;
    match spec.id {
        "c-intrusiondetection" => Ok(Box::new(IntrusionAnalyzer::new(
            IntrusionConfig::from_common(common),
            roi,
            seed,
        ))),
        "c-flowcount" => Ok(Box::new(FlowCountAnalyzer::new(FlowConfig::from_common(common), roi))),
        _ => Err(refuse(format!(
            "algorithm {service_name:?} ({}) is not implemented by Vigil yet",
            spec.title_en
        ))),
    }
}
