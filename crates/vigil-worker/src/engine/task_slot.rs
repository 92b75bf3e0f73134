//! One task on a source: its analyzer, its sampling, how its alarms are rendered and where they
//! go, and how it reports its state.

use vigil_algorithms::{Analyzer, Event, FrameInput, Perception};
use vigil_core::alarm::{encode_image, Alarm};
use vigil_media::Sampler;
use vigil_vision::{render_alarm_jpeg, ImageBgr, Needs, RenderOptions};

use crate::pipeline::PipelineEvent;

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
        let (data, extra) = Alarm::payload_fields(self.event.event_type, self.event.data.clone());
        Alarm {
            event_type: self.event.event_type,
            task_id: task_id.to_string(),
            stream_id: stream_id.to_string(),
            timestamp: self.epoch.max(0) as u64,
            message_id: Alarm::new_message_id(),
            image_base64: self.jpeg.as_deref().map(encode_image),
            alarm_type: self.event.alarm_type,
            data,
            extra,
        }
    }
}

/// Where a task's alarms go. `deliver` returns only when the alarm is stored (or the error);
/// the engine retries failures and shows them on the task, it never drops an alarm.
pub trait AlarmSink: Send {
    fn deliver(&mut self, produced: &Produced) -> Result<(), String>;
}

/// How a task reports its state to its supervisor.
pub type TaskStatusFn = Box<dyn Fn(PipelineEvent) + Send>;

/// The rendering switches of a task's `config.common`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderSwitches(pub RenderOptions);

impl Default for RenderSwitches {
    fn default() -> Self {
        RenderSwitches(RenderOptions {
            render_result: false,
            render_roi: false,
            quality: 90,
        })
    }
}

/// What a task brings to a source.
pub struct TaskSlot {
    pub task_id: String,
    /// The registered video source the task reads, if any (labels the source's metrics).
    pub video_source_id: Option<String>,
    pub analyzer: Box<dyn Analyzer>,
    pub render: RenderSwitches,
    pub sink: Box<dyn AlarmSink>,
    pub status: TaskStatusFn,
}

/// A task attached to a running source.
pub(crate) struct TaskEntry {
    pub id: u64,
    pub slot: TaskSlot,
    pub needs: Needs,
    pub sampler: Sampler,
    /// The analyzer failed: no more frames until the supervisor restarts the task.
    pub failed: bool,
    /// Frames this task analysed.
    pub analysed: u64,
    pub last_time: f64,
}

impl TaskEntry {
    pub fn new(id: u64, slot: TaskSlot) -> Self {
        let needs = slot.analyzer.needs();
        TaskEntry {
            id,
            sampler: Sampler::new(Some(needs.fps)),
            needs,
            slot,
            failed: false,
            analysed: 0,
            last_time: 0.0,
        }
    }

    /// Runs the analyzer on a frame and renders the pictures of its events.
    pub fn analyse(
        &mut self,
        image: &ImageBgr,
        time: f64,
        epoch: i64,
        perception: &Perception,
    ) -> Result<Vec<Produced>, String> {
        let frame = FrameInput {
            image,
            time,
            epoch,
            rate: self.needs.fps,
        };
        self.analysed += 1;
        self.last_time = time;
        let events = self
            .slot
            .analyzer
            .process(&frame, perception)
            .map_err(|e| e.to_string())?;
        self.render(image, epoch, events)
    }

    /// End of stream: the analyzer's pending events (pictures on the last frame).
    pub fn finish(&mut self, last_image: Option<&ImageBgr>, epoch: i64) -> Result<Vec<Produced>, String> {
        let events = self.slot.analyzer.finish(self.last_time);
        match last_image {
            Some(img) => self.render(img, epoch, events),
            None => Ok(events
                .into_iter()
                .map(|event| Produced {
                    event,
                    epoch,
                    jpeg: None,
                })
                .collect()),
        }
    }

    fn render(&self, image: &ImageBgr, epoch: i64, events: Vec<Event>) -> Result<Vec<Produced>, String> {
        events
            .into_iter()
            .map(|event| {
                let jpeg = if event.with_image {
                    Some(
                        render_alarm_jpeg(image, &event.boxes, self.slot.analyzer.roi(), &self.slot.render.0)
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
