//! Smoke and fire, and drainage outlet monitoring, on real video (pixel analysis, no model).
//! Ground truth: tools/labels/fire.md (counted by hand from PNG frames).

mod support;

use serde_json::{json, Value};
use vigil_algorithms::event_type::{DRAINAGE, SMOKE_AND_FIRE};

const FIRE_SERVICE: &str = "c-smoke-and-fire-edge";
const DRAIN_SERVICE: &str = "drainage-recognition-edge";
/// Analysed frames per second (the analyzers' own rate).
const FPS: f64 = 4.0;

/// A rectangle given as fractions of the frame, as an ROI polygon `config.common`.
fn roi_config(clip: &str, (x0, y0, x1, y1): Frac, name: &str) -> Value {
    let (w, h) = support::video_size(&support::media(clip));
    let (w, h) = (w as f64, h as f64);
    let p = |x: f64, y: f64| json!([(x * w).round() as i64, (y * h).round() as i64]);
    let roi = json!({"polygons": [{"name": name, "data": [p(x0, y0), p(x1, y0), p(x1, y1), p(x0, y1)]}]});
    json!({ "target_roi": roi.to_string() })
}

/// Times of the smoke/fire items of `state`.
fn times(tl: &support::Timeline, state: i64) -> Vec<f64> {
    support::items(tl, SMOKE_AND_FIRE, None)
        .into_iter()
        .filter(|(_, v)| v["state"] == state)
        .map(|(t, _)| t)
        .collect()
}

/// (time, state) of the drainage messages.
fn drain_states(tl: &support::Timeline) -> Vec<(f64, bool)> {
    tl.iter()
        .filter(|(_, e)| e.event_type == DRAINAGE)
        .map(|(t, e)| {
            (
                *t,
                e.data["drainage_state"].as_bool().expect("drainage_state is a bool"),
            )
        })
        .collect()
}

#[test]
fn fire_and_smoke_on_the_burning_dollhouse() {
    // Truth (tools/labels/fire.md): flames and white smoke are visible from the first frame.
    let clip = support::media("fire_dollhouse.mp4");
    let tl = support::run_one(FIRE_SERVICE, &json!({}), &clip, FPS);
    let (fire, smoke) = (times(&tl, 1), times(&tl, 2));
    eprintln!("fire alarms at {fire:?}, smoke alarms at {smoke:?}");
    let first_fire = *fire.first().expect("a fire alarm");
    assert!(
        first_fire <= 5.0,
        "fire alarm {first_fire:.1} s after the first visible flame (target <= 5 s)"
    );
    // Once at confirmation; the clip (30 s) is shorter than the 60-s resend interval.
    assert_eq!(fire.len(), 1, "fire is sent once per resend interval");
    let first_smoke = *smoke.first().expect("a smoke alarm");
    assert!(first_smoke <= 10.0, "smoke alarm at {first_smoke:.1} s (measured 8 s)");
    // Every box lies on the house or the smoke above it (x 120–250 px of the 426-px frame).
    for (_, v) in support::items(&tl, SMOKE_AND_FIRE, None) {
        let b = &v["bounding_box"];
        let (x, w) = (b["x"].as_i64().unwrap_or(-1), b["w"].as_i64().unwrap_or(-1));
        assert!(x >= 110 && x + w <= 260, "box off the house: {v}");
    }

    // Switches: with fire detection off only smoke is reported, and the reverse.
    let only_smoke = support::run_one(FIRE_SERVICE, &json!({"fire_detection_sw": 0}), &clip, FPS);
    assert!(times(&only_smoke, 1).is_empty() && !times(&only_smoke, 2).is_empty());
    // An ROI on the lawn (lower right) sees neither.
    let lawn = roi_config("fire_dollhouse.mp4", (0.62, 0.6, 0.85, 0.95), "lawn");
    let off = support::run_one(FIRE_SERVICE, &lawn, &clip, FPS);
    assert!(
        support::items(&off, SMOKE_AND_FIRE, None).is_empty(),
        "alarm outside the ROI"
    );
}

/// Regions for drainage on each negative clip: a static part (wall, floor, lawn, road) and a
/// central part people walk or vehicles drive through.
/// A rectangle as fractions of the frame: x0, y0, x1, y1.
type Frac = (f64, f64, f64, f64);

