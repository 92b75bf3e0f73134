//! `config.common` validation: one data-driven validator for every algorithm.

use serde_json::{Map, Value};

use crate::catalog::schema::{ParamKind, ParamSpec, MAX_POINT_ABS};
use crate::catalog::{AlgorithmSpec, Constraint};

/// JSON path of the common config in the current task body.
pub const COMMON_PATH: &str = "config.common";

/// What went wrong, for callers that branch on it (the API maps all of them to
/// `VIAS.00010001` with [`ConfigError::param`] in `params`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// `config.common` (or a nested object key) is not a JSON object.
    NotAnObject,
    /// The key is not part of the algorithm's schema.
    UnknownKey,
    /// A required key is missing.
    Missing,
    /// The JSON type is wrong (e.g. a string where an integer is expected).
    WrongType,
    /// A switch is neither `0` nor `1`.
    BadSwitch,
    /// A number (or a number in a string) is outside its range.
    OutOfRange,
    /// A string is not one of the allowed values, not a number, or of the wrong length.
    InvalidValue,
    /// Two keys contradict each other (e.g. `detection_min_size` > `detection_max_size`).
    Conflict,
}

/// A refused `config.common`: the offending parameter's JSON path and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {message}")]
pub struct ConfigError {
    /// JSON path, e.g. `config.common.image_compression_ratio`; goes into the VIAS `params`.
    pub param: String,
    /// English explanation, suitable for `error_msg` detail.
    pub message: String,
    pub kind: ConfigErrorKind,
}

impl ConfigError {
    fn new(kind: ConfigErrorKind, param: &str, message: String) -> Self {
        Self {
            param: param.to_string(),
            message,
            kind,
        }
    }
}

/// A `config.common` that passed validation, with defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedCommon {
    values: Map<String, Value>,
}

impl ValidatedCommon {
    /// The effective value of a key (given or default).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    /// An integer key, or an integer held in a string (`"banner_threshold": "2"` gives 2).
    pub fn get_i64(&self, key: &str) -> Option<i64> {
        match self.values.get(key)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// A switch key: `Some(true)` for 1.
    pub fn get_switch(&self, key: &str) -> Option<bool> {
        self.get_i64(key).map(|v| v == 1)
    }

    /// A string key.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.values.get(key)?.as_str()
    }

    /// The raw `target_roi` JSON text, `None` when absent (= whole frame).
    pub fn target_roi(&self) -> Option<&str> {
        self.get_str("target_roi")
    }

    /// The full effective object, for echo and storage.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.values
    }

    /// The full effective object as a JSON value.
    pub fn to_value(&self) -> Value {
        Value::Object(self.values.clone())
    }

    /// The full effective object as a JSON value.
    pub fn into_value(self) -> Value {
        Value::Object(self.values)
    }
}

impl From<ValidatedCommon> for Value {
    fn from(common: ValidatedCommon) -> Self {
        common.into_value()
    }
}

/// Validates `common` (the value of `config.common`) against the algorithm's schema and
/// fills in defaults. Error paths start with `config.common`.
pub fn validate_common(spec: &AlgorithmSpec, common: &Value) -> Result<ValidatedCommon, ConfigError> {
    validate_common_at(spec, common, COMMON_PATH)
}

/// As [`validate_common`], with another path prefix for errors (the legacy VAS body calls it
/// `service_config.common`).
pub fn validate_common_at(spec: &AlgorithmSpec, common: &Value, path: &str) -> Result<ValidatedCommon, ConfigError> {
    let strict = spec.refuses_unknown_keys();
    let values = check_object(spec.key_groups, strict, common, path)?;
    for constraint in spec.constraints {
        check_constraint(constraint, &values, path)?;
    }
    Ok(ValidatedCommon { values })
}

fn join(path: &str, key: &str) -> String {
    format!("{path}.{key}")
}

