//! The `config.common` key schema: what one key accepts, its range and default.
//!
//! Schemas are plain `const` data so that the catalogue (`table.rs`) is a table, and one
//! validator (`validate.rs`) serves every algorithm.

/// What JSON value a key accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// Integer switch: the JSON number `0` or `1`.
    Switch,
    /// JSON integer (a number without fractional part) in `min..=max`.
    Int { min: i64, max: i64 },
    /// JSON string holding one decimal integer in `min..=max`, e.g. crowd density's
    /// `"banner_threshold": "2"`.
    IntText { min: i64, max: i64 },
    /// JSON string of space-separated decimal integers, each in `min..=max`, e.g. vehicle
    /// detection's `"output_vehicle_type": "0 1 2"`.
    IntList { min: i64, max: i64 },
    /// JSON string, one of the listed values.
    Enum(&'static [&'static str]),
    /// JSON string of `min_chars..=max_chars` characters.
    Text { min_chars: usize, max_chars: usize },
    /// `target_roi`: a JSON string that itself holds JSON text (lines and polygons). Only the
    /// string type is checked here; the geometry is validated by `vigil-vision`.
    Roi,
    /// JSON object with its own keys, e.g. vehicle detection's `license_plate`.
    Object(&'static [ParamSpec]),
    /// JSON array of exactly `count` points `[x, y]` (JSON numbers, each within
    /// `±`[`MAX_POINT_ABS`]), e.g. the four calibration points of speeding detection.
    Points { count: usize },
}

/// Largest absolute coordinate a [`ParamKind::Points`] value accepts (pixels or metres).
pub const MAX_POINT_ABS: f64 = 1_000_000.0;

/// Value a key takes when the request omits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// No default: the key stays absent from the effective config.
    None,
    /// A JSON integer.
    Int(i64),
    /// A JSON string.
    Str(&'static str),
}

impl DefaultValue {
    /// The default as JSON, `None` when there is no default.
    pub fn to_json(self) -> Option<serde_json::Value> {
        match self {
            DefaultValue::None => None,
            DefaultValue::Int(v) => Some(v.into()),
            DefaultValue::Str(s) => Some(s.into()),
        }
    }
}

/// One key of `config.common`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamSpec {
    /// JSON key, e.g. `image_compression_ratio`.
    pub key: &'static str,
    pub kind: ParamKind,
    pub default: DefaultValue,
    /// The request must contain the key (no built-in algorithm has one yet).
    pub required: bool,
    /// Meaning, units included, in English.
    pub meaning: &'static str,
}

impl ParamSpec {
    /// An integer switch `0`/`1` with its default.
    pub const fn switch(key: &'static str, default: i64, meaning: &'static str) -> Self {
        Self::new(key, ParamKind::Switch, DefaultValue::Int(default), meaning)
    }

    /// An integer in `min..=max` with its default.
    pub const fn int(key: &'static str, min: i64, max: i64, default: i64, meaning: &'static str) -> Self {
        Self::new(key, ParamKind::Int { min, max }, DefaultValue::Int(default), meaning)
    }

    /// Any kind; `default` may be [`DefaultValue::None`].
    pub const fn new(key: &'static str, kind: ParamKind, default: DefaultValue, meaning: &'static str) -> Self {
        Self {
            key,
            kind,
            default,
            required: false,
            meaning,
        }
    }

    /// The same key with another default (e.g. `image_compression_ratio` 100 for vehicles).
    pub const fn with_default(mut self, default: DefaultValue) -> Self {
        self.default = default;
        self
    }

    /// The same key, marked required.
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Short type name for documentation and error messages.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            ParamKind::Switch => "integer switch",
            ParamKind::Int { .. } => "integer",
            ParamKind::IntText { .. } => "string (integer)",
            ParamKind::IntList { .. } => "string (space-separated integers)",
            ParamKind::Enum(_) => "string enum",
            ParamKind::Text { .. } => "string",
            ParamKind::Roi => "string (ROI JSON text)",
            ParamKind::Object(_) => "object",
            ParamKind::Points { .. } => "array of [x, y]",
        }
    }

    /// Accepted values in words, e.g. `20–100`, `0/1`, `single | periodic`.
    pub fn range_text(&self) -> String {
        match self.kind {
            ParamKind::Switch => "0/1".to_string(),
            ParamKind::Int { min, max } | ParamKind::IntText { min, max } => {
                format!("{min}–{max}")
            }
            ParamKind::IntList { min, max } => format!("each {min}–{max}"),
            ParamKind::Enum(values) => values.join(" | "),
            ParamKind::Text { min_chars, max_chars } => format!("{min_chars}–{max_chars} chars"),
            ParamKind::Roi => "lines / polygons".to_string(),
            ParamKind::Object(fields) => {
                let keys: Vec<&str> = fields.iter().map(|f| f.key).collect();
                format!("keys {}", keys.join(", "))
            }
            ParamKind::Points { count } => format!("{count} points"),
        }
    }
}

