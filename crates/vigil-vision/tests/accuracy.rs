//! Detection accuracy on real video against hand-checked labels (see tools/vision/LABELS.md),
//! at the default operating threshold (DetectorConfig::default(): score 0.35, NMS 0.45).

mod common;

use common::*;
use vigil_vision::detect::{coco, YoloxDetector};
use vigil_vision::{BackendConfig, DetectorConfig};

#[test]
fn person_precision_recall_on_pedestrian_clip() {
    let gt = load_gt("pedestrians_person_gt.json", coco::PERSON);
    assert!(gt.len() >= 20);
    let idx: Vec<usize> = gt.iter().map(|g| g.index).collect();
    let frames = frames(&media("pedestrians_vtest.mp4"), Some(&idx));
    let models = model_dir();
    let cfg = DetectorConfig {
        classes: Some(vec![coco::PERSON]),
        ..Default::default()
    };
    let nano = YoloxDetector::coco(&models, &BackendConfig::ort(2), cfg.clone()).expect("yolox");
    let light = YoloxDetector::person(&models, &BackendConfig::ort(2), DetectorConfig::default()).expect("light");
    let (mut s_nano, mut s_light) = (Score::default(), Score::default());
    // Precision/recall at other thresholds too (from one run at 0.25).
    let low = YoloxDetector::coco(
        &models,
        &BackendConfig::ort(2),
        DetectorConfig {
            conf_threshold: 0.25,
            ..cfg.clone()
        },
    )
    .expect("yolox");
    let thresholds = [0.25f32, 0.35, 0.45, 0.55];
    let mut curve = vec![Score::default(); thresholds.len()];
    for (f, g) in frames.iter().zip(&gt) {
        s_nano.add(score_frame(&nano.detect_timed(f).expect("detect").0, g, coco::PERSON));
        s_light.add(score_frame(&light.detect_timed(f).expect("detect").0, g, coco::PERSON));
        let d = low.detect_timed(f).expect("detect").0;
        for (k, &t) in thresholds.iter().enumerate() {
            let kept: Vec<_> = d.iter().copied().filter(|x| x.score >= t).collect();
            curve[k].add(score_frame(&kept, g, coco::PERSON));
        }
    }
    for (k, &t) in thresholds.iter().enumerate() {
        eprintln!(
            "YOLOX-Nano person @ {t:.2}: precision {:.3} recall {:.3} {:?}",
            curve[k].precision(),
            curve[k].recall(),
            curve[k]
        );
    }
    let n_gt: usize = gt.iter().map(|g| g.boxes.len()).sum();
    eprintln!(
        "person, {} frames, {n_gt} labelled people: YOLOX-Nano precision {:.3} recall {:.3} ({:?}); light detector precision {:.3} recall {:.3} ({:?})",
        gt.len(),
        s_nano.precision(),
        s_nano.recall(),
        s_nano,
        s_light.precision(),
        s_light.recall(),
        s_light
    );
    assert!(
        s_nano.precision() >= 0.80,
        "YOLOX-Nano person precision {:.3}",
        s_nano.precision()
    );
    assert!(
        s_nano.recall() >= 0.93,
        "YOLOX-Nano person recall {:.3}",
        s_nano.recall()
    );
    assert!(
        s_light.precision() >= 0.75,
        "light detector precision {:.3}",
        s_light.precision()
    );
    assert!(
        s_light.recall() >= 0.68,
        "light detector recall {:.3}",
        s_light.recall()
    );
}

#[test]
fn vehicles_and_bicycles_on_street_clip() {
    let gt = load_gt("street_vehicles_gt.json", u32::MAX);
    let idx: Vec<usize> = gt.iter().map(|g| g.index).collect();
    let frames = frames(&media("street_bikes.mp4"), Some(&idx));
    let models = model_dir();
    let classes = [coco::BICYCLE, coco::CAR, coco::MOTORCYCLE, coco::BUS];
    let det = YoloxDetector::coco(
        &models,
        &BackendConfig::ort(2),
        DetectorConfig {
            classes: Some(classes.to_vec()),
            ..Default::default()
        },
    )
    .expect("yolox");
    let mut per = vec![Score::default(); classes.len()];
    let mut all = Score::default();
    for (f, g) in frames.iter().zip(&gt) {
        let d = det.detect_timed(f).expect("detect").0;
        for (k, &c) in classes.iter().enumerate() {
            let s = score_frame(&d, g, c);
            per[k].add(s);
            all.add(s);
        }
    }
    for (k, &c) in classes.iter().enumerate() {
        eprintln!(
            "class {c}: precision {:.3} recall {:.3} {:?}",
            per[k].precision(),
            per[k].recall(),
            per[k]
        );
    }
    eprintln!(
        "all street classes: precision {:.3} recall {:.3} {:?}",
        all.precision(),
        all.recall(),
        all
    );
    let bike = per[0];
    let car = per[1];
    assert!(bike.recall() >= 0.5, "bicycle recall {:.3}", bike.recall());
    assert!(bike.precision() >= 0.6, "bicycle precision {:.3}", bike.precision());
    assert!(car.recall() >= 0.35, "car recall {:.3}", car.recall());
    assert!(car.precision() >= 0.8, "car precision {:.3}", car.precision());
}
