//! YuNet faces, MoveNet poses and the PP-OCR recognizer on real inputs.

mod common;

use common::*;
use vigil_vision::detect::{FaceDetector, FaceDetectorConfig};
use vigil_vision::ocr::{ctc_greedy, TextRecognizer};
use vigil_vision::pose::{MultiPoseEstimator, SinglePoseEstimator};
use vigil_vision::{BBox, BackendConfig};

#[test]
fn yunet_finds_the_cyclists_face_with_landmarks_inside() {
    let models = model_dir();
    let frames = frames(&media("street_bikes.mp4"), Some(&[112, 124, 136]));
    let fd =
        FaceDetector::from_model_dir(&models, &BackendConfig::ort(1), FaceDetectorConfig::default()).expect("yunet");
    for f in &frames {
        let faces = fd.detect(f).expect("detect");
        eprintln!(
            "faces: {:?}",
            faces.iter().map(|x| (x.bbox, x.score)).collect::<Vec<_>>()
        );
        // The cyclist's head is in the top middle (x 400..470, y 0..80 in all three frames).
        let head = BBox::new(395.0, 0.0, 475.0, 90.0);
        let face = faces
            .iter()
            .find(|x| x.bbox.iou(&head) > 0.05)
            .expect("cyclist face found");
        assert!(face.score >= 0.6);
        let (cx, cy) = face.bbox.center();
        assert!(head.x1 <= cx && cx <= head.x2 && head.y1 <= cy && cy <= head.y2);
        for (x, y) in face.landmarks {
            assert!(
                x >= face.bbox.x1 - 2.0
                    && x <= face.bbox.x2 + 2.0
                    && y >= face.bbox.y1 - 2.0
                    && y <= face.bbox.y2 + 2.0
            );
        }
        // Eyes above the mouth corners.
        assert!(face.landmarks[0].1 < face.landmarks[3].1 && face.landmarks[1].1 < face.landmarks[4].1);
        // Nothing else in these frames is a face with high confidence except at most one more.
        assert!(faces.len() <= 2, "{} faces", faces.len());
    }
}

#[test]
fn movenet_poses_are_anatomically_ordered() {
    let models = model_dir();
    // Frame 540: the man at (639-681, 285-383) walking, fully visible.
    let f = frames(&media("pedestrians_vtest.mp4"), Some(&[540])).remove(0);
    let person = BBox::new(639.0, 285.0, 681.0, 383.0);
    let single = SinglePoseEstimator::from_model_dir(&models, &BackendConfig::ort(1)).expect("movenet");
    let p = single.estimate(&f, &person).expect("pose");
    eprintln!(
        "lightning: score {:.2} nose {:?} ankles {:?} {:?}",
        p.score, p.keypoints[0], p.keypoints[15], p.keypoints[16]
    );
    let k = &p.keypoints;
    assert!(p.score > 0.3);
    let sh_y = (k[5].y + k[6].y) / 2.0;
    let hip_y = (k[11].y + k[12].y) / 2.0;
    let ank_y = (k[15].y + k[16].y) / 2.0;
    assert!(
        k[0].y < sh_y && sh_y < hip_y && hip_y < ank_y,
        "nose {} shoulders {sh_y} hips {hip_y} ankles {ank_y}",
        k[0].y
    );
    for kp in [k[0], k[15], k[16]] {
        assert!(
            kp.x > person.x1 - 15.0 && kp.x < person.x2 + 15.0 && kp.y > person.y1 - 15.0 && kp.y < person.y2 + 15.0,
            "{kp:?}"
        );
    }

    // MultiPose on the street frame with the cyclist.
    let s = frames(&media("street_bikes.mp4"), Some(&[124])).remove(0);
    let multi = MultiPoseEstimator::from_model_dir(&models, &BackendConfig::ort(1)).expect("multipose");
    let poses = multi.estimate(&s).expect("poses");
    eprintln!(
        "multipose: {} poses, best {:?} score {:.2}",
        poses.len(),
        poses.first().map(|p| p.bbox),
        poses.first().map(|p| p.score).unwrap_or(0.0)
    );
    let best = poses.first().expect("the cyclist");
    let (cx, _) = best.bbox.center();
    assert!(cx > 330.0 && cx < 520.0, "cyclist box centre {cx}");
    assert!(best.keypoints[0].y < best.keypoints[11].y, "nose above hip");
}

