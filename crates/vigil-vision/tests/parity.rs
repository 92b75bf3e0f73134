//! Parity of the Rust YOLOX pipelines (both backends) with the Python reference
//! (`tools/vision/yolox_reference.py`: onnxruntime + the published YOLOX decode), and of the
//! tract backend with ONNX Runtime on every model's raw outputs.

mod common;

use std::process::Command;

use common::*;
use vigil_vision::backend::{load_session, Tensor};
use vigil_vision::detect::YoloxDetector;
use vigil_vision::{BackendConfig, Detection, DetectorConfig, ImageBgr};

/// The reference detections; `trim` runs the reference on the input cut to the image (what the
/// ONNX Runtime backend does: `YoloxDetector::input_shape`), else on the exported square.
fn reference(model: &str, size: u32, frames: &[ImageBgr], conf: f32, trim: bool) -> Vec<Vec<[f32; 6]>> {
    let dir = temp_dir("parity");
    let raw = dir.join("frames.bgr");
    let mut bytes = Vec::new();
    for f in frames {
        bytes.extend_from_slice(&f.to_packed_vec());
    }
    std::fs::write(&raw, bytes).expect("write frames");
    let script = repo_root().join("tools/vision/yolox_reference.py");
    let out = Command::new(python())
        .arg(script)
        .arg("--model")
        .arg(model_dir().path.join(model))
        .args(["--size", &size.to_string(), "--conf", &conf.to_string()])
        .args(trim.then_some("--trim"))
        .arg("--raw")
        .arg(&raw)
        .args([
            "--width",
            &frames[0].width().to_string(),
            "--height",
            &frames[0].height().to_string(),
        ])
        .output()
        .expect("python reference runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "reference failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("reference json");
    v["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .map(|f| {
            f.as_array()
                .expect("dets")
                .iter()
                .map(|d| {
                    let a: Vec<f32> = d
                        .as_array()
                        .expect("det")
                        .iter()
                        .map(|x| x.as_f64().expect("num") as f32)
                        .collect();
                    [a[0], a[1], a[2], a[3], a[4], a[5]]
                })
                .collect()
        })
        .collect()
}

/// Every reference detection has a Rust detection of the same class with IoU >= 0.95 and score
/// within 1e-3, and vice versa (counts equal). Returns (matched, worst IoU, worst score diff).
fn compare(ours: &[Vec<Detection>], refs: &[Vec<[f32; 6]>], what: &str) -> (usize, f32, f32) {
    assert_eq!(ours.len(), refs.len());
    let (mut n, mut worst_iou, mut worst_ds) = (0, 1.0f32, 0.0f32);
    for (fi, (o, r)) in ours.iter().zip(refs).enumerate() {
        assert_eq!(
            o.len(),
            r.len(),
            "{what}: frame {fi}: {} detections vs {} in the reference\nours {o:?}\nref {r:?}",
            o.len(),
            r.len()
        );
        let mut used = vec![false; o.len()];
        for rd in r {
            let rb = vigil_vision::BBox::new(rd[0], rd[1], rd[2], rd[3]);
            let best = o
                .iter()
                .enumerate()
                .filter(|(i, d)| !used[*i] && d.class_id == rd[5] as u32)
                .map(|(i, d)| (i, d.bbox.iou(&rb), (d.score - rd[4]).abs()))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            let (i, iou, ds) = best.unwrap_or_else(|| panic!("{what}: frame {fi}: no match for {rd:?}"));
            assert!(iou >= 0.95, "{what}: frame {fi}: IoU {iou} for {rd:?} vs {:?}", o[i]);
            assert!(
                ds <= 1e-3,
                "{what}: frame {fi}: score diff {ds} for {rd:?} vs {:?}",
                o[i]
            );
            used[i] = true;
            worst_iou = worst_iou.min(iou);
            worst_ds = worst_ds.max(ds);
            n += 1;
        }
    }
    (n, worst_iou, worst_ds)
}

