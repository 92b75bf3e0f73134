//! Bring-your-own model packages (Algorithm Center, `alg_class: partner`): the manifest that
//! travels with an ONNX detector — what the network expects as input, how its output is decoded,
//! its class names and thresholds — and the rule binding that says which algorithm uses it.
//! Pure data and validation; `vigil-vision` loads and decodes, `vigil-algorithms` applies rules.
//! The format is documented in `docs/algorithm-center.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::FieldError;

/// A package manifest (`manifest.json` next to the model file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageManifest {
    /// `[a-z][a-z0-9-]{2,62}`; the service name of a generic-rule package.
    pub name: String,
    pub version: String,
    /// SPDX id or licence text of the weights (shown in the service list).
    pub licence: String,
    /// Vendor shown as `company` in the Algorithm Center.
    #[serde(default)]
    pub company: String,
    #[serde(default)]
    pub description: String,
    pub input: InputSpec,
    pub decoder: DecoderSpec,
    /// Class names in the model's output order.
    pub classes: Vec<String>,
    /// Detections below this score are dropped (0–1).
    #[serde(default = "default_score")]
    pub score_threshold: f32,
    /// IoU of the per-class non-maximum suppression (0–1).
    #[serde(default = "default_iou")]
    pub nms_iou: f32,
    /// Lowercase hex SHA-256 of the model file; checked on install and on every load.
    pub sha256: String,
    pub binding: Binding,
}

fn default_score() -> f32 {
    0.35
}
fn default_iou() -> f32 {
    0.45
}

/// What the network takes: one image tensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    pub width: u32,
    pub height: u32,
    #[serde(default)]
    pub layout: Layout,
    #[serde(default)]
    pub channels: ChannelOrder,
    #[serde(default)]
    pub resize: Resize,
    /// Letterbox padding value (0–255 scale, before normalisation).
    #[serde(default = "default_pad")]
    pub pad_value: f32,
    /// Per-channel mean and std in the order of `channels`, on the 0–255 scale:
    /// `x = (pixel - mean) / std`. YOLOX: mean 0, std 1; YOLOv5/v8: mean 0, std 255.
    #[serde(default = "zero3")]
    pub mean: [f32; 3],
    #[serde(default = "one3")]
    pub std: [f32; 3],
}

