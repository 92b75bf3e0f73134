//! `target_roi` validation errors (field paths), geometry conventions, line crossing with
//! jitter, scaling.

use vigil_vision::roi::{CrossingConfig, LineCrossingCounter, Point, Roi, Side};
use vigil_vision::tracker::{ByteTracker, TrackerConfig};
use vigil_vision::{BBox, Detection};

fn err(text: &str) -> (String, String) {
    match Roi::parse(text) {
        Ok(r) => panic!("expected an error for {text}, got {r:?}"),
        Err(e) => (e.field().expect("ROI errors carry a field").to_string(), e.to_string()),
    }
}

#[test]
fn every_validation_error_names_its_field() {
    let cases: &[(&str, &str, &str)] = &[
        ("{", "target_roi", "not valid JSON"),
        ("[1,2]", "target_roi", "JSON object"),
        (r#"{"lines":{}}"#, "target_roi.lines", "array"),
        (r#"{"lines":[5]}"#, "target_roi.lines[0]", "object"),
        (r#"{"lines":[{"name":"a"}]}"#, "target_roi.lines[0].data", "required"),
        (
            r#"{"lines":[{"data":"x"}]}"#,
            "target_roi.lines[0].data",
            "array of points",
        ),
        (
            r#"{"lines":[{"data":[[1,2],[3,4],[5,6]]}]}"#,
            "target_roi.lines[0].data",
            "exactly 2 points",
        ),
        (
            r#"{"lines":[{"data":[[1,2]]}]}"#,
            "target_roi.lines[0].data",
            "exactly 2 points",
        ),
        (
            r#"{"lines":[{"data":[[1,2],[3]]}]}"#,
            "target_roi.lines[0].data[1]",
            "point [x, y]",
        ),
        (
            r#"{"lines":[{"data":[[1,2],["a",4]]}]}"#,
            "target_roi.lines[0].data[1]",
            "numbers",
        ),
        (
            r#"{"lines":[{"data":[[1,2],[-3,4]]}]}"#,
            "target_roi.lines[0].data[1]",
            "non-negative",
        ),
        (
            r#"{"lines":[{"data":[[1,2],[1e9,4]]}]}"#,
            "target_roi.lines[0].data[1]",
            "larger than",
        ),
        (
            r#"{"lines":[{"data":[[1,2],[1,2]]}]}"#,
            "target_roi.lines[0].data",
            "identical",
        ),
        (
            r#"{"lines":[{"data":[[1,2],[3,4]],"name":7}]}"#,
            "target_roi.lines[0].name",
            "string",
        ),
        (
            r#"{"lines":[{"data":[[1,2],[3,4]],"properties":[]}]}"#,
            "target_roi.lines[0].properties",
            "object",
        ),
        (
            r#"{"lines":[{"data":[[1,2],[3,4]],"properties":{"side1_name":1}}]}"#,
            "target_roi.lines[0].properties.side1_name",
            "string",
        ),
        (
            r#"{"lines":[{"data":[[1,2],[3,4]],"properties":{"side2_name":true}}]}"#,
            "target_roi.lines[0].properties.side2_name",
            "string",
        ),
        (
            r#"{"lines":[{"data":[[1,2],[3,4]],"properties":{"type":2}}]}"#,
            "target_roi.lines[0].properties.type",
            "0 or 1",
        ),
        (
            r#"{"lines":[{"data":[[1,2],[3,4]]},{"data":[[0,0]]}]}"#,
            "target_roi.lines[1].data",
            "exactly 2 points",
        ),
        (r#"{"polygons":7}"#, "target_roi.polygons", "array"),
        (r#"{"polygons":["a"]}"#, "target_roi.polygons[0]", "object"),
        (r#"{"polygons":[{}]}"#, "target_roi.polygons[0].data", "required"),
        (
            r#"{"polygons":[{"data":[[0,0],[1,1]]}]}"#,
            "target_roi.polygons[0].data",
            "at least 3 points",
        ),
        (
            r#"{"polygons":[{"data":[[0,0],[10,0],[5,null]]}]}"#,
            "target_roi.polygons[0].data[2]",
            "numbers",
        ),
        (
            r#"{"polygons":[{"data":[[0,0],[5,5],[10,10]]}]}"#,
            "target_roi.polygons[0].data",
            "zero area",
        ),
        (
            r#"{"polygons":[{"data":[[0,0],[10,10],[10,0],[0,10]]}]}"#,
            "target_roi.polygons[0].data",
            "cross",
        ),
        (
            r#"{"polygons":[{"data":[[0,0],[10,0],[0,10]],"name":[]}]}"#,
            "target_roi.polygons[0].name",
            "string",
        ),
        (
            r#"{"polygons":[{"data":[[0,0],[10,0],[0,10]],"properties":"p"}]}"#,
            "target_roi.polygons[0].properties",
            "object",
        ),
        (
            r#"{"polygons":[{"data":[[0,0],[10,0],[0,10]],"name":"a"},{"data":[[20,0],[30,0],[20,10]],"name":"a"}]}"#,
            "target_roi.polygons[1].name",
            "duplicates target_roi.polygons[0].name",
        ),
    ];
    for (text, field, msg) in cases {
        let (f, m) = err(text);
        assert_eq!(&f, field, "field for {text}");
        assert!(m.contains(msg), "message for {text}: {m}");
        assert!(m.starts_with(&format!("invalid {field}")), "{m}");
    }
    // Outside the frame (validated once the stream size is known).
    let r = Roi::parse(r#"{"lines":[{"data":[[0,0],[1921,5]]}],"polygons":[{"data":[[0,0],[10,0],[0,1081]]}]}"#)
        .expect("parses");
    let e = r.validate_within(1920, 1080).expect_err("outside");
    assert_eq!(e.field(), Some("target_roi.lines[0].data[1]"));
    let r = Roi::parse(r#"{"polygons":[{"data":[[0,0],[10,0],[0,1081]]}]}"#).expect("parses");
    assert_eq!(
        r.validate_within(1920, 1080).expect_err("outside").field(),
        Some("target_roi.polygons[0].data[2]")
    );
}

#[test]
fn parses_the_spec_example_and_empty_roi() {
    let text = r#"{"lines":[{"data":[[560,680],[1185,506]],"properties":{"side1_name":"Side1","side2_name":"Side2"}}],"polygons":[{"data":[[0,0],[0,1080],[1920,1080],[1920,0]]}]}"#;
    let r = Roi::parse(text).expect("spec example");
    assert_eq!(r.lines.len(), 1);
    assert_eq!(r.lines[0].start, Point::new(560.0, 680.0));
    assert_eq!(r.lines[0].side1_name.as_deref(), Some("Side1"));
    assert_eq!(r.polygons[0].area(), 1920.0 * 1080.0);
    r.validate_within(1920, 1080).expect("inside 1080p");
    assert!(Roi::parse("").expect("empty").is_whole_frame());
    assert!(Roi::parse("{}").expect("{}").is_whole_frame());
    assert!(Roi::parse("{}").expect("{}").contains(Point::new(5.0, 5.0)));
    let r = Roi::parse(r#"{"lines":[{"data":[[0,0],[10,0]],"properties":{"type":1,"extra":"kept"}}]}"#).expect("type");
    assert_eq!(r.lines[0].line_type, Some(1));
    assert_eq!(r.lines[0].properties["extra"], "kept");
}

#[test]
fn sides_follow_the_vias_convention_regardless_of_point_order() {
    // Vertical line: side1 is the left.
    for text in [
        r#"{"lines":[{"data":[[100,0],[100,200]]}]}"#,
        r#"{"lines":[{"data":[[100,200],[100,0]]}]}"#,
    ] {
        let l = &Roi::parse(text).expect("line").lines[0];
        assert_eq!(l.side_of(Point::new(50.0, 100.0)), Some(Side::Side1));
        assert_eq!(l.side_of(Point::new(150.0, 100.0)), Some(Side::Side2));
        assert_eq!(l.side_of(Point::new(100.0, 100.0)), None);
    }
    // Horizontal line: side1 is above.
    for text in [
        r#"{"lines":[{"data":[[0,100],[200,100]]}]}"#,
        r#"{"lines":[{"data":[[200,100],[0,100]]}]}"#,
    ] {
        let l = &Roi::parse(text).expect("line").lines[0];
        assert_eq!(l.side_of(Point::new(100.0, 50.0)), Some(Side::Side1));
        assert_eq!(l.side_of(Point::new(100.0, 150.0)), Some(Side::Side2));
    }
    // Slanted, mostly horizontal (spec example): above is side1.
    let l = &Roi::parse(r#"{"lines":[{"data":[[560,680],[1185,506]]}]}"#)
        .expect("line")
        .lines[0];
    assert_eq!(l.side_of(Point::new(870.0, 400.0)), Some(Side::Side1));
    assert_eq!(l.side_of(Point::new(870.0, 900.0)), Some(Side::Side2));
    assert!((l.signed_distance(Point::new(560.0, 680.0))).abs() < 1e-3);
}

#[test]
fn point_in_polygon_including_concave_and_border() {
    let r = Roi::parse(r#"{"polygons":[{"data":[[0,0],[100,0],[100,100],[50,40],[0,100]],"name":"zone"}]}"#)
        .expect("concave");
    let p = &r.polygons[0];
    assert!(p.contains(Point::new(10.0, 10.0)));
    assert!(p.contains(Point::new(90.0, 80.0)));
    assert!(!p.contains(Point::new(50.0, 80.0)), "inside the notch");
    assert!(p.contains(Point::new(50.0, 0.0)), "on the border");
    assert!(p.contains(Point::new(100.0, 100.0)), "a vertex");
    assert!(!p.contains(Point::new(150.0, 50.0)));
    assert_eq!(r.polygon_at(Point::new(10.0, 10.0)), Some(0));
    assert_eq!(r.polygon_at(Point::new(50.0, 80.0)), None);
    // Anchor convention: bottom-centre of the box.
    let b = BBox::new(40.0, 10.0, 60.0, 30.0);
    assert_eq!(b.anchor(), (50.0, 30.0));
}

#[test]
fn scaling_maps_roi_to_another_resolution() {
    let r =
        Roi::parse(r#"{"lines":[{"data":[[960,0],[960,1080]]}],"polygons":[{"data":[[0,0],[1920,0],[1920,1080]]}]}"#)
            .expect("roi");
    let s = r.scaled((1920, 1080), (640, 360));
    assert_eq!(s.lines[0].start, Point::new(320.0, 0.0));
    assert_eq!(s.lines[0].end, Point::new(320.0, 360.0));
    assert_eq!(s.polygons[0].points[2], Point::new(640.0, 360.0));
    s.validate_within(640, 360).expect("fits");
}

fn line(text: &str) -> vigil_vision::roi::RoiLine {
    Roi::parse(text).expect("roi").lines.remove(0)
}

/// Deterministic jitter in [-a, a].
fn jitter(i: usize, a: f32) -> f32 {
    let x = ((i as u32).wrapping_mul(2654435761) >> 8) as f32 / (1u32 << 24) as f32;
    (x * 2.0 - 1.0) * a
}

#[test]
fn crossing_counts_exact_with_jitter_on_the_line() {
    let l = line(r#"{"lines":[{"data":[[300,0],[300,400]],"properties":{"side1_name":"west","side2_name":"east"}}]}"#);
    let mut c = LineCrossingCounter::new(l, CrossingConfig::default());
    // Track 1 walks west -> east, loitering on the line with +-5 px jitter for 40 frames.
    let mut events = Vec::new();
    let mut x = 200.0;
    for i in 0..200 {
        let px = if (60..100).contains(&i) {
            300.0 + jitter(i, 5.0)
        } else {
            x
        };
        if let Some(e) = c.update(1, Point::new(px, 200.0 + jitter(i + 7, 3.0))) {
            events.push((i, e));
        }
        if !(60..100).contains(&i) {
            x += 1.5;
        }
    }
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].1.from, Side::Side1);
    assert_eq!(events[0].1.to, Side::Side2);
    assert_eq!(c.line.side_name(events[0].1.to), "east");
    assert_eq!((c.to_side1, c.to_side2), (0, 1));

    // Single-frame excursions 12 px past the line (beyond the 6 px band): no count.
    let mut c2 = LineCrossingCounter::new(c.line.clone(), CrossingConfig::default());
    let mut n = 0;
    for i in 0..300 {
        let px = if i % 10 == 5 { 312.0 } else { 290.0 + jitter(i, 2.0) };
        n += c2.update(2, Point::new(px, 100.0)).is_some() as u32;
    }
    assert_eq!(n, 0, "one-frame excursions across the line must not count");
    assert_eq!((c2.to_side1, c2.to_side2), (0, 0));
}

#[test]
fn crossing_counts_many_tracks_both_directions_and_ignores_passing_around_the_end() {
    let l = line(r#"{"lines":[{"data":[[100,300],[500,300]]}]}"#); // horizontal: side1 above
    let mut c = LineCrossingCounter::new(l, CrossingConfig::default());
    let mut expected = (0u64, 0u64);
    for id in 1..=20u64 {
        let down = id % 3 != 0; // 2 of 3 walk downwards (to side2)
        let x = 120.0 + id as f32 * 15.0;
        for i in 0..120 {
            let t = i as f32 / 119.0;
            let y = if down { 200.0 + 200.0 * t } else { 400.0 - 200.0 * t };
            c.update(
                id,
                Point::new(x + jitter(i + id as usize, 4.0), y + jitter(i * 3 + id as usize, 4.0)),
            );
        }
        if down {
            expected.1 += 1;
        } else {
            expected.0 += 1;
        }
    }
    // A track that goes around the end of the segment (x = 600) changes side without crossing it.
    for i in 0..100 {
        c.update(99, Point::new(600.0, 200.0 + 2.0 * i as f32));
    }
    assert_eq!((c.to_side1, c.to_side2), expected);
    // Back and forth by one track counts once per direction.
    for round in 0..3 {
        for i in 0..40 {
            let y = if round % 2 == 0 {
                260.0 + 2.0 * i as f32
            } else {
                340.0 - 2.0 * i as f32
            };
            c.update(500, Point::new(300.0, y));
        }
    }
    assert_eq!((c.to_side1, c.to_side2), (expected.0 + 1, expected.1 + 1));
}

#[test]
fn tracker_plus_line_counter_count_flickering_boxes_once() {
    // A person walks across a vertical line; the detector flickers (misses 1 frame in 4, score
    // drops to 0.3 in some frames) and the box jitters. Exactly one crossing must be counted.
    let l = line(r#"{"lines":[{"data":[[320,0],[320,480]]}]}"#);
    let mut counter = LineCrossingCounter::new(l, CrossingConfig::default());
    let mut tracker = ByteTracker::new(TrackerConfig::default());
    let mut crossings = 0;
    for f in 0..120usize {
        let x = 200.0 + f as f32 * 2.0 + jitter(f, 3.0);
        let mut dets = Vec::new();
        if f % 4 != 3 {
            dets.push(Detection {
                bbox: BBox::new(
                    x - 20.0 + jitter(f + 1, 2.0),
                    100.0,
                    x + 20.0 + jitter(f + 2, 2.0),
                    260.0 + jitter(f + 3, 2.0),
                ),
                score: if f % 7 == 5 { 0.3 } else { 0.85 },
                class_id: 0,
            });
        }
        for t in tracker.update(&dets) {
            let (ax, ay) = t.bbox.anchor();
            crossings += counter.update(t.id, Point::new(ax, ay)).is_some() as u32;
        }
        for id in tracker.removed_ids() {
            counter.remove(*id);
        }
    }
    assert_eq!(tracker.ids_issued(), 1);
    assert_eq!(crossings, 1);
    assert_eq!((counter.to_side1, counter.to_side2), (0, 1));
}
