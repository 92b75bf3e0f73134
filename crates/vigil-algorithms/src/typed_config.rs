//! Typed `config.common`: each analyzer's config struct is deserialised once from the validated
//! object, whose keys, defaults and ranges come from the catalogue entry (the one place they
//! are written). A struct field naming a key the catalogue does not have is an error when the
//! analyzer is built (tested for every registered algorithm), never a silent default.

use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::Deserialize;
use serde_json::Value;

use crate::validate::{ConfigError, ConfigErrorKind, ValidatedCommon, COMMON_PATH};

/// Deserialises `T` from the effective (validated, defaults filled) `config.common`.
pub fn typed<T: DeserializeOwned>(common: &ValidatedCommon) -> Result<T, ConfigError> {
    serde_json::from_value(common.to_value()).map_err(|e| ConfigError {
        param: COMMON_PATH.to_string(),
        message: format!("config.common does not fit the analyzer: {e}"),
        kind: ConfigErrorKind::InvalidValue,
    })
}

/// A 0/1 switch key as `bool`.
pub fn switch<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match i64::deserialize(d)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(D::Error::custom(format!("switch value {other}, expected 0 or 1"))),
    }
}

/// An integer given as a number or as a string holding one (`"alarm_threshold": "5"`).
pub fn int_text<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64().ok_or_else(|| D::Error::custom("not an integer")),
        Value::String(s) => s.trim().parse().map_err(D::Error::custom),
        other => Err(D::Error::custom(format!("expected an integer, got {other}"))),
    }
}

/// A space-separated integer list (`"output_vehicle_type": "0 1 2"`, `"alarm_threshold": "25 30"`,
/// validated by the catalogue); absent or `null` is `None`.
pub fn int_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<i64>>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => s
            .split_whitespace()
            .map(|v| v.parse().map_err(D::Error::custom))
            .collect::<Result<Vec<i64>, _>>()
            .map(Some),
    }
}

/// Seconds as `f64` from an integer key.
pub fn secs<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(i64::deserialize(d)? as f64)
}
