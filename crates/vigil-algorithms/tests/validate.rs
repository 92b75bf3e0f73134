//! `config.common` validation: defaults, the spec's example configs, and every error kind.

use serde_json::{json, Value};
use vigil_algorithms::{
    validate_common, validate_common_at, AlgorithmSpec, Catalog, ConfigError, ConfigErrorKind, ParamSpec,
    ValidatedCommon,
};

fn alg(service_name: &str) -> &'static AlgorithmSpec {
    Catalog::by_service_name(service_name).expect(service_name).0
}

fn intrusion() -> &'static AlgorithmSpec {
    alg("c-intrusiondetection-edge")
}

fn flow() -> &'static AlgorithmSpec {
    alg("c-flowcount-cloud")
}

fn ok(spec: &AlgorithmSpec, common: Value) -> ValidatedCommon {
    validate_common(spec, &common).unwrap_or_else(|e| panic!("{common} refused: {e}"))
}

fn err(spec: &AlgorithmSpec, common: Value) -> ConfigError {
    match validate_common(spec, &common) {
        Ok(v) => panic!("{common} accepted as {:?}", v.to_value()),
        Err(e) => e,
    }
}

/// Asserts the error names `config.common.<key>` (or `config.common` for "") with that kind.
#[track_caller]
fn assert_refused(spec: &AlgorithmSpec, common: Value, key: &str, kind: ConfigErrorKind) {
    let e = err(spec, common);
    let param = if key.is_empty() {
        "config.common".to_string()
    } else {
        format!("config.common.{key}")
    };
    assert_eq!((e.param.as_str(), e.kind), (param.as_str(), kind), "{e}");
    assert!(!e.message.is_empty());
}

/// `target_roi` of spec §5.5.
const ROI: &str = r#"{"lines":[{"data":[[560,680],[1185,506]],"properties":{"side1_name":"Side1","side2_name":"Side2"}}],"polygons":[{"data":[[0,0],[0,1080],[1920,1080],[1920,0]]}]}"#;

#[test]
fn intrusion_defaults() {
    let v = ok(intrusion(), json!({}));
    let expected = [
        ("car_detection_sw", 0),
        ("person_detection_sw", 1),
        ("detection_min_size", 60),
        ("detection_max_size", 1080),
        ("line_detection_sw", 1),
        ("region_detection_sw", 1),
        ("loitering_detection_sw", 0),
        ("loitering_time_threshold", 30),
        ("all_print_sw", 0),
        ("event_disappear_alert_sw", 0),
        ("image_compression_ratio", 90),
        ("render_result_sw", 0),
        ("render_roi_sw", 0),
        ("output_image_sw", 1),
        ("motion_gating_sw", 0),
    ];
    for (key, value) in expected {
        assert_eq!(v.get_i64(key), Some(value), "{key}");
    }
    assert_eq!(v.as_map().len(), expected.len(), "{:?}", v.as_map());
    assert_eq!(v.target_roi(), None, "absent ROI = whole frame");
    assert_eq!(v.get_switch("person_detection_sw"), Some(true));
    assert_eq!(v.get_switch("car_detection_sw"), Some(false));
}

#[test]
fn flow_defaults() {
    let v = ok(flow(), json!({}));
    let expected = [
        ("line_count_interval", 2),
        ("region_count_interval", 2),
        ("line_detection_sw", 1),
        ("region_detection_sw", 1),
        ("heatmap_detection_sw", 0),
        ("heatmap_detection_interval", 10),
        ("heatmap_point_interval", 4),
        ("image_compression_ratio", 90),
        ("render_result_sw", 0),
        ("render_roi_sw", 0),
        ("output_image_sw", 0),
        ("motion_gating_sw", 0),
    ];
    for (key, value) in expected {
        assert_eq!(v.get_i64(key), Some(value), "{key}");
    }
    assert_eq!(v.as_map().len(), expected.len(), "{:?}", v.as_map());
}

#[test]
fn given_values_win_over_defaults_and_are_echoed() {
    let v = ok(intrusion(), json!({"detection_min_size": 10, "target_roi": ROI}));
    assert_eq!(v.get_i64("detection_min_size"), Some(10));
    assert_eq!(v.target_roi(), Some(ROI));
    assert_eq!(v.get_str("target_roi"), Some(ROI));
    let echoed = v.clone().into_value();
    assert_eq!(echoed["target_roi"], json!(ROI));
    assert_eq!(echoed["detection_max_size"], json!(1080));
    assert_eq!(echoed, v.to_value());
}

