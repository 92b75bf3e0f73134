//! Placeholder until the analyzers land (replaced by the analyzers branch).
use crate::{Analyzer, ConfigError, ConfigErrorKind, ValidatedCommon};

pub fn build_analyzer(service_name: &str, _common: &ValidatedCommon) -> Result<Box<dyn Analyzer>, ConfigError> {
    Err(ConfigError {
        param: "service_name".into(),
        message: format!("{service_name}: no analyzer yet"),
        kind: ConfigErrorKind::InvalidValue,
    })
}
