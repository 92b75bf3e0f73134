//! `target_roi` of a validated `config.common`: parsed into a [`Roi`], with errors reported as
//! [`ConfigError`]s naming the offending field under the caller's path.

use crate::catalog::validate::{ConfigError, ConfigErrorKind, ValidatedCommon};
use crate::roi::Roi;

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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalog::{validate_common, Catalog};

    fn common(roi: &str) -> ValidatedCommon {
        let (spec, _) = Catalog::by_service_name("c-intrusiondetection-edge").expect("in catalogue");
        validate_common(spec, &json!({ "target_roi": roi })).expect("valid common")
    }

    #[test]
    fn errors_name_the_field_under_the_prefix() {
        let err = parse_roi(
            &common(r#"{"polygons":[{"data":[[0,0],[10,0]]}]}"#),
            "service_config.common.target_roi",
        )
        .expect_err("two points are no polygon");
        assert_eq!(err.param, "service_config.common.target_roi.polygons[0].data");
        assert_eq!(err.kind, ConfigErrorKind::InvalidValue);
        let err = validate_roi(&common("not json"), "config.common.target_roi").expect_err("not JSON");
        assert_eq!(err.param, "config.common.target_roi");
    }

    #[test]
    fn accepts_the_spec_example_and_empty() {
        let roi = parse_roi(
            &common(r#"{"lines":[{"data":[[560,680],[1185,506]]}],"polygons":[{"data":[[0,0],[100,0],[100,100]]}]}"#),
            "config.common.target_roi",
        )
        .expect("valid");
        assert_eq!((roi.lines.len(), roi.polygons.len()), (1, 1));
        assert!(parse_roi(&common(""), "config.common.target_roi")
            .expect("empty")
            .is_whole_frame());
    }
}