/// `single` or `periodic`.
pub const ALERT_MODES: &[&str] = &["single", "periodic"];

/// One day in seconds: Vigil's upper bound for periods the spec leaves open.
pub const DAY_S: i64 = 86_400;

/// Widest frame side Vigil accepts for pixel sizes in the 1080p reference frame.
pub const MAX_SIZE_PX: i64 = 1920;

/// Shared keys of spec §5.5.
pub mod shared {
    use super::{DefaultValue, ParamKind, ParamSpec, ALERT_MODES, DAY_S, MAX_SIZE_PX};

    pub const TARGET_ROI: ParamSpec = ParamSpec::new(
        "target_roi",
        ParamKind::Roi,
        DefaultValue::None,
        "detection lines and areas as JSON text; absent = the whole frame",
    );
    pub const IMAGE_COMPRESSION_RATIO: ParamSpec = ParamSpec::int(
        "image_compression_ratio",
        20,
        100,
        90,
        "JPEG quality (%) of image_base64",
    );
    pub const RENDER_RESULT_SW: ParamSpec = ParamSpec::switch(
        "render_result_sw",
        0,
        "1 = draw alarm targets (red boxes) on the output picture",
    );
    pub const RENDER_ROI_SW: ParamSpec = ParamSpec::switch(
        "render_roi_sw",
        0,
        "1 = draw the configured ROI (yellow) on the output picture",
    );
    pub const EVENT_DISAPPEAR_ALERT_SW: ParamSpec = ParamSpec::switch(
        "event_disappear_alert_sw",
        0,
        "1 = also report alarm_type 1 when an alarmed event disappears",
    );
    pub const ALERT_MODE: ParamSpec = ParamSpec::new(
        "alert_mode",
        ParamKind::Enum(ALERT_MODES),
        DefaultValue::Str("single"),
        "single: report each new alarm once; periodic: report the state every period",
    );
    pub const ALERT_DETECTION_INTERVAL: ParamSpec = ParamSpec::new(
        "alert_detection_interval",
        ParamKind::Int { min: 1, max: DAY_S },
        DefaultValue::None,
        "detection / merge period in seconds",
    );
    /// Vigil extension: skip the detector on frames without motion in the ROI (docs/engine.md).
    pub const MOTION_GATING_SW: ParamSpec = ParamSpec::switch(
        "motion_gating_sw",
        0,
        "1 = skip the detector on frames without motion in the ROI (Vigil's key)",
    );
    pub const OUTPUT_IMAGE_SW: ParamSpec =
        ParamSpec::switch("output_image_sw", 1, "1 = include the picture (image_base64) in alarms");
    pub const PERSON_DETECTION_SW: ParamSpec = ParamSpec::switch("person_detection_sw", 1, "1 = detect persons");
    pub const CAR_DETECTION_SW: ParamSpec = ParamSpec::switch("car_detection_sw", 0, "1 = detect vehicles");
    pub const DETECTION_MIN_SIZE: ParamSpec = ParamSpec::new(
        "detection_min_size",
        ParamKind::Int {
            min: 0,
            max: MAX_SIZE_PX,
        },
        DefaultValue::None,
        "ignore targets smaller than this many pixels (1080p reference)",
    );
    pub const DETECTION_MAX_SIZE: ParamSpec = ParamSpec::new(
        "detection_max_size",
        ParamKind::Int {
            min: 1,
            max: MAX_SIZE_PX,
        },
        DefaultValue::None,
        "ignore targets larger than this many pixels (1080p reference)",
    );

    /// The keys nearly every algorithm accepts (spec §5.6 preamble).
    pub const BASE: &[ParamSpec] = &[TARGET_ROI, IMAGE_COMPRESSION_RATIO, RENDER_RESULT_SW, RENDER_ROI_SW];
}
