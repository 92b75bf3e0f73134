//! The analysis of one stream, shared by task pipelines and `vigil analyze`: decoded frame →
//! BGR → detector → analyzer → events with their rendered pictures.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use vigil_algorithms::{validate_common, Analyzer, Catalog, Event, FrameInput, ValidatedCommon};
use vigil_core::alarm::{encode_image, Alarm};
use vigil_media::{Frame, RgbConverter};
use vigil_vision::{
    render_alarm_jpeg, BackendConfig, Detector, DetectorConfig, ImageBgr, ModelDir, RenderOptions, YoloxDetector,
};

/// Process-wide analysis settings.
#[derive(Debug, Clone)]
pub struct AnalysisSettings {
    pub models: ModelDir,
    pub backend: BackendConfig,
    /// Frames per second handed to analyzers.
    pub fps: f64,
}

/// One event ready to become an alarm.
pub struct Produced {
    pub event: Event,
    /// Epoch seconds of the frame.
    pub epoch: i64,
    /// JPEG of the frame (rendered per the task's switches) when the event carries a picture.
    pub jpeg: Option<Vec<u8>>,
}

impl Produced {
    /// The VIAS alarm envelope of this event (new `message_id`, picture as base64).
    pub fn to_alarm(&self, task_id: &str, stream_id: &str) -> Alarm {
        Alarm {
            event_type: self.event.event_type,
            task_id: task_id.to_string(),
            stream_id: stream_id.to_string(),
            timestamp: self.epoch.max(0) as u64,
            message_id: Alarm::new_message_id(),
            image_base64: self.jpeg.as_deref().map(encode_image),
            alarm_type: self.event.alarm_type,
            data: self.event.data.clone(),
            extra: Default::default(),
        }
    }
}

pub struct Analysis {
    analyzer: Box<dyn Analyzer>,
    detector: Option<YoloxDetector>,
    common: ValidatedCommon,
    /// Wall time of the first frame, for live streams' relative time.
    first_wall: Option<SystemTime>,
    /// Epoch at which a file's media time 0 is placed.
    file_epoch: f64,
}

fn switch(common: &ValidatedCommon, key: &str, default: bool) -> bool {
    common.get_switch(key).unwrap_or(default)
}

impl Analysis {
    /// Builds the analyzer of `service_name` from a task's `config` (`{"common": {…}}`).
    pub fn new(service_name: &str, config: &Value, settings: &AnalysisSettings) -> Result<Self, String> {
        let (spec, _) = Catalog::by_service_name(service_name)
            .ok_or_else(|| format!("unknown algorithm service {service_name}"))?;
        let common_json = config
            .get("common")
            .cloned()
            .unwrap_or(Value::Object(Default::default()));
        let common = validate_common(spec, &common_json).map_err(|e| e.to_string())?;
        let analyzer = vigil_algorithms::build_analyzer(service_name, &common).map_err(|e| e.to_string())?;
        let needs = analyzer.needs();
        let detector = if needs.classes.is_empty() {
            None
        } else {
            let cfg = DetectorConfig {
                conf_threshold: needs.conf_threshold,
                classes: Some(needs.classes.iter().map(|c| *c as u32).collect()),
                ..Default::default()
            };
            Some(YoloxDetector::coco(&settings.models, &settings.backend, cfg).map_err(|e| e.to_string())?)
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs_f64();
        Ok(Self {
            analyzer,
            detector,
            common,
            first_wall: None,
            file_epoch: now,
        })
    }

    /// Analyses one decoded frame. `converter` (`RgbConverter::bgr()`) lives on the analysing
    /// thread (swscale contexts cannot move between threads).
    pub fn on_frame(&mut self, converter: &mut RgbConverter, frame: &Frame) -> Result<Vec<Produced>, String> {
        let (w, h) = (frame.width(), frame.height());
        let bgr = converter.convert(frame, w, h).map_err(|e| e.to_string())?;
        let image = ImageBgr::from_packed(w, h, bgr).map_err(|e| e.to_string())?;
        let (time, epoch) = match frame.wall_time() {
            Some(wall) => {
                let first = *self.first_wall.get_or_insert(wall);
                let rel = wall.duration_since(first).unwrap_or(Duration::ZERO).as_secs_f64();
                (
                    rel,
                    wall.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs() as i64,
                )
            }
            None => {
                let t = frame.media_time().as_secs_f64();
                (t, (self.file_epoch + t) as i64)
            }
        };
        let detections = match &self.detector {
            Some(d) => d.detect(&image).map_err(|e| e.to_string())?,
            None => Vec::new(),
        };
        let events = self.analyzer.process(
            &FrameInput {
                image: &image,
                time,
                epoch,
            },
            &detections,
        );
        let options = RenderOptions {
            render_result: switch(&self.common, "render_result_sw", false),
            render_roi: switch(&self.common, "render_roi_sw", false),
            quality: self
                .common
                .get_i64("image_compression_ratio")
                .unwrap_or(90)
                .clamp(20, 100) as u8,
        };
        events
            .into_iter()
            .map(|event| {
                let jpeg = if event.with_image {
                    Some(
                        render_alarm_jpeg(&image, &event.boxes, self.analyzer.roi(), &options)
                            .map_err(|e| e.to_string())?,
                    )
                } else {
                    None
                };
                Ok(Produced { event, epoch, jpeg })
            })
            .collect()
    }
}
