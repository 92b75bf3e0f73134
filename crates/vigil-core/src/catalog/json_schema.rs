//! JSON Schema (draft 2020-12) of an algorithm's `config.common`, generated from its typed
//! [`ParamSpec`]s: the Algorithm Center's `deployment_constraints.task_config`, so clients can
//! build a form for any service (built-in or partner) from one document.

use serde_json::{json, Map, Value};

use crate::catalog::schema::{ParamKind, ParamSpec, MAX_POINT_ABS};
use crate::catalog::AlgorithmSpec;

const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The schema of one key.
pub fn param_schema(p: &ParamSpec) -> Value {
    let mut s = match p.kind {
        ParamKind::Switch => json!({"type": "integer", "enum": [0, 1]}),
        ParamKind::Int { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
        // A decimal integer inside a string: the range goes into the description, the pattern
        // keeps the form honest.
        ParamKind::IntText { min, max } => json!({
            "type": "string", "pattern": "^-?[0-9]+$",
            "x-vigil-integer-range": {"minimum": min, "maximum": max},
        }),
        ParamKind::IntList { min, max } => json!({
            "type": "string", "pattern": "^\\s*-?[0-9]+(\\s+-?[0-9]+)*\\s*$",
            "x-vigil-integer-range": {"minimum": min, "maximum": max},
        }),
        ParamKind::Enum(values) => json!({"type": "string", "enum": values}),
        ParamKind::Text { min_chars, max_chars } => {
            json!({"type": "string", "minLength": min_chars, "maxLength": max_chars})
        }
        ParamKind::Roi => json!({"type": "string", "contentMediaType": "application/json"}),
        ParamKind::Object(fields) => object_schema(fields, true),
        ParamKind::Points { count } => json!({
            "type": "array", "minItems": count, "maxItems": count,
            "items": {"type": "array", "minItems": 2, "maxItems": 2,
                      "items": {"type": "number", "minimum": -MAX_POINT_ABS, "maximum": MAX_POINT_ABS}},
        }),
    };
    if let Some(o) = s.as_object_mut() {
        o.insert("description".into(), Value::String(p.meaning.to_string()));
        if let Some(d) = p.default.to_json() {
            o.insert("default".into(), d);
        }
    }
    s
}

fn object_schema<'a>(fields: impl IntoIterator<Item = &'a ParamSpec>, strict: bool) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for f in fields {
        props.insert(f.key.to_string(), param_schema(f));
        if f.required {
            required.push(Value::String(f.key.to_string()));
        }
    }
    let mut s = json!({"type": "object", "properties": props, "additionalProperties": !strict});
    if !required.is_empty() {
        s["required"] = Value::Array(required);
    }
    s
}

/// The schema of `config.common` of `spec` (unknown keys are refused exactly when the API
/// refuses them, see [`AlgorithmSpec::refuses_unknown_keys`]).
pub fn common_schema(spec: &AlgorithmSpec) -> Value {
    let mut s = object_schema(spec.keys(), spec.refuses_unknown_keys());
    if let Some(o) = s.as_object_mut() {
        o.insert("$schema".into(), Value::String(DRAFT.into()));
        o.insert("title".into(), Value::String(format!("{} config.common", spec.id)));
    }
    s
}

/// The schema of `deploy_config` (DeployAlgorithm): Vigil starts no containers, so no key is
/// accepted and an empty object is the only valid value.
pub fn deploy_config_schema() -> Value {
    json!({"$schema": DRAFT, "title": "deploy_config", "type": "object", "properties": {}, "additionalProperties": false})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{validate_common, Catalog};

    #[test]
    fn intrusion_schema_has_types_ranges_defaults() {
        let spec = Catalog::by_id("c-intrusiondetection").unwrap();
        let s = common_schema(spec);
        assert_eq!(s["$schema"], DRAFT);
        assert_eq!(s["type"], "object");
        assert_eq!(s["additionalProperties"], false);
        let q = &s["properties"]["image_compression_ratio"];
        assert_eq!(q["type"], "integer");
        assert_eq!(q["minimum"], 20);
        assert_eq!(q["maximum"], 100);
        assert_eq!(q["default"], 90);
        assert!(q["description"].as_str().unwrap().contains("JPEG"));
        assert_eq!(s["properties"]["render_roi_sw"]["enum"], json!([0, 1]));
        assert_eq!(s["properties"]["target_roi"]["type"], "string");
        assert!(s["properties"]["target_roi"].get("default").is_none());
    }

    /// Every key of every algorithm appears, and every default validates against the API.
    #[test]
    fn every_algorithm_every_key() {
        for spec in Catalog::iter() {
            let s = common_schema(spec);
            let props = s["properties"].as_object().unwrap();
            assert_eq!(props.len(), spec.keys().count(), "{}", spec.id);
            let defaults: Map<String, Value> = props
                .iter()
                .filter_map(|(k, v)| v.get("default").map(|d| (k.clone(), d.clone())))
                .collect();
            // Required keys (no default) are listed as such; the defaults alone then validate
            // once those are supplied, which only the API test data can do: check the list.
            let required: Vec<&str> = spec.keys().filter(|p| p.required).map(|p| p.key).collect();
            if required.is_empty() {
                validate_common(spec, &Value::Object(defaults)).unwrap_or_else(|e| panic!("{}: {e}", spec.id));
            } else {
                assert_eq!(s["required"], json!(required), "{}", spec.id);
            }
            assert_eq!(s["additionalProperties"], !spec.refuses_unknown_keys());
            // Enumerations are the validator's.
            for p in spec.keys() {
                if let ParamKind::Enum(values) = p.kind {
                    assert_eq!(props[p.key]["enum"], json!(values), "{}.{}", spec.id, p.key);
                }
            }
        }
    }

    #[test]
    fn deploy_config_accepts_nothing() {
        let s = deploy_config_schema();
        assert_eq!(s["additionalProperties"], false);
        assert!(s["properties"].as_object().unwrap().is_empty());
    }
}