#[test]
fn intrusion_accepts_the_spec_example() {
    // Spec §5.6 row 2 plus the shared keys and the §5.5 ROI example.
    let example = json!({
        "target_roi": ROI,
        "image_compression_ratio": 90,
        "render_result_sw": 1,
        "render_roi_sw": 1,
        "car_detection_sw": 0,
        "person_detection_sw": 1,
        "detection_min_size": 60,
        "detection_max_size": 1080,
        "line_detection_sw": 1,
        "region_detection_sw": 1,
        "loitering_detection_sw": 0,
        "all_print_sw": 0
    });
    for name in ["c-intrusiondetection-edge", "c-intrusiondetection-cloud"] {
        let v = ok(alg(name), example.clone());
        for (key, value) in example.as_object().unwrap() {
            assert_eq!(v.get(key), Some(value), "{key}");
        }
    }
}

#[test]
fn flow_accepts_the_spec_example() {
    // Spec §5.6 row 1 plus the shared keys.
    let example = json!({
        "target_roi": ROI,
        "image_compression_ratio": 80,
        "render_result_sw": 0,
        "render_roi_sw": 0,
        "line_count_interval": 2,
        "region_count_interval": 2,
        "line_detection_sw": 1,
        "region_detection_sw": 1,
        "heatmap_detection_sw": 0,
        "heatmap_detection_interval": 60,
        "heatmap_point_interval": 4
    });
    for name in ["c-flowcount-edge", "c-flowcount-cloud"] {
        let v = ok(alg(name), example.clone());
        assert_eq!(v.get_i64("heatmap_detection_interval"), Some(60));
        assert_eq!(v.get_i64("image_compression_ratio"), Some(80));
    }
}

#[test]
fn non_object_is_refused() {
    for common in [json!([]), json!("x"), json!(1), json!(null), json!(true)] {
        assert_refused(intrusion(), common, "", ConfigErrorKind::NotAnObject);
    }
}

#[test]
fn wrong_type_names_the_key() {
    let cases = [
        json!({"image_compression_ratio": "90"}),
        json!({"image_compression_ratio": [90]}),
        json!({"image_compression_ratio": 90.5}),
    ];
    for common in cases {
        assert_refused(
            intrusion(),
            common,
            "image_compression_ratio",
            ConfigErrorKind::WrongType,
        );
    }
    assert_refused(
        intrusion(),
        json!({"target_roi": {"lines": []}}),
        "target_roi",
        ConfigErrorKind::WrongType,
    );
    assert_refused(
        flow(),
        json!({"heatmap_point_interval": {}}),
        "heatmap_point_interval",
        ConfigErrorKind::WrongType,
    );
}

#[test]
fn whole_floats_count_as_integers() {
    let v = ok(intrusion(), json!({"image_compression_ratio": 80.0}));
    assert_eq!(v.get("image_compression_ratio"), Some(&json!(80)));
}

#[test]
fn out_of_range_names_the_key() {
    for bad in [
        json!(19),
        json!(101),
        json!(-1),
        json!(u64::MAX),
        json!(1e30),
        json!(-1e30),
    ] {
        assert_refused(
            intrusion(),
            json!({"image_compression_ratio": bad}),
            "image_compression_ratio",
            ConfigErrorKind::OutOfRange,
        );
    }
    for good in [20, 100] {
        ok(intrusion(), json!({"image_compression_ratio": good}));
    }
    assert_refused(
        flow(),
        json!({"line_count_interval": 0}),
        "line_count_interval",
        ConfigErrorKind::OutOfRange,
    );
    assert_refused(
        flow(),
        json!({"line_count_interval": 86_401}),
        "line_count_interval",
        ConfigErrorKind::OutOfRange,
    );
    assert_refused(
        flow(),
        json!({"heatmap_detection_interval": 9}),
        "heatmap_detection_interval",
        ConfigErrorKind::OutOfRange,
    );
    assert_refused(
        flow(),
        json!({"heatmap_point_interval": 10_001}),
        "heatmap_point_interval",
        ConfigErrorKind::OutOfRange,
    );
    assert_refused(
        intrusion(),
        json!({"loitering_time_threshold": 0}),
        "loitering_time_threshold",
        ConfigErrorKind::OutOfRange,
    );
    assert_refused(
        intrusion(),
        json!({"detection_max_size": 1921}),
        "detection_max_size",
        ConfigErrorKind::OutOfRange,
    );
    let e = err(intrusion(), json!({"image_compression_ratio": 101}));
    assert_eq!(
        e.to_string(),
        "config.common.image_compression_ratio: must be between 20 and 100, got 101"
    );
}