/// Checks an object against groups of keys; returns it with defaults filled in. `null` values
/// count as absent. Unknown keys are refused when `strict`, kept verbatim otherwise.
fn check_object(
    groups: &[&'static [ParamSpec]],
    strict: bool,
    value: &Value,
    path: &str,
) -> Result<Map<String, Value>, ConfigError> {
    let Some(object) = value.as_object() else {
        return Err(ConfigError::new(
            ConfigErrorKind::NotAnObject,
            path,
            format!("must be a JSON object, got {}", describe(value)),
        ));
    };
    let find = |key: &str| groups.iter().flat_map(|g| g.iter()).find(|p| p.key == key);
    let mut out = Map::new();
    for (key, given) in object {
        let here = join(path, key);
        match find(key) {
            _ if given.is_null() => {}
            Some(param) => {
                out.insert(key.clone(), check_value(param, strict, given, &here)?);
            }
            None if strict => {
                return Err(ConfigError::new(
                    ConfigErrorKind::UnknownKey,
                    &join(path, &clip(key)),
                    format!("unknown key `{}`", clip(key)),
                ))
            }
            None => {
                out.insert(key.clone(), given.clone());
            }
        }
    }
    for param in groups.iter().flat_map(|g| g.iter()) {
        if out.contains_key(param.key) {
            continue;
        }
        if param.required {
            return Err(ConfigError::new(
                ConfigErrorKind::Missing,
                &join(path, param.key),
                "is required".to_string(),
            ));
        }
        if let Some(default) = param.default.to_json() {
            out.insert(param.key.to_string(), default);
        }
    }
    Ok(out)
}

/// Checks one present, non-null value; returns its effective (normalised) form.
fn check_value(param: &ParamSpec, strict: bool, given: &Value, path: &str) -> Result<Value, ConfigError> {
    let wrong_type = || {
        ConfigError::new(
            ConfigErrorKind::WrongType,
            path,
            format!("must be {}, got {}", expected(param), describe(given)),
        )
    };
    match param.kind {
        ParamKind::Switch => match whole(given) {
            Some(Whole::Int(v @ (0 | 1))) => Ok(v.into()),
            Some(_) => Err(ConfigError::new(
                ConfigErrorKind::BadSwitch,
                path,
                format!("must be 0 or 1, got {}", describe(given)),
            )),
            None => Err(wrong_type()),
        },
        ParamKind::Int { min, max } => match whole(given) {
            Some(Whole::Int(v)) => in_range(v, min, max, given, path).map(Value::from),
            Some(Whole::Huge) => Err(out_of_range(min, max, given, path)),
            Some(Whole::Fraction) => Err(ConfigError::new(
                ConfigErrorKind::WrongType,
                path,
                format!("must be a whole number, got {}", describe(given)),
            )),
            None => Err(wrong_type()),
        },
        ParamKind::IntText { min, max } => {
            let text = given.as_str().ok_or_else(wrong_type)?;
            let v = parse_int(text, path)?;
            in_range(v, min, max, given, path)?;
            Ok(given.clone())
        }
        ParamKind::IntList { min, max } => {
            let text = given.as_str().ok_or_else(wrong_type)?;
            let mut count = 0;
            for item in text.split_whitespace() {
                in_range(parse_int(item, path)?, min, max, given, path)?;
                count += 1;
            }
            if count == 0 {
                return Err(ConfigError::new(
                    ConfigErrorKind::InvalidValue,
                    path,
                    "must list at least one number".to_string(),
                ));
            }
            Ok(given.clone())
        }
        ParamKind::Enum(allowed) => {
            let text = given.as_str().ok_or_else(wrong_type)?;
            if allowed.contains(&text) {
                Ok(given.clone())
            } else {
                Err(ConfigError::new(
                    ConfigErrorKind::InvalidValue,
                    path,
                    format!("must be one of {}, got {}", allowed.join(", "), describe(given)),
                ))
            }
        }
        ParamKind::Text { min_chars, max_chars } => {
            let text = given.as_str().ok_or_else(wrong_type)?;
            let n = text.chars().count();
            if (min_chars..=max_chars).contains(&n) {
                Ok(given.clone())
            } else {
                Err(ConfigError::new(
                    ConfigErrorKind::InvalidValue,
                    path,
                    format!("must have {min_chars} to {max_chars} characters, got {n}"),
                ))
            }
        }
        ParamKind::Roi => given.as_str().map(|_| given.clone()).ok_or_else(wrong_type),
        ParamKind::Object(fields) => check_object(&[fields], strict, given, path).map(Value::Object),
        ParamKind::Points { count } => check_points(count, given, path, wrong_type),
    }
}

/// `[[x, y], …]` with exactly `count` points of finite numbers within `±MAX_POINT_ABS`.
fn check_points(
    count: usize,
    given: &Value,
    path: &str,
    wrong_type: impl Fn() -> ConfigError,
) -> Result<Value, ConfigError> {
    let points = given.as_array().ok_or_else(&wrong_type)?;
    if points.len() != count {
        return Err(ConfigError::new(
            ConfigErrorKind::InvalidValue,
            path,
            format!("must hold exactly {count} points, got {}", points.len()),
        ));
    }
    for (i, p) in points.iter().enumerate() {
        let here = format!("{path}[{i}]");
        let xy: Vec<f64> = p
            .as_array()
            .filter(|a| a.len() == 2)
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        if xy.len() != 2 {
            return Err(ConfigError::new(
                ConfigErrorKind::WrongType,
                &here,
                format!("must be a point [x, y] of two numbers, got {}", describe(p)),
            ));
        }
        if xy.iter().any(|v| !v.is_finite() || v.abs() > MAX_POINT_ABS) {
            return Err(ConfigError::new(
                ConfigErrorKind::OutOfRange,
                &here,
                format!("coordinates must be within ±{MAX_POINT_ABS}"),
            ));
        }
    }
    Ok(given.clone())
}

/// A JSON number classified for integer keys.
enum Whole {
    /// No fractional part (`2`, also `2.0`) and within i64.
    Int(i64),
    /// A whole number beyond i64.
    Huge,
    /// Has a fractional part.
    Fraction,
}

/// `None` when the value is not a JSON number.
fn whole(value: &Value) -> Option<Whole> {
    let n = value.as_number()?;
    if let Some(v) = n.as_i64() {
        return Some(Whole::Int(v));
    }
    if n.is_u64() {
        return Some(Whole::Huge);
    }
    let f = n.as_f64()?;
    Some(if f.fract() != 0.0 {
        Whole::Fraction
    } else if (-9.0e18..=9.0e18).contains(&f) {
        Whole::Int(f as i64)
    } else {
        Whole::Huge
    })
}

fn parse_int(text: &str, path: &str) -> Result<i64, ConfigError> {
    text.parse::<i64>().map_err(|_| {
        ConfigError::new(
            ConfigErrorKind::InvalidValue,
            path,
            format!("must hold a whole number, got \"{}\"", clip(text)),
        )
    })
}

fn in_range(v: i64, min: i64, max: i64, given: &Value, path: &str) -> Result<i64, ConfigError> {
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(out_of_range(min, max, given, path))
    }
}

