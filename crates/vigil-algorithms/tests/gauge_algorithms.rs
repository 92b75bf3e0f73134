//! Water-gauge reading (`cali-water-ruler-river`) on video: the reading error against the known
//! level of a gauge drawn into real footage (no licensed clip of a real gauge exists; see
//! `tools/labels/gauge.md`), and no reading at all on real clips without a gauge.
//!
//! `cargo test -p vigil-algorithms --test gauge_algorithms -- --nocapture` prints the rows.

mod support;

use serde_json::{json, Value};
use support::composites::{gauge_clip, GaugePlacement, GAUGE_CARPARK};
use support::{media, run_one, Timeline};
use vigil_algorithms::event_type::WATER_GAUGE;

const GAUGE: &str = "cali-water-ruler-river-edge";
/// Seconds between readings in these tests (one analysed frame per reading).
const EVERY: i64 = 2;

/// Tuning placement: the still lake photo, 40 px per decimetre, the water rising 1.5 cm/s from
/// 2.22 m; the task's ROI polygon marks the gauge.
const LAKE: GaugePlacement = GaugePlacement {
    clip: None,
    seconds: 30,
    x: 330,
    unit_px: 40,
    low: 20,
    high: 30,
    low_mark_y: 480,
    level0: 22.2,
    level_per_s: 0.15,
};

fn config(roi: Option<[f32; 4]>) -> Value {
    let mut c = json!({"sampling_time_interval": EVERY, "number_unit_cm": 10});
    if let Some([x1, y1, x2, y2]) = roi {
        c["target_roi"] = json!({"polygons": [{"name": "gauge", "data": [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]}]})
            .to_string()
            .into();
    }
    c
}

/// (time, metres) of every reading.
fn readings(tl: &Timeline) -> Vec<(f64, f64)> {
    tl.iter()
        .filter(|(_, e)| e.event_type == WATER_GAUGE)
        .flat_map(|(t, e)| {
            let list = e.data["water_level_list"].as_array().cloned().unwrap_or_default();
            list.into_iter()
                .filter_map(move |r| Some((*t, r["water_level"].as_f64()?)))
        })
        .collect()
}

/// Runs one placement; prints and checks its accuracy row.
fn check_placement(name: &str, g: &GaugePlacement, roi: Option<[f32; 4]>) {
    let clip = gauge_clip(g, &format!("gauge_{name}.avi"));
    let tl = run_one(GAUGE, &config(roi), &clip, 1.0 / EVERY as f64);
    let got = readings(&tl);
    let samples = g.seconds as usize / EVERY as usize;
    let errors_cm: Vec<f64> = got
        .iter()
        .map(|(t, m)| (m * 100.0 - g.level(*t) * 10.0).abs())
        .collect();
    let mean = errors_cm.iter().sum::<f64>() / errors_cm.len().max(1) as f64;
    let max = errors_cm.iter().copied().fold(0.0, f64::max);
    let wrong = errors_cm.iter().filter(|e| **e > 10.0).count();
    eprintln!(
        "| gauge {name} | {samples} samples, level {:.2}..{:.2} m | {} readings | mean error {mean:.1} cm | max {max:.1} cm | {wrong} over 10 cm |",
        g.level(0.0) / 10.0,
        g.level(g.seconds as f64) / 10.0,
        got.len()
    );
    for ((t, m), e) in got.iter().zip(&errors_cm) {
        eprintln!(
            "  {t:5.1} s  read {m:.2} m  true {:.3} m  error {e:.1} cm",
            g.level(*t) / 10.0
        );
    }
    // The first reading waits for a confirming one: every other sample must be read.
    assert!(
        got.len() + 2 >= samples,
        "{name}: only {} readings of {samples} samples",
        got.len()
    );
    assert_eq!(wrong, 0, "{name}: readings off by more than 10 cm");
    assert!(
        mean <= 3.0 && max <= 6.0,
        "{name}: mean error {mean:.1} cm, max {max:.1} cm"
    );
}

#[test]
fn reads_the_gauge_on_the_lake_tuning_placement() {
    check_placement("lake", &LAKE, Some([300.0, 20.0, 470.0, 500.0]));
}

#[test]
fn reads_the_gauge_in_the_car_park_without_roi() {
    check_placement("carpark", &GAUGE_CARPARK, None);
}

#[test]
fn no_reading_without_a_gauge() {
    for clip in [
        "pedestrians_vtest.mp4",
        "carpark_cars.mp4",
        "street_bikes.mp4",
        "gym_crowd_high_corner.mp4",
    ] {
        let tl = run_one(GAUGE, &config(None), &media(clip), 1.0 / EVERY as f64);
        let got = readings(&tl);
        eprintln!("| no gauge: {clip} | {} readings |", got.len());
        assert!(got.is_empty(), "{clip}: readings without a gauge: {got:?}");
    }
}