fn default_pad() -> f32 {
    114.0
}
fn zero3() -> [f32; 3] {
    [0.0; 3]
}
fn one3() -> [f32; 3] {
    [1.0; 3]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Layout {
    #[default]
    Nchw,
    Nhwc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ChannelOrder {
    #[default]
    Bgr,
    Rgb,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resize {
    /// Keep the aspect ratio, image at the top-left, pad the rest.
    #[default]
    Letterbox,
    /// Keep the aspect ratio, image centred, pad both sides equally (Ultralytics YOLOv5/v8).
    LetterboxCenter,
    /// Stretch to the input size.
    Stretch,
}

/// The output decoder family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "lowercase", deny_unknown_fields)]
pub enum DecoderSpec {
    /// `[1, N, 5 + C]` raw grid outputs (`xy = (p + grid) * s`, `wh = exp(p) * s`), obj × cls.
    Yolox {
        #[serde(default = "default_strides")]
        strides: Vec<u32>,
    },
    /// `[1, N, 5 + C]` decoded boxes `cx, cy, w, h` in input pixels, obj × cls.
    Yolov5,
    /// `[1, 4 + C, N]` (or `[1, N, 4 + C]`) decoded boxes `cx, cy, w, h` in input pixels, class
    /// scores (no objectness).
    Yolov8,
    /// NanoDet (GFL): per stride a class-score output `[1, N, C]` (sigmoid applied) and a
    /// distance-distribution output `[1, N, 4 × (reg_max + 1)]` (or one output
    /// `[1, ΣN, C + 4 × (reg_max + 1)]`, NanoDet-Plus). Cell centre `(i + center_offset) × s`.
    Nanodet {
        #[serde(default = "default_strides")]
        strides: Vec<u32>,
        #[serde(default = "default_reg_max")]
        reg_max: u32,
        /// 0.5 for NanoDet (v0.x, `nanodet_m`), 0 for NanoDet-Plus.
        #[serde(default = "default_center_offset")]
        center_offset: f32,
    },
}

fn default_strides() -> Vec<u32> {
    vec![8, 16, 32]
}
fn default_reg_max() -> u32 {
    7
}
fn default_center_offset() -> f32 {
    0.5
}

/// Which algorithm uses the detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Binding {
    /// One of the built-in VIAS algorithms that needs a model (e.g. `c-urban-stacking`):
    /// model class name → the role the algorithm counts (see `catalog::model_roles`).
    Algorithm {
        algorithm: String,
        class_map: BTreeMap<String, String>,
    },
    /// A generic rule with its own event type, served under the package's name.
    Rule(RuleBinding),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleBinding {
    pub rule: RuleKind,
    /// Event type of the alarms, in Vigil's partner range [`PARTNER_EVENT_TYPES`].
    pub event_type: u64,
    /// Class names (of `classes`) the rule watches; empty = all.
    #[serde(default)]
    pub classes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// Objects inside an ROI polygon (whole frame without ROI).
    ObjectsInRegion,
    /// Tracked objects crossing an ROI line.
    LineCrossing,
    /// Tracked objects staying in an ROI polygon longer than `alert_time_threshold`.
    Dwell,
}

/// Event types of generic-rule packages (no VIAS algorithm uses this range).
pub const PARTNER_EVENT_TYPES: std::ops::RangeInclusive<u64> = 90_000_000..=90_999_999;

impl PackageManifest {
    /// Parses and validates a manifest; errors are VIAS.00010001 naming the field
    /// (`manifest.input.width`, `manifest.classes[3]`).
    pub fn parse(value: &serde_json::Value) -> Result<Self, FieldError> {
        if !value.is_object() {
            return Err(FieldError::invalid("manifest", "must be a JSON object"));
        }
        if let Some(b) = value.get("binding") {
            check_binding_shape(b)?;
        }
        // serde lets unit variants of an internally tagged enum ignore extra keys.
        if let Some(d) = value.get("decoder").and_then(|d| d.as_object()) {
            if matches!(d.get("family").and_then(|f| f.as_str()), Some("yolov5" | "yolov8")) {
                if let Some(k) = d.keys().find(|k| *k != "family") {
                    return Err(FieldError::invalid(
                        format!("manifest.decoder.{k}"),
                        format!("unknown field `{k}`: the {} decoder has no parameters", d["family"]),
                    ));
                }
            }
        }
        let m: PackageManifest = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            field_of_serde_error(&path, &inner)
        })?;
        m.validate()?;
        Ok(m)
    }

    /// The semantic checks of [`PackageManifest::parse`] (for manifests built in code).
    pub fn validate(&self) -> Result<(), FieldError> {
        let bad = |field: &str, msg: String| Err(FieldError::invalid(format!("manifest.{field}"), msg));
        if !valid_name(&self.name) {
            return bad("name", format!("`{}` must match [a-z][a-z0-9-]{{2,62}}", self.name));
        }
        let v = &self.version;
        if v.is_empty() || v.chars().count() > 32 || !v.chars().all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
        {
            return bad("version", "must be 1-32 characters of [A-Za-z0-9._+-]".into());
        }
        if self.licence.trim().is_empty() || self.licence.chars().count() > 4096 {
            return bad(
                "licence",
                "must be a non-empty SPDX id or licence text (at most 4096 characters)".into(),
            );
        }
        if self.company.chars().count() > 128 {
            return bad("company", "at most 128 characters".into());
        }
        if self.description.chars().count() > 2048 {
            return bad("description", "at most 2048 characters".into());
        }
        self.input.validate()?;
        self.decoder.validate(&self.input)?;
        if self.classes.is_empty() || self.classes.len() > 1000 {
            return bad(
                "classes",
                format!("must list 1 to 1000 class names, got {}", self.classes.len()),
            );
        }
        for (i, c) in self.classes.iter().enumerate() {
            if c.trim().is_empty() || c.chars().count() > 64 || c.chars().any(char::is_control) {
                return bad(
                    &format!("classes[{i}]"),
                    "a class name is 1-64 printable characters".into(),
                );
            }
            if self.classes[..i].contains(c) {
                return bad(&format!("classes[{i}]"), format!("duplicate class name `{c}`"));
            }
        }
        for (field, v) in [("score_threshold", self.score_threshold), ("nms_iou", self.nms_iou)] {
            if !(0.0..=1.0).contains(&v) {
                return bad(field, format!("must be between 0 and 1, got {v}"));
            }
        }
        if self.sha256.len() != 64
            || !self
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return bad(
                "sha256",
                "must be the 64 lowercase hex digits of the model file's SHA-256".into(),
            );
        }
        self.binding.validate(&self.classes)
    }

    /// The index of class `name` in the model output.
    pub fn class_id(&self, name: &str) -> Option<u32> {
        self.classes.iter().position(|c| c == name).map(|i| i as u32)
    }
}