#[test]
fn unknown_keys_are_refused_for_implemented_algorithms() {
    let e = err(intrusion(), json!({"loitering_time": 10, "line_detection_sw": 1}));
    assert_eq!(
        (e.param.as_str(), e.kind),
        ("config.common.loitering_time", ConfigErrorKind::UnknownKey)
    );
    assert!(e.message.contains("loitering_time"), "{e}");
    // A key of another algorithm is unknown here too.
    assert_refused(
        flow(),
        json!({"person_detection_sw": 1}),
        "person_detection_sw",
        ConfigErrorKind::UnknownKey,
    );
    // Huawei's own typo (spec §5.7, roadside stall) would be refused by an implemented algorithm.
    assert_refused(
        flow(),
        json!({"outstore_stall _detect_sw": 1}),
        "outstore_stall _detect_sw",
        ConfigErrorKind::UnknownKey,
    );
}

#[test]
fn unknown_keys_are_refused_once_vigil_owns_the_schema() {
    // Issue 12 implemented the last provisional schemas (the model-bound algorithms).
    let gear = alg("c-safetysuitedetection-edge");
    assert_refused(
        gear,
        json!({"some_uncaptured_key": [1, 2]}),
        "some_uncaptured_key",
        ConfigErrorKind::UnknownKey,
    );
    // Known keys are checked.
    assert_refused(
        gear,
        json!({"hat_detection_sw": 3}),
        "hat_detection_sw",
        ConfigErrorKind::BadSwitch,
    );
}

#[test]
fn switches_take_only_0_or_1() {
    for bad in [json!(2), json!(-1), json!(0.5)] {
        assert_refused(
            intrusion(),
            json!({"line_detection_sw": bad}),
            "line_detection_sw",
            ConfigErrorKind::BadSwitch,
        );
    }
    for wrong in [json!(true), json!("1"), json!([1])] {
        assert_refused(
            flow(),
            json!({"heatmap_detection_sw": wrong}),
            "heatmap_detection_sw",
            ConfigErrorKind::WrongType,
        );
    }
    let v = ok(flow(), json!({"heatmap_detection_sw": 1}));
    assert_eq!(v.get_switch("heatmap_detection_sw"), Some(true));
}

#[test]
fn string_numbers_are_checked() {
    let crowd = alg("c-crowdcount-cloud");
    let v = ok(crowd, json!({}));
    assert_eq!(v.get_str("banner_threshold"), Some("2"));
    assert_eq!(v.get_i64("banner_threshold"), Some(2));
    assert_eq!(v.get_str("alarm_threshold"), Some("5"));
    let v = ok(crowd, json!({"alarm_threshold": "40"}));
    assert_eq!(v.get("alarm_threshold"), Some(&json!("40")), "kept as a string");
    assert_refused(
        crowd,
        json!({"alarm_threshold": "0"}),
        "alarm_threshold",
        ConfigErrorKind::OutOfRange,
    );
    assert_refused(
        crowd,
        json!({"banner_threshold": "10001"}),
        "banner_threshold",
        ConfigErrorKind::OutOfRange,
    );
    assert_refused(
        crowd,
        json!({"banner_threshold": "99999999999999999999999"}),
        "banner_threshold",
        ConfigErrorKind::InvalidValue,
    );
    assert_refused(
        crowd,
        json!({"banner_threshold": "two"}),
        "banner_threshold",
        ConfigErrorKind::InvalidValue,
    );
    assert_refused(
        crowd,
        json!({"banner_threshold": ""}),
        "banner_threshold",
        ConfigErrorKind::InvalidValue,
    );
    assert_refused(
        crowd,
        json!({"banner_threshold": 2}),
        "banner_threshold",
        ConfigErrorKind::WrongType,
    );
}

