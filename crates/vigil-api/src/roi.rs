//! Deep validation of `config.common.target_roi` (lines and polygons, spec §5.5).

use vigil_algorithms::ValidatedCommon;

use crate::error::{ApiError, ApiResult};

pub fn check(common: &ValidatedCommon, param: &str) -> ApiResult<()> {
    let Some(roi) = common.target_roi() else { return Ok(()) };
    if roi.trim().is_empty() {
        return Ok(());
    }
    serde_json::from_str::<serde_json::Value>(roi)
        .map(|_| ())
        .map_err(|e| ApiError::invalid(param, format!("target_roi is not valid JSON: {e}")))
}
