//! # vigil-vision
//!
//! The perception layer every Vigil analyzer stands on:
//!
//! - [`backend`] — inference behind one trait — ONNX Runtime (`ort`, library loaded at run time
//!   from `.vigil/onnxruntime` or `VIGIL_ORT_LIB`) and pure-Rust tract — with one shared session
//!   per model per process ([`backend::SessionCache`]).
//! - [`models`] — the model manifest (file, sha256, licence, source), model directory resolution,
//!   verification and installation.
//! - [`detect`] — YOLOX-Nano (COCO), the light person detector, YuNet faces; [`pose`] — MoveNet;
//!   [`ocr`] — PP-OCR recognizer; [`textdet`] — PP-OCR text detection and the detect-then-read
//!   pipeline.
//! - [`tracker`] — ByteTrack.
//! - [`roi`] — VIAS `target_roi` parsing, geometry and line crossing with hysteresis.
//! - [`pixel`] — colour conversion, region statistics, masks, background model, components.
//! - [`render`] — boxes and ROI drawing plus JPEG encoding for alarm pictures.
//! - [`perception`] — what analyzers declare they need ([`Needs`]) and get ([`Perception`]);
//!   [`perceiver`] computes the merged needs of one source once per frame, with [`motion`] gating.
//! - [`worker`] — dedicated inference threads (never run models on the async runtime).
//!
//! Frames are [`ImageBgr`]: packed BGR24 rows with a stride, shared via `Arc`.

pub mod backend;
pub mod detect;
pub mod error;
pub mod image;
pub mod models;
pub mod motion;
pub mod ocr;
pub mod packages;
pub mod perceiver;
pub mod perception;
pub mod pixel;
pub mod pose;
pub mod render;
pub mod roi;
pub mod textdet;
pub mod tracker;
pub mod worker;

pub use backend::{BackendConfig, BackendKind, InferenceSession, SessionCache};
pub use detect::{BBox, Detection, Detector, DetectorConfig, FaceDetector, YoloxDetector};
pub use error::{Result, VisionError};
pub use image::ImageBgr;
pub use models::{ModelDir, ModelManifest, ModelStatus};
pub use motion::{LumaView, MotionConfig, MotionGate};
pub use packages::{PackageKey, PackageRegistry, RegisteredPackage};
pub use perceiver::{Perceiver, PerceiverFrame, PerceiverStats};
pub use perception::{DetectorModel, DetectorNeed, Needs, Perception};
pub use render::{render_alarm_jpeg, Canvas, RenderOptions};
pub use roi::{CrossingConfig, LineCrossingCounter, Point, Roi, Side};
pub use tracker::{ByteTracker, Track, TrackerConfig};
