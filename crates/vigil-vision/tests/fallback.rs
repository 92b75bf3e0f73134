//! Without a loadable ONNX Runtime, the error is clear and automatic backend selection falls
//! back to tract. (Own test binary: the ONNX Runtime load outcome is process-wide.)

mod common;

use std::path::PathBuf;

use common::*;
use vigil_vision::backend::{load_session, ort_backend, BackendKind};
use vigil_vision::detect::YoloxDetector;
use vigil_vision::{BackendConfig, DetectorConfig, VisionError};

#[test]
fn missing_onnxruntime_is_a_clear_error_and_auto_uses_tract() {
    let bad = PathBuf::from("/nonexistent/vigil/onnxruntime");
    let e = ort_backend::locate_library(Some(&bad)).expect_err("no library there");
    assert!(e.contains("/nonexistent/vigil/onnxruntime"), "{e}");

    let ort_only = BackendConfig {
        kind: Some(BackendKind::Ort),
        threads: 1,
        ort_library: Some(bad.clone()),
    };
    let model = model_dir().model_path("light_person_detector").expect("model");
    match load_session(&model, &ort_only) {
        Err(VisionError::OrtUnavailable(m)) => assert!(m.contains("onnxruntime"), "{m}"),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("ONNX Runtime must not load from {}", bad.display()),
    }

    let auto = BackendConfig {
        kind: None,
        threads: 1,
        ort_library: Some(bad),
    };
    assert_eq!(auto.resolve_kind().expect("auto"), BackendKind::Tract);
    let det = YoloxDetector::person(&model_dir(), &auto, DetectorConfig::default()).expect("detector");
    assert_eq!(det.session().backend(), BackendKind::Tract);
    let f = frames(&media("pedestrians_vtest.mp4"), Some(&[180])).remove(0);
    let d = det.detect_timed(&f).expect("detect").0;
    assert!(d.len() >= 4, "tract fallback found {} people", d.len());
}
