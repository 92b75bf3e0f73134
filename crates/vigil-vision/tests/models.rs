//! Model manifest, directory resolution, verification and installation.

mod common;

use common::*;
use vigil_vision::models::{InstallOutcome, ModelDir, ModelManifest, ModelState};
use vigil_vision::VisionError;

#[test]
fn manifest_lists_every_shared_model_and_they_verify() {
    let m = ModelManifest::embedded().expect("manifest");
    for id in [
        "yolox_nano",
        "light_person_detector",
        "yunet",
        "movenet_lightning",
        "movenet_multipose",
        "ppocr_rec",
        "coco_labels",
        "ppocr_dict",
    ] {
        let e = m.get(id).expect("listed");
        assert!(!e.license.is_empty() && !e.source.is_empty());
    }
    let dir = model_dir();
    let st = dir.verify();
    assert_eq!(st.len(), m.models.len());
    for s in &st {
        assert_eq!(s.state, ModelState::Ok, "{} at {}", s.entry.file, s.path.display());
    }
    assert!(matches!(m.get("nope"), Err(VisionError::UnknownModel(_))));
}

#[test]
fn missing_and_corrupted_models_are_named_in_errors() {
    let tmp = temp_dir("models");
    let dir = ModelDir::at(&tmp).expect("dir");
    let e = dir.model_path("yunet").expect_err("missing");
    let msg = e.to_string();
    assert!(
        msg.contains("yunet_s_640_640.onnx") && msg.contains("8f2383e4") && msg.contains("opencv_zoo"),
        "{msg}"
    );
    std::fs::write(tmp.join("yunet_s_640_640.onnx"), b"not a model").expect("write");
    let e = dir.model_path("yunet").expect_err("corrupt");
    let msg = e.to_string();
    assert!(
        msg.contains("yunet_s_640_640.onnx") && msg.contains("expected 8f2383e4"),
        "{msg}"
    );
    let st = dir.verify();
    let y = st.iter().find(|s| s.entry.id == "yunet").expect("yunet");
    assert!(matches!(y.state, ModelState::ChecksumMismatch { .. }));
    assert!(st.iter().any(|s| s.state == ModelState::Missing));
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn install_from_directory_verifies_checksums() {
    let tmp = temp_dir("install");
    let dest = ModelDir::at(tmp.join("models")).expect("dir");
    let src = shared_dir().join("models");
    let mut events = 0usize;
    let mut cb = |p: &vigil_vision::models::InstallProgress| {
        assert!(p.bytes_total.is_some_and(|t| p.bytes_done <= t));
        events += 1;
    };
    let done = dest
        .install_from(
            src.to_str().expect("utf8"),
            Some(&["yunet", "coco_labels"]),
            Some(&mut cb),
        )
        .expect("install");
    assert_eq!(
        done,
        vec![
            ("yunet".to_string(), InstallOutcome::Installed),
            ("coco_labels".to_string(), InstallOutcome::Installed)
        ]
    );
    assert!(events >= 2);
    dest.model_path("yunet").expect("installed model verifies");
    // Second run: nothing to do.
    let again = dest
        .install_from(src.to_str().expect("utf8"), Some(&["yunet"]), None)
        .expect("again");
    assert_eq!(again[0].1, InstallOutcome::AlreadyPresent);

    // A source with a wrong file is refused and leaves nothing behind.
    let bad_src = tmp.join("bad");
    std::fs::create_dir_all(&bad_src).expect("mkdir");
    std::fs::write(bad_src.join("en_dict.txt"), "0\n1\n").expect("write");
    let e = dest
        .install_from(bad_src.to_str().expect("utf8"), Some(&["ppocr_dict"]), None)
        .expect_err("mismatch");
    assert!(e.to_string().contains("en_dict.txt"), "{e}");
    assert!(!tmp.join("models/en_dict.txt").exists());
    assert!(!tmp.join("models/.en_dict.txt.partial").exists());
    // A source without the file names it.
    let e = dest
        .install_from(bad_src.to_str().expect("utf8"), Some(&["yolox_nano"]), None)
        .expect_err("absent");
    assert!(e.to_string().contains("yolox_nano.onnx"), "{e}");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn resolve_prefers_explicit_dir_and_rejects_a_missing_one() {
    let d = shared_dir().join("models");
    let r = ModelDir::resolve(Some(&d), None).expect("explicit");
    assert_eq!(r.path, d);
    let e = ModelDir::resolve(Some(std::path::Path::new("/nonexistent/vigil-models")), None).expect_err("missing");
    assert!(e.to_string().contains("/nonexistent/vigil-models"));
}
