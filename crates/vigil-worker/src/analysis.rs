//! A task's analyzer built from its service name and `config`, shared by task pipelines and
//! `vigil analyze` (both then run it on the engine, [`crate::engine`]).

use serde_json::Value;
use vigil_algorithms::{build_analyzer_with, validate_common, Analyzer, AnalyzerContext, Catalog, ModelBinding};
use vigil_vision::{BackendConfig, ModelDir, RenderOptions};

use crate::engine::RenderSwitches;

/// Process-wide analysis settings.
#[derive(Debug, Clone)]
pub struct AnalysisSettings {
    pub models: ModelDir,
    pub backend: BackendConfig,
    /// Frames per second handed to analyzers that do not ask for a rate of their own.
    pub fps: f64,
}

/// The analyzer of `service_name` from a task's `config` (`{"common": {…}}`) and its rendering
/// switches, for algorithms on Vigil's shipped models.
pub fn build_task_analyzer(
    service_name: &str,
    config: &Value,
    settings: &AnalysisSettings,
) -> Result<(Box<dyn Analyzer>, RenderSwitches), String> {
    build_task_analyzer_with(service_name, config, settings, None)
}

/// As [`build_task_analyzer`], with the operator's detector of a model-bound algorithm or of a
/// partner rule service (`service_name` not in the catalogue: the package's name).
pub fn build_task_analyzer_with(
    service_name: &str,
    config: &Value,
    settings: &AnalysisSettings,
    model: Option<ModelBinding>,
) -> Result<(Box<dyn Analyzer>, RenderSwitches), String> {
    let partner = Catalog::by_service_name(service_name).is_none();
    let spec = match Catalog::by_service_name(service_name) {
        Some((spec, _)) => spec,
        None if model.as_ref().is_some_and(|m| m.rule.is_some()) => &vigil_algorithms::catalog::PARTNER_RULE,
        None => return Err(format!("unknown algorithm service {service_name}")),
    };
    let common_json = config
        .get("common")
        .cloned()
        .unwrap_or(Value::Object(Default::default()));
    let common = validate_common(spec, &common_json).map_err(|e| e.to_string())?;
    let ctx = AnalyzerContext {
        analysis_fps: settings.fps,
        model,
        ..AnalyzerContext::default()
    };
    let analyzer = if partner {
        vigil_algorithms::registry::build_partner_analyzer(&common, &ctx).map_err(|e| e.to_string())?
    } else {
        build_analyzer_with(service_name, &common, &ctx).map_err(|e| e.to_string())?
    };
    let switch = |key: &str| common.get_switch(key).unwrap_or(false);
    let render = RenderSwitches(RenderOptions {
        render_result: switch("render_result_sw"),
        render_roi: switch("render_roi_sw"),
        quality: common.get_i64("image_compression_ratio").unwrap_or(90).clamp(20, 100) as u8,
    });
    Ok((analyzer, render))
}