const NEGATIVES: &[(&str, Frac)] = &[
    ("warehouse_worker_helmet.mp4", (0.6, 0.6, 0.95, 0.95)),
    ("carpark_cars.mp4", (0.0, 0.0, 0.25, 1.0)),
    ("pedestrians_vtest.mp4", (0.05, 0.55, 0.6, 0.95)),
    ("street_bikes.mp4", (0.0, 0.0, 0.3, 1.0)),
    ("street_parked_bicycle.mp4", (0.6, 0.0, 1.0, 0.5)),
    ("standing_desk_people.mp4", (0.05, 0.1, 0.45, 0.7)),
    ("gym_crowd_high_corner.mp4", (0.6, 0.6, 0.95, 0.95)),
    ("fall_backward_day.mp4", (0.55, 0.05, 0.9, 0.6)),
    ("fall_backward_night.mp4", (0.6, 0.05, 0.95, 0.45)),
    ("no_fall_sitting_eating.mp4", (0.6, 0.05, 0.95, 0.45)),
];
const WALKWAY: Frac = (0.3, 0.3, 0.7, 0.8);

/// Clip length in seconds (ffprobe).
fn duration(path: &std::path::Path) -> f64 {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("duration")
}

/// Runs smoke/fire (whole frame) and drainage (static ROI, walkway ROI) over negative clips in
/// one decode each; returns (seconds of video, fire/smoke alarms, drainage `true` messages).
fn negatives(range: std::ops::Range<usize>) -> (f64, usize, usize) {
    let (mut secs, mut fires, mut drains) = (0.0, 0, 0);
    for (clip, still) in &NEGATIVES[range] {
        let mut analyzers = vec![
            support::analyzer(FIRE_SERVICE, &json!({})),
            support::analyzer(DRAIN_SERVICE, &roi_config(clip, *still, "static")),
            support::analyzer(DRAIN_SERVICE, &roi_config(clip, WALKWAY, "walkway")),
        ];
        let path = support::media(clip);
        let tls = support::run(&path, FPS, &mut analyzers);
        let f = support::items(&tls[0], SMOKE_AND_FIRE, None);
        let d: Vec<_> = tls[1..].iter().flat_map(drain_states).filter(|(_, s)| *s).collect();
        let n = duration(&path);
        eprintln!("{clip}: {n} s, smoke/fire items {f:?}, drainage true {d:?}");
        secs += n;
        fires += f.len();
        drains += d.len();
    }
    eprintln!(
        "negatives: {secs} s, smoke/fire alarms {fires} ({:.1}/h), drainage true {drains} ({:.1}/h)",
        fires as f64 * 3600.0 / secs,
        drains as f64 * 3600.0 / secs
    );
    (secs, fires, drains)
}

#[test]
fn no_alarm_on_negative_clips_short() {
    let (_, fires, drains) = negatives(0..5);
    assert_eq!(fires, 0, "smoke/fire false alarms");
    // street_bikes (filmed through a window: the whole scene moves) and the noisy 320x240
    // street_parked_bicycle read as discharging before the global-change and noise floor.
    assert_eq!(drains, 0, "drainage false `true` messages");
}

#[test]
fn no_alarm_on_negative_clips_long() {
    let (_, fires, drains) = negatives(5..NEGATIVES.len());
    assert_eq!(fires, 0, "smoke/fire false alarms");
    // Measured and documented (docs: drainage limits): the 4x time-lapse gym crowd still
    // churns like water for a few seconds in the walkway ROI (1 message at 6.75 s; 2 before
    // churn had to persist over two decisions).
    assert!(drains <= 1, "drainage false `true` messages: {drains} (measured 1)");
}

#[test]
fn drainage_follows_the_composited_outlet() {
    // Truth: the churning patch is on screen 6–20 s (tools/labels/fire.md); the ROI is the
    // patch, with 20 px around it.
    let clip = support::composites::drainage_clip();
    let outlet = json!({"polygons": [{"name": "outlet",
        "data": [[40, 310], [320, 310], [320, 430], [40, 430]]}]});
    let config = json!({ "target_roi": outlet.to_string() });
    let tl = support::run_one(DRAIN_SERVICE, &config, &clip, FPS);
    let states = drain_states(&tl);
    eprintln!("drainage messages {states:?}");
    assert_eq!(states.len(), 2, "one change to true and one back: {states:?}");
    let ((on_t, on), (off_t, off)) = (states[0], states[1]);
    assert!(on && !off);
    // Window 3 s + persistence 1 s + hold 3 s after the start, later here because the car
    // park's exposure jumps (8–9 s) are not judged; the end once the window empties.
    // Measured: true at 15.75 s, false at 22.75 s.
    assert!((6.0..=17.0).contains(&on_t), "discharge reported at {on_t:.1} s");
    assert!((20.0..=27.0).contains(&off_t), "end reported at {off_t:.1} s");

    // Periodic repeats when asked for: the state again every 5 s.
    let mut periodic = config.clone();
    periodic["drainage_report_interval"] = json!(5);
    let tl = support::run_one(DRAIN_SERVICE, &periodic, &clip, FPS);
    assert!(drain_states(&tl).len() >= 6, "{:?}", drain_states(&tl));
}