fn out_of_range(min: i64, max: i64, given: &Value, path: &str) -> ConfigError {
    ConfigError::new(
        ConfigErrorKind::OutOfRange,
        path,
        format!("must be between {min} and {max}, got {}", describe(given)),
    )
}

fn check_constraint(constraint: &Constraint, values: &Map<String, Value>, path: &str) -> Result<(), ConfigError> {
    match *constraint {
        Constraint::NotGreater { lower, upper } => {
            let get = |key: &str| values.get(key).and_then(Value::as_i64);
            match (get(lower), get(upper)) {
                (Some(lo), Some(hi)) if lo > hi => Err(ConfigError::new(
                    ConfigErrorKind::Conflict,
                    &join(path, lower),
                    format!("must not be greater than {upper} ({hi}), got {lo}"),
                )),
                _ => Ok(()),
            }
        }
    }
}

/// What the key expects, in words, for wrong-type messages.
fn expected(param: &ParamSpec) -> &'static str {
    match param.kind {
        ParamKind::Switch => "the number 0 or 1",
        ParamKind::Int { .. } => "an integer (JSON number)",
        ParamKind::IntText { .. } => "a string holding a whole number, e.g. \"2\"",
        ParamKind::IntList { .. } => "a string of space-separated whole numbers",
        ParamKind::Enum(_) | ParamKind::Text { .. } => "a string",
        ParamKind::Roi => "a string holding the ROI as JSON text",
        ParamKind::Object(_) => "a JSON object",
        ParamKind::Points { .. } => "an array of points [x, y]",
    }
}

/// A short description of a received value for messages (long strings are clipped).
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("string \"{}\"", clip(s)),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
    }
}

fn clip(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let head: String = text.chars().take(MAX).collect();
        format!("{head}…")
    }
}
