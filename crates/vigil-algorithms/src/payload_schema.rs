//! The `data` payload of each alarm, field by field, as spec §6.4 lists it (plus the documented
//! Vigil extensions): one shared check that every analyzer's output is tested against.
//!
//! Strict on purpose: a field that is not in the list, a missing required field or a wrong type
//! is an error, so a misspelt field name cannot reach a client.

use serde_json::{Map, Value};

use crate::event_type as ev;

/// The JSON type of one field.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// A signed integer.
    Int,
    /// An integer ≥ 0.
    UInt,
    /// Any number.
    Num,
    Str,
    Bool,
    /// `{x, y, w, h}`, integers ≥ 0.
    BBox,
    /// `[[x, y], …]`, at least 2 points of integers.
    Points,
    /// `[{x, y}, …]` (the water-gauge polygon).
    PointObjects,
    /// An array of objects of the given fields.
    List(&'static [Field]),
    /// An object of the given fields.
    Obj(&'static [Field]),
    /// An array of arrays of integers ≥ 0 (heat-map rows).
    Grid,
    /// An object whose values are strings (attribute maps).
    StrMap,
}

/// One field: name, type, required.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
}

const fn req(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: true,
    }
}

const fn opt(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: false,
    }
}

use Ty::*;

// --- item lists ------------------------------------------------------------------------------

const FLOW_LINE_ITEM: &[Field] = &[
    req("line", Points),
    req("line_id", UInt),
    req("side1_count", UInt),
    req("side2_count", UInt),
    opt("side1_name", Str),
    opt("side2_name", Str),
];
const REGION_COUNT_ITEM: &[Field] = &[
    req("polygon", Points),
    opt("polygon_name", Str),
    req("crowd_count", UInt),
];
const HEAT_GRID: &[Field] = &[req("cell", UInt), req("cols", UInt), req("rows", UInt)];
const INTRUSION_ITEM: &[Field] = &[
    req("bounding_box", BBox),
    req("detection_id", Str),
    req("category", UInt),
    req("start_position", Str),
    req("end_position", Str),
    opt("polygon_name", Str),
];
const OFF_DUTY_ITEM: &[Field] = &[
    req("polygon", Points),
    opt("polygon_name", Str),
    req("counter", UInt),
    req("person_set", List(BOX_ONLY)),
];
const ABANDON_ITEM: &[Field] = &[
    req("bounding_box", BBox),
    req("target_remaining_time", Str),
    req("detection_id", Str),
];
const CROWD_ITEM: &[Field] = &[
    req("crowd_count", UInt),
    req("banner_count", UInt),
    req("polygon", Points),
    opt("polygon_name", Str),
];
const HIGHPOINT_CROWD_ITEM: &[Field] = &[
    req("crowd_count", UInt),
    req("polygon", Points),
    opt("polygon_name", Str),
];
const BOX_ONLY: &[Field] = &[req("bounding_box", BBox)];
const BOX_SCORE: &[Field] = &[req("bounding_box", BBox), req("confidence", Num)];
const SMOKE_FIRE_ITEM: &[Field] = &[req("state", UInt), req("bounding_box", BBox)];
const WORK_GEAR_ITEM: &[Field] = &[req("bounding_box", BBox), req("type_cloth", Int), req("type_hat", Int)];
const TRACKED_IN_POLYGON: &[Field] = &[
    req("bounding_box", BBox),
    req("detection_id", Str),
    opt("polygon_name", Str),
];
const BEHAVIOUR_ITEM: &[Field] = &[req("bounding_box", BBox), opt("alarm_type", Int)];
const ABNORMAL_PARK_VEHICLE: &[Field] = &[
    req("bounding_box", BBox),
    req("license_plate_id", Str),
    req("detection_id", Str),
    opt("polygon_name", Str),
];
const VEHICLE_ITEM: &[Field] = &[
    req("bounding_box", BBox),
    req("vehicle_type", UInt),
    req("tarpaulin_type", Int),
    req("license_plate_id", Str),
    req("license_plate_type", UInt),
    req("direction", UInt),
    opt("detection_id", Str),
];
const FIRE_PASSAGE_ITEM: &[Field] = &[
    req("detection_id", Str),
    opt("plate_id", Str),
    opt("polygon_name", Str),
    req("bounding_box", BBox),
];
const NON_MOTOR_ITEM: &[Field] = &[req("bounding_box", BBox), req("detection_id", Str), req("type", Str)];
const ATTRIBUTE_ITEM: &[Field] = &[
    req("bounding_box", BBox),
    req("type", Str),
    opt("polygon_name", Str),
    req("attribute", StrMap),
    opt("detection_id", Str),
];
const URBAN_TRASH_ITEM: &[Field] = &[
    req("bounding_box", BBox),
    opt("person_box", BBox),
    opt("polygon_name", Str),
    req("detection_id", Str),
];
const BOX_DETECTION: &[Field] = &[req("bounding_box", BBox), req("detection_id", Str)];
const WRONG_WAY_VEHICLE: &[Field] = &[
    req("bounding_box", BBox),
    req("license_plate_id", Str),
    req("license_plate_type", UInt),
    req("direction", UInt),
    opt("detection_id", Str),
];
const SPEEDING_VEHICLE: &[Field] = &[
    req("bounding_box", BBox),
    req("speed", Num),
    req("direction", UInt),
    opt("detection_id", Str),
];
const COUNT_ITEM: &[Field] = &[
    req("count", UInt),
    req("vehicles", List(BOX_ONLY)),
    opt("line", Points),
    opt("line_id", UInt),
    // Vigil extension: the ROI polygon an area count is about.
    opt("polygon", Points),
    opt("polygon_name", Str),
];
const VESSEL_ITEM: &[Field] = &[
    req("bounding_box", BBox),
    req("category", UInt),
    req("detection_id", Str),
    opt("polygon_name", Str),
];
const GAUGE_ITEM: &[Field] = &[req("water_level", Num), req("polygon", PointObjects)];