#[test]
fn ctc_greedy_collapses_repeats_and_blanks() {
    let charset: Vec<String> = ["", "1", "2", "a"].iter().map(|s| s.to_string()).collect();
    // steps: 1 1 blank 1 2 2 blank a
    let steps = [1usize, 1, 0, 1, 2, 2, 0, 3];
    let mut probs = vec![0.0f32; steps.len() * 4];
    for (t, &c) in steps.iter().enumerate() {
        probs[t * 4 + c] = 0.9;
    }
    let r = ctc_greedy(&probs, 4, &charset);
    assert_eq!(r.text, "112a");
    assert!((r.confidence - 0.9).abs() < 1e-6);
}

#[test]
fn ocr_recognizer_runs_on_both_backends_identically() {
    let models = model_dir();
    // The "Fire assembly point" sign in the pedestrian clip, upscaled crop.
    let f = frames(&media("pedestrians_vtest.mp4"), Some(&[0])).remove(0);
    let crop = f.crop(412, 205, 32, 30).expect("crop");
    let a = TextRecognizer::from_model_dir(&models, &BackendConfig::ort(1))
        .expect("ort")
        .recognize(&crop)
        .expect("ort run");
    let b = TextRecognizer::from_model_dir(&models, &BackendConfig::tract())
        .expect("tract")
        .recognize(&crop)
        .expect("tract run");
    eprintln!("ocr: {a:?} / {b:?}");
    assert_eq!(a.text, b.text);
    assert!((a.confidence - b.confidence).abs() < 1e-3);
}

#[test]
fn ocr_reads_the_taxi_sign() {
    let models = model_dir();
    // Street frame 72: the roof sign of a taxi, "TAXI" in red letters (x 185..395, y 118..172).
    let f = frames(&media("street_bikes.mp4"), Some(&[72])).remove(0);
    let crop = f.crop(185, 118, 210, 54).expect("crop");
    let r = TextRecognizer::from_model_dir(&models, &BackendConfig::ort(1))
        .expect("ocr")
        .recognize(&crop)
        .expect("run");
    eprintln!("taxi sign: {r:?}");
    assert_eq!(r.text.trim().to_uppercase(), "TAXI");
}

#[test]
fn detector_filters_apply_on_real_frames() {
    use vigil_vision::detect::{coco, YoloxDetector};
    use vigil_vision::{Detector, DetectorConfig};
    let models = model_dir();
    let f = frames(&media("pedestrians_vtest.mp4"), Some(&[540])).remove(0);
    let all = YoloxDetector::coco(&models, &BackendConfig::ort(1), DetectorConfig::default()).expect("yolox");
    let every = all.detect(&f).expect("detect");
    assert!(every.iter().any(|d| d.class_id == coco::PERSON));
    let filtered = YoloxDetector::coco(
        &models,
        &BackendConfig::ort(1),
        DetectorConfig {
            classes: Some(vec![coco::PERSON]),
            min_size: 100.0,
            max_size: 200.0,
            max_detections: 1,
            ..Default::default()
        },
    )
    .expect("yolox");
    let got = filtered.detect(&f).expect("detect");
    // Frame 540 has two large people on the grass (about 150 px tall); keep only the best one.
    assert_eq!(got.len(), 1, "{got:?}");
    let d = got[0];
    let side = d.bbox.width().max(d.bbox.height());
    assert!(d.class_id == coco::PERSON && (100.0..=200.0).contains(&side), "{d:?}");
    let big: Vec<_> = every
        .iter()
        .filter(|d| d.class_id == coco::PERSON && d.bbox.height().max(d.bbox.width()) >= 100.0)
        .collect();
    assert_eq!(big.len(), 2, "{big:?}");
    assert_eq!(all.labels()[0], "person");
    // Boxes are in frame pixels and clipped.
    for d in &every {
        assert!(d.bbox.x1 >= 0.0 && d.bbox.y1 >= 0.0 && d.bbox.x2 <= 768.0 && d.bbox.y2 <= 576.0);
    }
}