impl InputSpec {
    fn validate(&self) -> Result<(), FieldError> {
        let bad = |field: &str, msg: String| Err(FieldError::invalid(format!("manifest.input.{field}"), msg));
        for (field, v) in [("width", self.width), ("height", self.height)] {
            if !(32..=2048).contains(&v) {
                return bad(field, format!("must be 32 to 2048 pixels, got {v}"));
            }
        }
        if !(0.0..=255.0).contains(&self.pad_value) {
            return bad("pad_value", format!("must be 0 to 255, got {}", self.pad_value));
        }
        for i in 0..3 {
            if !self.mean[i].is_finite() {
                return bad(&format!("mean[{i}]"), "must be a finite number".into());
            }
            if !self.std[i].is_finite() || self.std[i] == 0.0 {
                return bad(&format!("std[{i}]"), "must be a finite non-zero number".into());
            }
        }
        Ok(())
    }
}

impl DecoderSpec {
    /// The family name as written in the manifest.
    pub fn family(&self) -> &'static str {
        match self {
            DecoderSpec::Yolox { .. } => "yolox",
            DecoderSpec::Yolov5 => "yolov5",
            DecoderSpec::Yolov8 => "yolov8",
            DecoderSpec::Nanodet { .. } => "nanodet",
        }
    }

    fn validate(&self, input: &InputSpec) -> Result<(), FieldError> {
        let bad = |field: &str, msg: String| Err(FieldError::invalid(format!("manifest.decoder.{field}"), msg));
        let strides = match self {
            DecoderSpec::Yolox { strides } => strides,
            DecoderSpec::Nanodet {
                strides,
                reg_max,
                center_offset,
            } => {
                if !(1..=64).contains(reg_max) {
                    return bad("reg_max", format!("must be 1 to 64, got {reg_max}"));
                }
                if !(0.0..=1.0).contains(center_offset) {
                    return bad("center_offset", format!("must be 0 to 1, got {center_offset}"));
                }
                strides
            }
            DecoderSpec::Yolov5 | DecoderSpec::Yolov8 => return Ok(()),
        };
        if strides.is_empty() || strides.len() > 6 {
            return bad("strides", format!("must list 1 to 6 strides, got {}", strides.len()));
        }
        for (i, &s) in strides.iter().enumerate() {
            if !(2..=256).contains(&s) || s > input.width.min(input.height) {
                return bad(
                    &format!("strides[{i}]"),
                    format!("stride {s} must be 2 to 256 and at most the input size"),
                );
            }
            if i > 0 && s <= strides[i - 1] {
                return bad(&format!("strides[{i}]"), "strides must be strictly increasing".into());
            }
        }
        Ok(())
    }
}