fn parity_frames() -> Vec<ImageBgr> {
    // 30 pedestrian frames spread over the clip plus 6 from the street clip.
    let ped: Vec<usize> = (0..30).map(|i| 5 + i * 26).collect();
    let mut f = frames(&media("pedestrians_vtest.mp4"), Some(&ped));
    let street = frames(&media("street_bikes.mp4"), Some(&[30, 75, 110, 140, 160, 235]));
    f.extend(street);
    f
}

#[test]
fn yolox_nano_matches_reference_on_both_backends() {
    let models = model_dir();
    let all = parity_frames();
    let conf = 0.3;
    // Reference per resolution (the script takes one frame size).
    let (ped, street) = all.split_at(30);
    let refs_for = |trim: bool| {
        let mut refs = reference("yolox_nano.onnx", 416, ped, conf, trim);
        refs.extend(reference("yolox_nano.onnx", 416, street, conf, trim));
        refs
    };
    let (square, trimmed) = (refs_for(false), refs_for(true));
    let cfg = DetectorConfig {
        conf_threshold: conf,
        ..Default::default()
    };
    for backend in [BackendConfig::ort(1), BackendConfig::tract()] {
        let det = YoloxDetector::coco(&models, &backend, cfg.clone()).expect("detector");
        // ONNX Runtime runs the input cut to the frame plus one 32-px cell (416x352 and 416x224
        // here, 416x288 for 16:9), tract the square.
        let ort = backend.kind == Some(vigil_vision::BackendKind::Ort);
        assert_eq!(det.input_shape(768, 576), if ort { (416, 352) } else { (416, 416) });
        assert_eq!(det.input_shape(640, 272), if ort { (416, 224) } else { (416, 416) });
        assert_eq!(det.input_shape(1280, 720), if ort { (416, 288) } else { (416, 416) });
        assert_eq!(det.input_shape(720, 1280), if ort { (288, 416) } else { (416, 416) });
        let refs = if ort { &trimmed } else { &square };
        let ours: Vec<Vec<Detection>> = all.iter().map(|f| det.detect_timed(f).expect("detect").0).collect();
        let (n, iou, ds) = compare(&ours, refs, backend.kind.map(|k| k.name()).unwrap_or("auto"));
        eprintln!(
            "yolox_nano {:?}: {n} detections on {} frames match, worst IoU {iou:.5}, worst score diff {ds:.2e}",
            backend.kind,
            all.len()
        );
        assert!(n >= 150, "too few detections ({n}) for a meaningful comparison");
    }
}

#[test]
fn light_person_detector_matches_reference_on_both_backends() {
    let models = model_dir();
    let idx: Vec<usize> = (0..30).map(|i| 11 + i * 26).collect();
    let frames = frames(&media("pedestrians_vtest.mp4"), Some(&idx));
    let conf = 0.3;
    let square = reference("light_person_detector.onnx", 192, &frames, conf, false);
    let trimmed = reference("light_person_detector.onnx", 192, &frames, conf, true);
    let cfg = DetectorConfig {
        conf_threshold: conf,
        ..Default::default()
    };
    for backend in [BackendConfig::ort(1), BackendConfig::tract()] {
        let det = YoloxDetector::person(&models, &backend, cfg.clone()).expect("detector");
        let ort = backend.kind == Some(vigil_vision::BackendKind::Ort);
        let refs = if ort { &trimmed } else { &square };
        let ours: Vec<Vec<Detection>> = frames.iter().map(|f| det.detect_timed(f).expect("detect").0).collect();
        let (n, iou, ds) = compare(&ours, refs, "light person");
        eprintln!(
            "light_person {:?}: {n} detections match, worst IoU {iou:.5}, worst score diff {ds:.2e}",
            backend.kind
        );
        assert!(n >= 60, "too few detections ({n})");
    }
}

