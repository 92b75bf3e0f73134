//! Deep validation of `config.common.target_roi` (lines and polygons, spec §5.5) with the vision
//! crate's parser, so the error names the exact element (`…target_roi.lines[0].data`).

use vigil_algorithms::ValidatedCommon;

use crate::error::{ApiError, ApiResult};

/// `param` is the path of `target_roi` itself, e.g. `config.common.target_roi`.
pub fn check(common: &ValidatedCommon, param: &str) -> ApiResult<()> {
    let Some(roi) = common.target_roi() else { return Ok(()) };
    vigil_vision::Roi::parse(roi).map(|_| ()).map_err(|e| {
        let field = e.field().unwrap_or("target_roi");
        let suffix = field.strip_prefix("target_roi").unwrap_or("");
        ApiError::invalid(format!("{param}{suffix}"), e.to_string())
    })
}