impl Binding {
    fn validate(&self, classes: &[String]) -> Result<(), FieldError> {
        let bad = |field: &str, msg: String| Err(FieldError::invalid(format!("manifest.binding.{field}"), msg));
        match self {
            Binding::Algorithm { algorithm, class_map } => {
                if algorithm.trim().is_empty() {
                    return bad("algorithm", "must name a VIAS algorithm (e.g. c-urban-stacking)".into());
                }
                if class_map.is_empty() {
                    return bad("class_map", "must map at least one model class to a role".into());
                }
                for (class, role) in class_map {
                    if !classes.contains(class) {
                        return bad(
                            &format!("class_map.{class}"),
                            format!("`{class}` is not one of the manifest's classes"),
                        );
                    }
                    if role.trim().is_empty() {
                        return bad(&format!("class_map.{class}"), "the role must not be empty".into());
                    }
                }
                Ok(())
            }
            Binding::Rule(r) => {
                if !PARTNER_EVENT_TYPES.contains(&r.event_type) {
                    return bad(
                        "event_type",
                        format!(
                            "must be in Vigil's partner range {}..={}, got {}",
                            PARTNER_EVENT_TYPES.start(),
                            PARTNER_EVENT_TYPES.end(),
                            r.event_type
                        ),
                    );
                }
                for (i, c) in r.classes.iter().enumerate() {
                    if !classes.contains(c) {
                        return bad(
                            &format!("classes[{i}]"),
                            format!("`{c}` is not one of the manifest's classes"),
                        );
                    }
                    if r.classes[..i].contains(c) {
                        return bad(&format!("classes[{i}]"), format!("duplicate class `{c}`"));
                    }
                }
                Ok(())
            }
        }
    }
}