/// A deterministic pseudo-random input in `[lo, hi)`.
fn noise(n: usize, seed: u32, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2654435761).wrapping_add(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            lo + (hi - lo) * (s as f32 / u32::MAX as f32)
        })
        .collect()
}

/// Real image content for image models: a pedestrian frame resized to `w x h`, NCHW or NHWC.
fn image_input(w: u32, h: u32, nhwc: bool, scale: f32, offset: f32) -> Vec<f32> {
    let f = frames(&media("pedestrians_vtest.mp4"), Some(&[300]));
    let img = f[0].resize(w, h).expect("resize");
    let px = img.to_packed_vec();
    let plane = (w * h) as usize;
    let mut out = vec![0f32; plane * 3];
    for i in 0..plane {
        for c in 0..3 {
            let v = px[i * 3 + c] as f32 * scale + offset;
            if nhwc {
                out[i * 3 + c] = v;
            } else {
                out[c * plane + i] = v;
            }
        }
    }
    out
}

#[test]
fn tract_matches_onnxruntime_on_every_model() {
    let models = model_dir();
    let cases: Vec<(&str, Tensor)> = vec![
        (
            "yolox_nano",
            Tensor::f32(vec![1, 3, 416, 416], image_input(416, 416, false, 1.0, 0.0)),
        ),
        (
            "light_person_detector",
            Tensor::f32(vec![1, 3, 192, 192], image_input(192, 192, false, 1.0, 0.0)),
        ),
        (
            "nanodet_m_320",
            Tensor::f32(vec![1, 3, 320, 320], image_input(320, 320, false, 1.0 / 57.5, -2.0)),
        ),
        (
            "yunet",
            Tensor::f32(vec![1, 3, 640, 640], image_input(640, 640, false, 1.0, 0.0)),
        ),
        (
            "movenet_lightning",
            Tensor::i32(
                vec![1, 192, 192, 3],
                image_input(192, 192, true, 1.0, 0.0)
                    .iter()
                    .map(|&v| v as i32)
                    .collect(),
            ),
        ),
        (
            "movenet_multipose",
            Tensor::i32(
                vec![1, 192, 256, 3],
                image_input(256, 192, true, 1.0, 0.0)
                    .iter()
                    .map(|&v| v as i32)
                    .collect(),
            ),
        ),
        (
            "person_reid",
            Tensor::f32(vec![1, 256, 128, 3], image_input(128, 256, true, 1.0, 0.0)),
        ),
        (
            "ppocr_det",
            Tensor::f32(vec![1, 3, 96, 160], image_input(160, 96, false, 1.0 / 127.5, -1.0)),
        ),
        (
            "ppocr_rec",
            Tensor::f32(vec![1, 3, 32, 160], noise(3 * 32 * 160, 7, -1.0, 1.0)),
        ),
    ];
    for (id, input) in cases {
        let path = models.model_path(id).expect("model verified");
        let ort = load_session(&path, &BackendConfig::ort(1)).expect("ort session");
        let tract = load_session(&path, &BackendConfig::tract()).expect("tract session");
        let a = ort.run(vec![input.clone()]).expect("ort run");
        let b = tract.run(vec![input]).expect("tract run");
        assert_eq!(a.len(), b.len(), "{id}: output count");
        let mut worst = 0f32;
        for (oa, ob) in a.iter().zip(&b) {
            assert_eq!(oa.shape, ob.shape, "{id}: output {} shape", oa.name);
            let mag = oa.data.iter().fold(1f32, |m, v| m.max(v.abs()));
            for (x, y) in oa.data.iter().zip(&ob.data) {
                let d = (x - y).abs() / mag;
                assert!(
                    d <= 1e-3,
                    "{id}: output {} differs by {d} (relative to max |{mag}|)",
                    oa.name
                );
                worst = worst.max(d);
            }
        }
        eprintln!("{id}: tract vs onnxruntime worst relative diff {worst:.2e}");
    }
}
