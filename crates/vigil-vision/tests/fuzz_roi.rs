//! Property-based fuzzing of the `target_roi` parser (`Roi::parse`, which the Task Center runs on
//! every task's `config.common.target_roi`) and of the geometry run on what it accepts.
//!
//! Hostile input must end in a `RoiError` naming the field (`target_roi…`), never a
//! panic, and what parses must be geometry the analyzers can use. Cases: `PROPTEST_CASES`
//! (default 512; `scripts/fuzz.sh` runs 100,000).

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{json, Value};
use vigil_vision::roi::{RoiError, MAX_POLYGON_POINTS};
use vigil_vision::{Point, Roi};

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Numbers a client may write, including the awkward ones.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..5000).prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u128>().prop_map(|n| n.to_string()),
        prop::sample::select(
            &[
                "1e400",
                "-1e400",
                "1e-400",
                "-0",
                "-0.0",
                "NaN",
                "Infinity",
                "-1",
                "100000",
                "100000.0001",
                "1e5",
                "0x10",
                "01",
                "1.",
                ".5",
                "99999999999999999999999999999999999999",
            ][..]
        )
        .prop_map(str::to_string),
    ]
}

fn point_text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (number(), number()).prop_map(|(x, y)| format!("[{x},{y}]")),
        1 => (number(), number(), number()).prop_map(|(x, y, z)| format!("[{x},{y},{z}]")),
        1 => prop::sample::select(&["[]", "[1]", "null", "{}", "\"1,2\"", "[[1,2]]", "[true,false]"][..]).prop_map(str::to_string),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_0-9]{0,10}|lines|polygons|data|name|properties|type", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn shape_text() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(point_text(), 0..7),
        prop::option::of(prop_oneof![
            any::<String>().prop_map(|s| Value::from(s).to_string()),
            Just("1".to_string()),
            Just("\"a\"".to_string())
        ]),
        prop::option::of(any_json()),
    )
        .prop_map(|(pts, name, props)| {
            let mut s = format!("{{\"data\":[{}]", pts.join(","));
            if let Some(n) = name {
                s.push_str(&format!(",\"name\":{n}"));
            }
            if let Some(p) = props {
                s.push_str(&format!(",\"properties\":{p}"));
            }
            s.push('}');
            s
        })
}

/// Near-valid ROI text: the right shape, with hostile numbers, names and properties.
fn near_valid() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(shape_text(), 0..4),
        prop::collection::vec(shape_text(), 0..4),
    )
        .prop_map(|(lines, polys)| format!("{{\"lines\":[{}],\"polygons\":[{}]}}", lines.join(","), polys.join(",")))
}

const SPLICE: &[&str] = &[
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "\"",
    "\\",
    "\\u0000",
    "\\ud800",
    "null",
    "1e999",
    "-",
    "\u{0}",
    "\u{feff}",
    "\"lines\":",
    "\"polygons\":",
    "[[",
    "]]",
];

fn mutated() -> impl Strategy<Value = String> {
    (
        near_valid(),
        any::<prop::sample::Index>(),
        prop::sample::select(SPLICE),
        any::<bool>(),
    )
        .prop_map(|(doc, at, piece, delete)| {
            let mut i = at.index(doc.len() + 1);
            while !doc.is_char_boundary(i) {
                i -= 1;
            }
            if delete && i < doc.len() {
                let mut j = i + 1;
                while !doc.is_char_boundary(j) {
                    j += 1;
                }
                format!("{}{}", &doc[..i], &doc[j..])
            } else {
                format!("{}{piece}{}", &doc[..i], &doc[i..])
            }
        })
}

fn deep() -> impl Strategy<Value = String> {
    (
        1usize..20_000,
        prop::sample::select(&["[", "{\"lines\":", "{\"a\":["][..]),
    )
        .prop_map(|(n, open)| format!("{{\"polygons\":{}", open.repeat(n)))
}

fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..400).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        any::<String>(),
        any_json().prop_map(|v| v.to_string()),
        near_valid(),
        near_valid(),
        mutated(),
        mutated(),
        deep(),
    ]
}

