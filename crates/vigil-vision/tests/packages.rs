//! Bring-your-own detector packages: the decoders on real models and on tiny ONNX heads with
//! hand-computed outputs, checksum verification, and the perceiver loading a package from the
//! registry.
//!
//! NanoDet-m (`shared/models/nanodet_m_320.onnx`) is checked against YOLOX-Nano on real frames
//! of `pedestrians_vtest.mp4`; the YOLOv8/YOLOv5 heads are built by
//! `tools/vision/make_head_model.py` (python `onnx`, test venv) with known rows, and one value
//! that depends on the input so the preprocessing is checked through a real inference.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::json;
use vigil_core::model_package::PackageManifest;
use vigil_vision::detect::{coco, Detector, DetectorConfig, PackagedDetector, YoloxDetector};
use vigil_vision::models::sha256_file;
use vigil_vision::{
    BackendConfig, Detection, DetectorModel, ImageBgr, Needs, PackageRegistry, Perceiver, PerceiverFrame,
    RegisteredPackage, VisionError,
};

const NANODET_SHA: &str = "88e9fb97a54bb0030127ad323a10f88b4531b6aa82617e7ef79e35ffcc9bb3e1";
/// Frames of pedestrians_vtest.mp4 (768×576, 10 fps) spread over the clip.
const FRAMES: [usize; 9] = [10, 50, 100, 200, 300, 400, 500, 600, 700];

fn coco_labels() -> Vec<String> {
    std::fs::read_to_string(shared_dir().join("models/coco_labels.txt"))
        .expect("coco labels")
        .lines()
        .map(str::to_string)
        .collect()
}

/// The NanoDet-m manifest (as documented in docs/algorithm-center.md), with `center_offset`.
fn nanodet_manifest(center_offset: f32) -> PackageManifest {
    PackageManifest::parse(&json!({
        "name": "nanodet-m",
        "version": "1.0.0",
        "licence": "Apache-2.0",
        "company": "RangiLyu/nanodet",
        "input": {"width": 320, "height": 320, "resize": "stretch", "channels": "BGR", "layout": "NCHW",
                  "mean": [103.53, 116.28, 123.675], "std": [57.375, 57.12, 58.395]},
        "decoder": {"family": "nanodet", "strides": [8, 16, 32], "reg_max": 7, "center_offset": center_offset},
        "classes": coco_labels(),
        "score_threshold": 0.35,
        "nms_iou": 0.45,
        "sha256": NANODET_SHA,
        "binding": {"algorithm": "c-urban-stacking", "class_map": {"backpack": "pile", "suitcase": "pile"}}
    }))
    .expect("valid manifest")
}

fn nanodet_package(center_offset: f32) -> RegisteredPackage {
    RegisteredPackage {
        manifest: nanodet_manifest(center_offset),
        model_path: shared_dir().join("models/nanodet_m_320.onnx"),
    }
}

fn backend() -> BackendConfig {
    BackendConfig::ort(1)
}

fn of_class(d: &[Detection], class: u32, min: f32) -> Vec<Detection> {
    d.iter()
        .filter(|x| x.class_id == class && x.score >= min)
        .copied()
        .collect()
}

/// (reference boxes matched at IoU ≥ 0.5, reference boxes, mean IoU of the matches).
fn match_rate(reference: &[Detection], found: &[Detection]) -> (usize, usize, f32) {
    let ious: Vec<f32> = reference
        .iter()
        .map(|r| found.iter().map(|f| r.bbox.iou(&f.bbox)).fold(0.0, f32::max))
        .filter(|&i| i >= 0.5)
        .collect();
    let mean = if ious.is_empty() {
        0.0
    } else {
        ious.iter().sum::<f32>() / ious.len() as f32
    };
    (ious.len(), reference.len(), mean)
}