// --- payloads ---------------------------------------------------------------------------------

const fn set(item: &'static [Field]) -> Field {
    req("event_set", List(item))
}

/// The fields of `data` for `event_type` (`None`: not an event type Vigil emits a payload for).
pub fn fields(event_type: u64) -> Option<&'static [Field]> {
    const INTERVAL: Field = req("interval", UInt);
    const TOP_ALARM: Field = req("alarm_type", UInt);
    // A field list built by const fns, as a promoted 'static constant.
    macro_rules! p {
        ($list:expr) => {{
            const F: &[Field] = &$list;
            F
        }};
    }
    let f: &'static [Field] = match event_type {
        ev::FLOW_LINE_COUNT => p!([INTERVAL, set(FLOW_LINE_ITEM)]),
        ev::FLOW_REGION_COUNT => p!([INTERVAL, set(REGION_COUNT_ITEM)]),
        ev::FLOW_HEATMAP => p!([
            INTERVAL,
            req("frame_size", Points),
            req("grid", Obj(HEAT_GRID)),
            req("samples", UInt),
            req("counts", Grid),
        ]),
        ev::INTRUSION | ev::LOITERING => p!([set(INTRUSION_ITEM)]),
        ev::OFF_DUTY => p!([set(OFF_DUTY_ITEM)]),
        ev::ABANDONED_OBJECT => p!([set(ABANDON_ITEM)]),
        ev::CROWD_DENSITY => p!([req("scene_type", UInt), TOP_ALARM, set(CROWD_ITEM)]),
        ev::WORK_CLOTHES_HELMET => p!([set(WORK_GEAR_ITEM)]),
        ev::SMOKE_AND_FIRE => p!([set(SMOKE_FIRE_ITEM)]),
        ev::FIGHT => p!([set(BOX_SCORE)]),
        ev::SHARED_BICYCLE_PARKING | ev::UMBRELLA => p!([set(TRACKED_IN_POLYGON)]),
        ev::SMOKING | ev::PHONING => p!([set(BEHAVIOUR_ITEM)]),
        ev::CLIMBING
        | ev::FALLING
        | ev::WAVING
        | ev::BENDING
        | ev::NO_MASK
        | ev::TRASH_CAN_ANOMALY
        | ev::TRASH_CAN_OVERFLOW => {
            p!([set(BOX_ONLY)])
        }
        ev::ABNORMAL_PARKING => p!([req("vehicles", List(ABNORMAL_PARK_VEHICLE))]),
        ev::VEHICLE_DETECTION => p!([req("vehicles", List(VEHICLE_ITEM))]),
        ev::FIRE_PASSAGE_OBJECTS | ev::FIRE_PASSAGE_VEHICLE => p!([TOP_ALARM, set(FIRE_PASSAGE_ITEM)]),
        ev::NON_MOTOR_PARKING | ev::NON_MOTOR_INTRUSION => p!([TOP_ALARM, set(NON_MOTOR_ITEM)]),
        ev::HIGHPOINT_CROWD => p!([
            req("scene_type", UInt),
            TOP_ALARM,
            req("total_crowd_count", UInt),
            set(HIGHPOINT_CROWD_ITEM),
        ]),
        ev::TARGET_ATTRIBUTES => p!([set(ATTRIBUTE_ITEM)]),
        ev::EBIKE_NO_HELMET | ev::MOBILE_TRASH | ev::MOBILE_MANHOLE_COVER_MISSING => p!([set(BOX_DETECTION)]),
        ev::ILLEGAL_SIGN
        | ev::MESSY_PILES
        | ev::CLOTHES_AIRING
        | ev::CONSTRUCTION_WASTE
        | ev::MANHOLE_COVER_MISSING
        | ev::BARE_SOIL
        | ev::ROADSIDE_STALL
        | ev::OUT_OF_STORE_STALL => p!([set(TRACKED_IN_POLYGON)]),
        ev::URBAN_TRASH => p!([set(URBAN_TRASH_ITEM)]),
        ev::WRONG_WAY => p!([req("vehicles", List(WRONG_WAY_VEHICLE))]),
        ev::HIGHPOINT_SPEEDING => p!([req("vehicles", List(SPEEDING_VEHICLE))]),
        ev::HIGHPOINT_VEHICLE_COUNT => p!([INTERVAL, set(COUNT_ITEM)]),
        ev::VESSEL_INTRUSION => p!([set(VESSEL_ITEM)]),
        ev::FLOATING_DEBRIS => p!([req("suspect_tag", Bool), req("bounding_box", BBox)]),
        ev::WATER_GAUGE => p!([req("water_level_list", List(GAUGE_ITEM))]),
        ev::WATERLOGGING | ev::CYANOBACTERIA => p!([
            opt("water_logging_ratio", Num),
            opt("water_logging_flag", Bool),
            set(BOX_ONLY),
        ]),
        _ => return None,
    };
    Some(f)
}