fn check_parsed(roi: &Roi) {
    let ok = |p: &Point| {
        p.x.is_finite() && p.y.is_finite() && (0.0..=100_000.0).contains(&p.x) && (0.0..=100_000.0).contains(&p.y)
    };
    for l in &roi.lines {
        assert!(ok(&l.start) && ok(&l.end) && l.start != l.end);
        assert!(l.length() > 0.0);
        assert!(matches!(l.line_type, None | Some(0) | Some(1)));
    }
    for p in &roi.polygons {
        assert!((3..=MAX_POLYGON_POINTS).contains(&p.points.len()));
        assert!(p.points.iter().all(ok));
        assert!(!p.self_intersects() && p.area() > 0.0);
    }
}

proptest! {
    #![proptest_config(config())]

    /// Any text: Ok with usable geometry, or an error naming a `target_roi…` field.
    #[test]
    fn parse_never_panics(text in hostile(), w in 0u32..5000, h in 0u32..5000, px in any::<f32>(), py in any::<f32>()) {
        match Roi::parse(&text) {
            Ok(roi) => {
                check_parsed(&roi);
                // Geometry on accepted ROIs must not panic either.
                let _ = roi.validate_within(w, h);
                let scaled = roi.scaled((w, h), (1920, 1080));
                let _ = scaled.contains(Point::new(px, py));
                let _ = roi.polygon_at(Point::new(px, py));
                for l in &roi.lines {
                    let _ = l.side_of(Point::new(px, py));
                    let _ = l.crossed_by(Point::new(0.0, 0.0), Point::new(px, py));
                }
            }
            Err(RoiError { field, reason }) => {
                prop_assert!(field.starts_with("target_roi"), "field {:?}", field);
                prop_assert!(!reason.is_empty());
            }
        }
    }

    /// Axis-aligned rectangles and distinct-point lines, written as JSON, always parse back.
    #[test]
    fn valid_roi_round_trips(rects in prop::collection::vec((0u32..3000, 0u32..3000, 1u32..1000, 1u32..1000), 0..5),
                             lines in prop::collection::vec(((0u32..3000, 0u32..3000), (0u32..3000, 0u32..3000)), 0..5),
                             name in "\\PC{0,20}") {
        let lines: Vec<_> = lines.into_iter().filter(|(a, b)| a != b).collect();
        let roi = json!({
            "lines": lines.iter().map(|(a, b)| json!({"data": [[a.0, a.1], [b.0, b.1]], "properties": {"side1_name": name}})).collect::<Vec<_>>(),
            "polygons": rects.iter().enumerate().map(|(i, (x, y, w, h))| json!({
                "data": [[x, y], [x + w, y], [x + w, y + h], [x, y + h]],
                "name": format!("{name}{i}"),
            })).collect::<Vec<_>>(),
        });
        let parsed = Roi::parse(&roi.to_string()).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(parsed.lines.len(), lines.len());
        prop_assert_eq!(parsed.polygons.len(), rects.len());
        for (p, (x, y, w, h)) in parsed.polygons.iter().zip(&rects) {
            prop_assert!(p.contains(Point::new(*x as f32 + *w as f32 / 2.0, *y as f32 + *h as f32 / 2.0)));
        }
        for l in &parsed.lines {
            prop_assert_eq!(l.side1_name.as_deref(), Some(name.as_str()));
        }
    }
}

/// A polygon as large as the request body allows must be refused quickly: its self-intersection
/// check is quadratic in the number of points.
#[test]
fn huge_polygons_are_refused_quickly() {
    let n = 150_000;
    let pts: Vec<String> = (0..n)
        .map(|i| {
            let a = i as f64 / n as f64 * std::f64::consts::TAU;
            format!("[{:.3},{:.3}]", 5000.0 + 4000.0 * a.cos(), 5000.0 + 4000.0 * a.sin())
        })
        .collect();
    let text = format!("{{\"polygons\":[{{\"data\":[{}]}}]}}", pts.join(","));
    let started = std::time::Instant::now();
    let e = Roi::parse(&text).unwrap_err();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(e.field(), Some("target_roi.polygons[0].data"));
}