#[test]
fn enums_lists_and_nested_objects() {
    let bike = alg("c-sharedbicycledetection-edge");
    assert_eq!(ok(bike, json!({})).get_str("alert_mode"), Some("single"));
    ok(bike, json!({"alert_mode": "periodic"}));
    assert_refused(
        bike,
        json!({"alert_mode": "sometimes"}),
        "alert_mode",
        ConfigErrorKind::InvalidValue,
    );
    assert_refused(bike, json!({"alert_mode": 1}), "alert_mode", ConfigErrorKind::WrongType);

    let vehicle = alg("c-vehicle-detection-edge");
    let v = ok(
        vehicle,
        json!({"license_plate": {"local_city": "B", "local_province": "津"}, "output_vehicle_type": "0 1 2"}),
    );
    assert_eq!(v.get_i64("image_compression_ratio"), Some(100), "vehicle default");
    assert_eq!(
        v.get("license_plate"),
        Some(&json!({"local_city": "B", "local_province": "津"}))
    );
    assert_refused(
        vehicle,
        json!({"output_vehicle_type": "0 1 12"}),
        "output_vehicle_type",
        ConfigErrorKind::OutOfRange,
    );
    assert_refused(
        vehicle,
        json!({"output_vehicle_type": "  "}),
        "output_vehicle_type",
        ConfigErrorKind::InvalidValue,
    );
    assert_refused(
        vehicle,
        json!({"license_plate": {"local_city": ""}}),
        "license_plate.local_city",
        ConfigErrorKind::InvalidValue,
    );
    assert_refused(
        vehicle,
        json!({"license_plate": {"local_city": 1}}),
        "license_plate.local_city",
        ConfigErrorKind::WrongType,
    );
    assert_refused(
        vehicle,
        json!({"license_plate": "津B"}),
        "license_plate",
        ConfigErrorKind::NotAnObject,
    );
}

#[test]
fn null_means_absent() {
    let v = ok(intrusion(), json!({"detection_min_size": null, "target_roi": null}));
    assert_eq!(v.get_i64("detection_min_size"), Some(60));
    assert_eq!(v.target_roi(), None);
}

#[test]
fn min_size_may_not_exceed_max_size() {
    assert_refused(
        intrusion(),
        json!({"detection_min_size": 500, "detection_max_size": 100}),
        "detection_min_size",
        ConfigErrorKind::Conflict,
    );
    assert_refused(
        intrusion(),
        json!({"detection_min_size": 1200}),
        "detection_min_size",
        ConfigErrorKind::Conflict,
    );
    ok(
        intrusion(),
        json!({"detection_min_size": 100, "detection_max_size": 100}),
    );
}

#[test]
fn required_keys_are_enforced() {
    const KEYS: &[ParamSpec] = &[ParamSpec::switch("must_sw", 0, "test").required()];
    let spec = AlgorithmSpec {
        key_groups: &[KEYS],
        ..*intrusion()
    };
    assert_refused(&spec, json!({}), "must_sw", ConfigErrorKind::Missing);
    assert_eq!(ok(&spec, json!({"must_sw": 1})).get_i64("must_sw"), Some(1));
}

#[test]
fn the_path_prefix_can_be_changed_for_the_legacy_body() {
    let e = validate_common_at(intrusion(), &json!({"all_print_sw": 5}), "service_config.common").unwrap_err();
    assert_eq!(e.param, "service_config.common.all_print_sw");
}

#[test]
fn long_values_are_clipped_in_messages() {
    let e = err(intrusion(), json!({ "k".repeat(10_000): 1 }));
    assert!(e.param.len() < 100 && e.message.len() < 100, "{e}");
    let long = "x".repeat(10_000);
    let e = err(alg("c-crowdcount-edge"), json!({"banner_threshold": long}));
    assert!(e.message.len() < 200, "{}", e.message);
}

#[test]
fn odd_values_never_panic() {
    let odd = [
        json!(null),
        json!(true),
        json!(0),
        json!(1),
        json!(-1),
        json!(i64::MIN),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(1.5),
        json!(-0.0),
        json!(f64::MAX),
        json!(""),
        json!("1"),
        json!("-"),
        json!(" 1 2 "),
        json!("\u{0}"),
        json!([]),
        json!({}),
        json!({"local_city": {"a": 1}}),
    ];
    for spec in Catalog::iter() {
        for param in spec.keys() {
            for value in &odd {
                let _ = validate_common(spec, &json!({ param.key: value }));
            }
        }
    }
}