/// Checks one alarm's `data` against its event type's field list. `alarm_type` is the
/// envelope's (event-disappear messages carry 1): it does not change the fields.
pub fn check(event_type: u64, _alarm_type: Option<i64>, data: &Value) -> Result<(), String> {
    if event_type == ev::DRAINAGE {
        // Spec §6.4 #38: no `data`; `drainage_state` sits in the envelope.
        return match data {
            Value::Null => Ok(()),
            Value::Object(m) if m.keys().all(|k| k == "drainage_state") => Ok(()),
            other => Err(format!("drainage has no data payload, got {other}")),
        };
    }
    let fields = fields(event_type).ok_or_else(|| format!("no §6.4 payload is known for event type {event_type}"))?;
    check_object(fields, data, "data")
}

fn check_object(fields: &[Field], value: &Value, path: &str) -> Result<(), String> {
    let Value::Object(map) = value else {
        return Err(format!("{path} must be an object"));
    };
    for key in map.keys() {
        if !fields.iter().any(|f| f.name == key) {
            return Err(format!("{path}.{key} is not a §6.4 field"));
        }
    }
    for f in fields {
        match map.get(f.name) {
            None if f.required => return Err(format!("{path}.{} is missing", f.name)),
            None => {}
            Some(v) => check_value(f.ty, v, &format!("{path}.{}", f.name))?,
        }
    }
    Ok(())
}