#[test]
fn nanodet_finds_people_where_yolox_nano_does() {
    let frames = frames(&media("pedestrians_vtest.mp4"), Some(&FRAMES));
    let yolox = YoloxDetector::coco(&model_dir(), &backend(), DetectorConfig::default()).expect("yolox");
    let nano = PackagedDetector::load(&nanodet_package(0.5), &backend()).expect("nanodet loads");
    let nano0 = PackagedDetector::load(&nanodet_package(0.0), &backend()).expect("nanodet loads");
    assert_eq!(nano.labels().len(), 80);
    let (mut matched, mut total, mut iou_sum, mut iou0_sum, mut nano_people) = (0, 0, 0.0, 0.0, 0);
    let mut false_people = 0;
    for (i, f) in frames.iter().enumerate() {
        let reference = of_class(&yolox.detect(f).unwrap(), coco::PERSON, 0.5);
        let all = nano.detect(f).unwrap();
        let people = of_class(&all, coco::PERSON, 0.0);
        let (m, n, mean) = match_rate(&reference, &people);
        let (m0, _, mean0) = match_rate(&reference, &of_class(&nano0.detect(f).unwrap(), coco::PERSON, 0.0));
        eprintln!(
            "frame {}: YOLOX people {n}, NanoDet people {}, matched {m} (mean IoU {mean:.3}; centre offset 0: {m0}, {mean0:.3})",
            FRAMES[i],
            people.len()
        );
        // Every NanoDet box lies inside the frame and has a sane size.
        for d in &all {
            assert!(d.bbox.x1 >= 0.0 && d.bbox.y1 >= 0.0 && d.bbox.x2 <= 768.0 && d.bbox.y2 <= 576.0);
            assert!(d.bbox.width() > 2.0 && d.bbox.height() > 2.0, "{d:?}");
            assert!(d.score >= 0.35 && d.score <= 1.0);
        }
        // Confident NanoDet people that no YOLOX box (any score) supports would be decoding noise.
        let yolox_any = of_class(&yolox.detect(f).unwrap(), coco::PERSON, 0.1);
        false_people += of_class(&people, coco::PERSON, 0.6)
            .iter()
            .filter(|p| yolox_any.iter().all(|y| y.bbox.iou(&p.bbox) < 0.3))
            .count();
        matched += m;
        total += n;
        iou_sum += mean * m as f32;
        iou0_sum += mean0 * m0 as f32;
        nano_people += people.len();
    }
    let rate = matched as f32 / total as f32;
    let mean_iou = iou_sum / matched as f32;
    eprintln!(
        "NanoDet matched {matched}/{total} YOLOX people ({:.0} %), mean IoU {mean_iou:.3}; {nano_people} NanoDet people, \
         {false_people} confident ones without YOLOX support",
        rate * 100.0
    );
    assert!(total >= 40, "the clip has 4-10 people per frame: {total}");
    assert!(rate >= 0.7, "NanoDet matched only {matched}/{total} YOLOX people");
    assert!(mean_iou >= 0.75, "boxes too loose: mean IoU {mean_iou}");
    assert!(false_people <= 2, "{false_people} unsupported confident people");
    // The centre convention matters and 0.5 (NanoDet v0.x) is the one that fits this model.
    assert!(iou_sum / matched as f32 > iou0_sum / matched as f32);
}