/// `[a-z][a-z0-9-]{2,62}`.
fn valid_name(s: &str) -> bool {
    let b = s.as_bytes();
    (3..=63).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// `binding` is untagged: serde would only say "did not match any variant", so the shape is
/// checked first to name the offending field.
fn check_binding_shape(b: &serde_json::Value) -> Result<(), FieldError> {
    let err = |field: &str, msg: &str| Err(FieldError::invalid(format!("manifest.binding{field}"), msg));
    let Some(o) = b.as_object() else {
        return err(
            "",
            "must be an object: {\"algorithm\", \"class_map\"} or {\"rule\", \"event_type\", \"classes\"}",
        );
    };
    if o.contains_key("algorithm") {
        for k in o.keys() {
            if k != "algorithm" && k != "class_map" {
                return err(
                    &format!(".{k}"),
                    "unknown field of an algorithm binding (algorithm, class_map)",
                );
            }
        }
        if !o["algorithm"].is_string() {
            return err(".algorithm", "must be a string");
        }
        match o.get("class_map") {
            Some(serde_json::Value::Object(m)) => {
                for (k, v) in m {
                    if !v.is_string() {
                        return err(&format!(".class_map.{k}"), "must be a role name (string)");
                    }
                }
                Ok(())
            }
            Some(_) => err(".class_map", "must be an object of class name → role"),
            None => err(".class_map", "missing field `class_map`"),
        }
    } else if o.contains_key("rule") {
        serde_path_to_error::deserialize::<_, RuleBinding>(b)
            .map(|_| ())
            .map_err(|e| {
                let path = format!("binding.{}", e.path()).replace("binding..", "binding");
                field_of_serde_error(&path, &e.into_inner().to_string())
            })
    } else {
        err(
            "",
            "must contain `algorithm` (bind to a VIAS algorithm) or `rule` (generic rule)",
        )
    }
}

/// Maps a serde error at `path` to the field it concerns (a missing field is reported at its
/// parent; the missing child is named instead).
fn field_of_serde_error(path: &str, msg: &str) -> FieldError {
    let mut field = if path == "." || path.is_empty() {
        "manifest".to_string()
    } else {
        format!("manifest.{path}")
    };
    let msg = msg.split(" at line ").next().unwrap_or(msg);
    // (An unknown field is already the last segment of the path.)
    if let Some(name) = msg.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
        field = format!("{field}.{name}");
    }
    FieldError::invalid(field, msg.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ErrorCode;

    fn nanodet() -> serde_json::Value {
        json!({
            "name": "nanodet-piles",
            "version": "1.0.0",
            "licence": "Apache-2.0",
            "company": "RangiLyu/nanodet",
            "input": {
                "width": 320, "height": 320, "resize": "stretch",
                "mean": [103.53, 116.28, 123.675], "std": [57.375, 57.12, 58.395]
            },
            "decoder": {"family": "nanodet", "strides": [8, 16, 32], "reg_max": 7},
            "classes": ["person", "backpack", "suitcase"],
            "sha256": "88e9fb97a54bb0030127ad323a10f88b4531b6aa82617e7ef79e35ffcc9bb3e1",
            "binding": {"algorithm": "c-urban-stacking", "class_map": {"backpack": "pile", "suitcase": "pile"}}
        })
    }

    fn err_of(v: serde_json::Value) -> FieldError {
        let e = PackageManifest::parse(&v).expect_err("must be refused");
        assert_eq!(e.code, ErrorCode::InvalidParams);
        e
    }

    /// Sets `path` (dotted, `[i]` not needed) in a copy of the valid manifest.
    fn with(path: &str, value: serde_json::Value) -> serde_json::Value {
        let mut v = nanodet();
        let mut cur = &mut v;
        let parts: Vec<&str> = path.split('.').collect();
        for p in &parts[..parts.len() - 1] {
            cur = cur.get_mut(*p).expect("path exists");
        }
        cur[parts[parts.len() - 1]] = value;
        v
    }

    #[test]
    fn a_valid_manifest_parses_with_defaults() {
        let m = PackageManifest::parse(&nanodet()).expect("valid");
        assert_eq!(m.input.layout, Layout::Nchw);
        assert_eq!(m.input.channels, ChannelOrder::Bgr);
        assert_eq!(m.input.resize, Resize::Stretch);
        assert_eq!(m.input.pad_value, 114.0);
        assert_eq!(m.score_threshold, 0.35);
        assert_eq!(m.nms_iou, 0.45);
        assert_eq!(
            m.decoder,
            DecoderSpec::Nanodet {
                strides: vec![8, 16, 32],
                reg_max: 7,
                center_offset: 0.5
            }
        );
        assert_eq!(m.class_id("suitcase"), Some(2));
        assert!(matches!(m.binding, Binding::Algorithm { .. }));
        // Round trip.
        let back = PackageManifest::parse(&serde_json::to_value(&m).unwrap()).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn every_decoder_family_and_rule_bindings_parse() {
        for d in [
            json!({"family": "yolox"}),
            json!({"family": "yolov5"}),
            json!({"family": "yolov8"}),
            json!({"family": "nanodet", "center_offset": 0.0, "strides": [8, 16, 32, 64]}),
        ] {
            let m = PackageManifest::parse(&with("decoder", d.clone())).unwrap_or_else(|e| panic!("{d}: {e:?}"));
            assert_eq!(Some(m.decoder.family()), d["family"].as_str());
        }
        let m = PackageManifest::parse(&with(
            "binding",
            json!({"rule": "line_crossing", "event_type": 90_000_001, "classes": ["person"]}),
        ))
        .unwrap();
        assert_eq!(
            m.binding,
            Binding::Rule(RuleBinding {
                rule: RuleKind::LineCrossing,
                event_type: 90_000_001,
                classes: vec!["person".into()]
            })
        );
        let m = PackageManifest::parse(&with(
            "input",
            json!({"width": 640, "height": 384, "layout": "NHWC", "channels": "RGB", "resize": "letterbox_center"}),
        ))
        .unwrap();
        assert_eq!(
            (m.input.layout, m.input.channels, m.input.resize),
            (Layout::Nhwc, ChannelOrder::Rgb, Resize::LetterboxCenter)
        );
    }

    #[test]
    fn errors_name_the_field() {
        let cases: Vec<(serde_json::Value, &str)> = vec![
            (json!([1]), "manifest"),
            (with("name", json!("Nano")), "manifest.name"),
            (with("name", json!("ab")), "manifest.name"),
            (with("name", json!(5)), "manifest.name"),
            (with("version", json!("")), "manifest.version"),
            (with("version", json!("1".repeat(33))), "manifest.version"),
            (with("licence", json!(" ")), "manifest.licence"),
            (with("input.width", json!(16)), "manifest.input.width"),
            (with("input.height", json!(4096)), "manifest.input.height"),
            (with("input.width", json!("320")), "manifest.input.width"),
            (with("input.std", json!([1.0, 0.0, 1.0])), "manifest.input.std[1]"),
            (with("input.std", json!([1.0, 1.0])), "manifest.input.std"),
            (with("input.layout", json!("CHW")), "manifest.input.layout"),
            (with("input.pad_value", json!(300)), "manifest.input.pad_value"),
            (with("input.colour", json!("x")), "manifest.input.colour"),
            (with("decoder", json!({"family": "ssd"})), "manifest.decoder.family"),
            (
                with("decoder", json!({"family": "nanodet", "reg_max": 0})),
                "manifest.decoder.reg_max",
            ),
            (
                with("decoder", json!({"family": "yolox", "strides": []})),
                "manifest.decoder.strides",
            ),
            (
                with("decoder", json!({"family": "yolox", "strides": [16, 8]})),
                "manifest.decoder.strides[1]",
            ),
            (
                with("decoder", json!({"family": "yolox", "strides": [8, 512]})),
                "manifest.decoder.strides[1]",
            ),
            (
                with("decoder", json!({"family": "yolov8", "strides": [8]})),
                "manifest.decoder.strides",
            ),
            (with("classes", json!([])), "manifest.classes"),
            (with("classes", json!(["a", "b", "a"])), "manifest.classes[2]"),
            (with("classes", json!(["a", ""])), "manifest.classes[1]"),
            (with("classes", json!(["a", 3])), "manifest.classes[1]"),
            (with("score_threshold", json!(1.5)), "manifest.score_threshold"),
            (with("nms_iou", json!(-0.1)), "manifest.nms_iou"),
            (
                with(
                    "sha256",
                    json!("88E9FB97A54BB0030127AD323A10F88B4531B6AA82617E7EF79E35FFCC9BB3E1"),
                ),
                "manifest.sha256",
            ),
            (with("sha256", json!("abc")), "manifest.sha256"),
            (with("binding", json!("c-urban-stacking")), "manifest.binding"),
            (with("binding", json!({})), "manifest.binding"),
            (
                with("binding", json!({"algorithm": "c-urban-stacking"})),
                "manifest.binding.class_map",
            ),
            (
                with("binding", json!({"algorithm": "c-urban-stacking", "class_map": {}})),
                "manifest.binding.class_map",
            ),
            (
                with(
                    "binding",
                    json!({"algorithm": "c-urban-stacking", "class_map": {"car": "pile"}}),
                ),
                "manifest.binding.class_map.car",
            ),
            (
                with(
                    "binding",
                    json!({"algorithm": "c-urban-stacking", "class_map": {"backpack": 1}}),
                ),
                "manifest.binding.class_map.backpack",
            ),
            (
                with(
                    "binding",
                    json!({"algorithm": "x", "class_map": {"backpack": "pile"}, "rule": "dwell"}),
                ),
                "manifest.binding.rule",
            ),
            (
                with("binding", json!({"rule": "dwell", "event_type": 10})),
                "manifest.binding.event_type",
            ),
            (
                with("binding", json!({"rule": "fly", "event_type": 90_000_000})),
                "manifest.binding.rule",
            ),
            (
                with(
                    "binding",
                    json!({"rule": "dwell", "event_type": 90_000_000, "classes": ["dog"]}),
                ),
                "manifest.binding.classes[0]",
            ),
            (with("extra", json!(1)), "manifest.extra"),
        ];
        for (v, field) in cases {
            let e = err_of(v.clone());
            assert_eq!(e.param, field, "{v}: {}", e.message);
        }
        let mut v = nanodet();
        v.as_object_mut().unwrap().remove("sha256");
        let e = err_of(v);
        assert_eq!(e.param, "manifest.sha256", "{}", e.message);
        let mut v = nanodet();
        v["input"].as_object_mut().unwrap().remove("width");
        assert_eq!(err_of(v).param, "manifest.input.width");
    }

    #[test]
    fn names_follow_the_rule() {
        for ok in ["abc", "nanodet-piles", "a1-2", &format!("a{}", "b".repeat(62))] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in [
            "ab",
            "1abc",
            "Abc",
            "a_b",
            "a b",
            &format!("a{}", "b".repeat(63)),
            "añb",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