fn is_uint(v: &Value) -> bool {
    v.as_u64().is_some()
}

fn check_value(ty: Ty, v: &Value, path: &str) -> Result<(), String> {
    let ok = match ty {
        Int => v.as_i64().is_some(),
        UInt => is_uint(v),
        Num => v.as_f64().is_some_and(f64::is_finite),
        Str => v.is_string(),
        Bool => v.is_boolean(),
        BBox => return check_bbox(v, path),
        Points => v.as_array().is_some_and(|a| {
            a.len() >= 2
                && a.iter().all(|p| {
                    p.as_array()
                        .is_some_and(|xy| xy.len() == 2 && xy.iter().all(|c| c.as_i64().is_some()))
                })
        }),
        PointObjects => v.as_array().is_some_and(|a| {
            a.iter().all(|p| {
                p.as_object()
                    .is_some_and(|m: &Map<String, Value>| m.len() == 2 && is_uint(&m["x"]) && is_uint(&m["y"]))
            })
        }),
        List(item) => {
            let Some(a) = v.as_array() else {
                return Err(format!("{path} must be an array"));
            };
            for (i, it) in a.iter().enumerate() {
                check_object(item, it, &format!("{path}[{i}]"))?;
            }
            true
        }
        Obj(inner) => return check_object(inner, v, path),
        Grid => v
            .as_array()
            .is_some_and(|rows| rows.iter().all(|r| r.as_array().is_some_and(|c| c.iter().all(is_uint)))),
        StrMap => v.as_object().is_some_and(|m| m.values().all(Value::is_string)),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{path} has the wrong type (expected {ty:?}): {v}"))
    }
}

fn check_bbox(v: &Value, path: &str) -> Result<(), String> {
    let Value::Object(m) = v else {
        return Err(format!("{path} must be {{x, y, w, h}}"));
    };
    if m.len() != 4 || !["x", "y", "w", "h"].iter().all(|k| m.get(*k).is_some_and(is_uint)) {
        return Err(format!("{path} must be {{x, y, w, h}} of integers ≥ 0: {v}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spec_samples_pass_and_misspellings_fail() {
        let crowd = json!({"scene_type":1,"alarm_type":2,"event_set":[{"crowd_count":14,"banner_count":5,
            "polygon":[[400,200],[1280,200],[1280,720],[400,720]]}]});
        assert_eq!(check(ev::CROWD_DENSITY, None, &crowd), Ok(()));
        let gauge = json!({"water_level_list":[{"water_level":12.00,"polygon":[{"x":494,"y":302},{"x":565,"y":302},{"x":565,"y":321},{"x":494,"y":321}]}]});
        assert_eq!(check(ev::WATER_GAUGE, None, &gauge), Ok(()));
        let piles = json!({"event_set":[{"bounding_box":{"x":0,"y":618,"w":585,"h":462},"polygon_name":"a",
            "detection_id":"83BFC020-4FC8-11EA-9F93-0242AC110004"}]});
        assert_eq!(check(ev::MESSY_PILES, None, &piles), Ok(()));
        let misspelt = json!({"event_set":[{"bounding_box":{"x":0,"y":0,"w":1,"h":1},"detection_ID":"a"}]});
        assert!(check(ev::MESSY_PILES, None, &misspelt).is_err());
        let float_box = json!({"event_set":[{"bounding_box":{"x":0.5,"y":0,"w":1,"h":1}}]});
        assert!(check(ev::FALLING, None, &float_box).is_err());
        assert!(check(ev::DRAINAGE, None, &Value::Null).is_ok());
        assert!(check(1, None, &json!({})).is_err());
    }
}