#[test]
fn a_model_file_that_does_not_match_the_manifest_is_refused() {
    let dir = temp_dir("pkg-sum");
    let path = dir.join("model.onnx");
    let mut bytes = std::fs::read(shared_dir().join("models/nanodet_m_320.onnx")).unwrap();
    bytes.push(0);
    std::fs::write(&path, &bytes).unwrap();
    let pkg = RegisteredPackage {
        model_path: path.clone(),
        ..nanodet_package(0.5)
    };
    let Err(err) = PackagedDetector::load(&pkg, &backend()) else {
        panic!("a wrong checksum must be refused")
    };
    let actual = sha256_file(&path).unwrap();
    assert!(matches!(err, VisionError::ModelChecksum { .. }), "{err}");
    let msg = err.to_string();
    for part in [
        path.display().to_string(),
        NANODET_SHA.to_string(),
        actual,
        "nanodet-m@1.0.0".into(),
    ] {
        assert!(msg.contains(&part), "{msg} lacks {part}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Builds a head model with `tools/vision/make_head_model.py`.
fn head_model(dir: &Path, name: &str, spec: serde_json::Value) -> PathBuf {
    let out = dir.join(name);
    let script = repo_root().join("tools/vision/make_head_model.py");
    let r = Command::new(python())
        .arg(&script)
        .arg(spec.to_string())
        .arg(&out)
        .output()
        .expect("python runs");
    assert!(
        r.status.success(),
        "make_head_model.py failed (needs python `onnx` in the test venv, see scripts/setup.sh): {}",
        String::from_utf8_lossy(&r.stderr)
    );
    out
}

fn head_package(model: &Path, decoder: &str, classes: &[&str], input: serde_json::Value) -> PackagedDetector {
    let manifest = PackageManifest::parse(&json!({
        "name": format!("test-{decoder}"),
        "version": "1",
        "licence": "MIT",
        "input": input,
        "decoder": {"family": decoder},
        "classes": classes,
        "sha256": sha256_file(model).unwrap(),
        "binding": {"rule": "objects_in_region", "event_type": 90_000_001}
    }))
    .expect("valid manifest");
    PackagedDetector::load(
        &RegisteredPackage {
            manifest,
            model_path: model.to_path_buf(),
        },
        &backend(),
    )
    .expect("loads")
}

fn close(d: &Detection, class: u32, score: f32, b: [f32; 4]) {
    let ok = d.class_id == class
        && (d.score - score).abs() < 1e-4
        && (d.bbox.x1 - b[0]).abs() < 1e-3
        && (d.bbox.y1 - b[1]).abs() < 1e-3
        && (d.bbox.x2 - b[2]).abs() < 1e-3
        && (d.bbox.y2 - b[3]).abs() < 1e-3;
    assert!(ok, "{d:?} vs class {class} score {score} box {b:?}");
}

/// Rows `[cx, cy, w, h, s0, s1, s2]` of the YOLOv8 head (input 64×64, 3 classes).
fn yolov8_rows() -> serde_json::Value {
    json!([
        [16, 16, 8, 16, 0.0, 0.9, 0.0],  // class 1, 0.9
        [40, 40, 10, 10, 0.0, 0.0, 0.1], // class 2, 0.1 + mean of input channel 0 (probe)
        [50, 10, 4, 4, 0.3, 0.0, 0.0],   // below the 0.35 threshold
        [17, 16, 8, 16, 0.0, 0.6, 0.0],  // overlaps row 0 (IoU 0.78), same class: suppressed
        [16, 16, 8, 16, 0.5, 0.0, 0.0]   // row 0's box, class 0: kept (NMS is per class)
    ])
}

#[test]
fn a_yolov8_head_decodes_to_hand_computed_boxes() {
    let dir = temp_dir("pkg-v8");
    // A 128×96 frame of BGR (10, 20, 200).
    let frame = ImageBgr::filled(128, 96, [10, 20, 200]).unwrap();
    let classes = ["a", "b", "c"];
    let stretch_rgb =
        json!({"width": 64, "height": 64, "resize": "stretch", "channels": "RGB", "std": [255, 255, 255]});
    for transpose in [true, false] {
        let model = head_model(
            &dir,
            &format!("v8-{transpose}.onnx"),
            json!({"size": [64, 64], "rows": yolov8_rows(), "transpose": transpose, "probe": [1, 6]}),
        );
        // Stretched: frame x = input x / 0.5, y = input y / (64 / 96).
        let det = head_package(&model, "yolov8", &classes, stretch_rgb.clone());
        let d = det.detect(&frame).unwrap();
        assert_eq!(d.len(), 3, "transpose {transpose}: {d:?}");
        close(&d[0], 1, 0.9, [24.0, 12.0, 40.0, 36.0]);
        // Channel 0 is R = 200: 0.1 + 200 / 255.
        close(&d[1], 2, 0.1 + 200.0 / 255.0, [70.0, 52.5, 90.0, 67.5]);
        close(&d[2], 0, 0.5, [24.0, 12.0, 40.0, 36.0]);
        // BGR order: channel 0 is B = 10, row 1 scores 0.139 and is dropped.
        let mut bgr = stretch_rgb.clone();
        bgr["channels"] = json!("BGR");
        let d = head_package(&model, "yolov8", &classes, bgr).detect(&frame).unwrap();
        assert_eq!(d.iter().map(|x| x.class_id).collect::<Vec<_>>(), vec![1, 0]);
        // Class filter and score floor as the perceiver sets them.
        let mut det = head_package(&model, "yolov8", &classes, stretch_rgb.clone());
        det.config.classes = Some(vec![2]);
        let d = det.detect(&frame).unwrap();
        assert_eq!(d.len(), 1);
        det.config.conf_threshold = 0.9;
        assert!(det.detect(&frame).unwrap().is_empty());
    }
    // NHWC input, letterboxed: ratio 0.5, image in rows 0..48, pad 114 below; mean of R over the
    // input = (48 × 200 + 16 × 114) / 64 = 178.5.
    let model = head_model(
        &dir,
        "v8-nhwc.onnx",
        json!({"size": [64, 64], "layout": "NHWC", "rows": yolov8_rows(), "transpose": true, "probe": [1, 6]}),
    );
    for (resize, dy) in [("letterbox", 0.0), ("letterbox_center", 8.0)] {
        let input = json!({"width": 64, "height": 64, "layout": "NHWC", "resize": resize, "channels": "RGB",
                           "std": [255, 255, 255]});
        let d = head_package(&model, "yolov8", &classes, input).detect(&frame).unwrap();
        assert_eq!(d.len(), 3, "{resize}: {d:?}");
        let y = |v: f32| (v - dy) / 0.5;
        close(&d[0], 1, 0.9, [24.0, y(8.0), 40.0, y(24.0)]);
        close(&d[1], 2, 0.1 + 178.5 / 255.0, [70.0, y(35.0), 90.0, y(45.0)]);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_yolov5_head_decodes_to_hand_computed_boxes() {
    let dir = temp_dir("pkg-v5");
    let frame = ImageBgr::filled(128, 96, [10, 20, 200]).unwrap();
    // Rows [cx, cy, w, h, obj, c0, c1]; row 1's objectness gets + mean of input channel 0.
    let model = head_model(
        &dir,
        "v5.onnx",
        json!({"size": [64, 64], "probe": [1, 4], "rows": [
            [20, 20, 10, 10, 0.9, 0.1, 0.8],
            [40, 30, 8, 4, 0.1, 1.0, 0.0],
            [10, 50, 6, 6, 0.3, 1.0, 1.0]
        ]}),
    );
    let input = json!({"width": 64, "height": 64, "resize": "stretch", "channels": "RGB", "std": [255, 255, 255]});
    let d = head_package(&model, "yolov5", &["x", "y"], input)
        .detect(&frame)
        .unwrap();
    assert_eq!(d.len(), 2, "{d:?}");
    close(&d[0], 0, 0.1 + 200.0 / 255.0, [72.0, 42.0, 88.0, 48.0]);
    close(&d[1], 1, 0.72, [30.0, 22.5, 50.0, 37.5]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_perceiver_loads_a_registered_package_and_tiles_it() {
    let frames = frames(&media("pedestrians_vtest.mp4"), Some(&[50, 200]));
    let key = PackageRegistry::global().insert(nanodet_package(0.5));
    let direct = PackagedDetector::load(&nanodet_package(0.5), &backend()).unwrap();
    let mut p = Perceiver::new(model_dir(), backend());
    let needs = Needs::detector(DetectorModel::Package(key), vec![coco::PERSON], 0.35, 10.0);
    let tiled = Needs::tiled_detector(DetectorModel::Package(key), vec![coco::PERSON], 0.35, 10.0, 2);
    for (i, f) in frames.iter().enumerate() {
        let frame = PerceiverFrame {
            image: f,
            luma: None,
            time: i as f64,
            gate_regions: &[],
        };
        let out = p.perceive(&needs, &frame).expect("perceive");
        let (model, dets) = &out.detections[0];
        assert_eq!(*model, DetectorModel::Package(key));
        let expected = of_class(&direct.detect(f).unwrap(), coco::PERSON, 0.0);
        assert_eq!(dets.as_slice(), expected.as_slice());
        assert!(dets.len() >= 3, "people on frame {i}: {dets:?}");
        assert!(dets.iter().all(|d| d.class_id == coco::PERSON));
        let out = p.perceive(&tiled, &frame).expect("tiled");
        let t = &out.detections[0].1;
        eprintln!("frame {i}: {} people whole-frame, {} tiled", dets.len(), t.len());
        // Tiling keeps what the whole frame found (merged, not duplicated).
        for d in dets.iter() {
            assert!(t.iter().any(|x| x.bbox.iou(&d.bbox) > 0.5), "{d:?} lost by tiling");
        }
        assert!(t.len() <= dets.len() + 6, "duplicates after tiling: {t:?}");
    }
    // A package that is not registered on this worker is a clear error.
    let missing = vigil_vision::PackageKey(1);
    let Err(err) = Perceiver::new(model_dir(), backend()).perceive(
        &Needs::detector(DetectorModel::Package(missing), vec![0], 0.35, 1.0),
        &PerceiverFrame {
            image: &frames[0],
            luma: None,
            time: 0.0,
            gate_regions: &[],
        },
    ) else {
        panic!("an unknown package must be an error")
    };
    assert!(matches!(err, VisionError::PackageNotInstalled(1)), "{err}");
}

#[test]
fn yolox_nano_as_a_package_detects_exactly_like_the_builtin() {
    let frames = frames(&media("pedestrians_vtest.mp4"), Some(&[50, 400]));
    let manifest = PackageManifest::parse(&json!({
        "name": "yolox-nano",
        "version": "0.1.1rc0",
        "licence": "Apache-2.0",
        "company": "Megvii",
        "input": {"width": 416, "height": 416, "resize": "letterbox", "pad_value": 114},
        "decoder": {"family": "yolox", "strides": [8, 16, 32]},
        "classes": coco_labels(),
        "sha256": "695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14",
        "binding": {"rule": "dwell", "event_type": 90_000_002, "classes": ["person"]}
    }))
    .unwrap();
    let pkg = RegisteredPackage {
        manifest,
        model_path: shared_dir().join("models/yolox_nano.onnx"),
    };
    let packaged = PackagedDetector::load(&pkg, &backend()).unwrap();
    // A package runs at the size its manifest gives, so compare with the built-in detector on
    // the same square input (the built-in one otherwise cuts the input to the frame).
    let square = vigil_vision::SessionCache::global()
        .get(&pkg.model_path, &backend())
        .unwrap();
    let builtin = YoloxDetector::new(
        square,
        vigil_vision::detect::YoloxSpec {
            input_size: 416,
            num_classes: 80,
            labels: coco_labels(),
            strides: vec![8, 16, 32],
        },
        DetectorConfig::default(),
    );
    assert_eq!(builtin.input_shape(768, 576), (416, 416));
    for f in &frames {
        let (a, b) = (packaged.detect(f).unwrap(), builtin.detect(f).unwrap());
        assert!(a.len() >= 4);
        assert_eq!(a, b);
    }
}

#[test]
fn the_shipped_nanodet_piles_manifest_describes_nanodet_m() {
    let path = repo_root().join("tools/packages/nanodet-piles/manifest.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let m = PackageManifest::parse(&v).expect("valid manifest");
    let tested = nanodet_manifest(0.5);
    assert_eq!(
        (&m.input, &m.decoder, &m.classes),
        (&tested.input, &tested.decoder, &tested.classes)
    );
    assert_eq!(
        (m.sha256.as_str(), m.score_threshold, m.nms_iou),
        (NANODET_SHA, 0.35, 0.45)
    );
    assert_eq!(m.binding, tested.binding);
    assert_eq!(m.name, "nanodet-piles");
    assert_eq!(
        sha256_file(&shared_dir().join("models/nanodet_m_320.onnx")).unwrap(),
        NANODET_SHA
    );
}
