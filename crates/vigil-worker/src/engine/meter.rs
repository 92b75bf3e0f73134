//! Throughput of one running source and its tasks, measured every few seconds from counters the
//! runner keeps anyway: the reader's decoded and dropped frames, each task's analysed frames.
//! Publishes them as Prometheus series (`vigil_source_…`, `vigil_task_…`) and into the
//! per-task [`throughput`](super::throughput) registry the worker reports to the store.
//! Labels are ids only: the video source id, or `task:<task id>` for a task reading a URL.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use vigil_media::ReaderStats;

use super::task_slot::TaskEntry;
use super::throughput::{self, Sample};

/// How often counters are published and rates recomputed.
pub(crate) const REFRESH_EVERY: Duration = Duration::from_secs(5);
/// A forced refresh closer than this to the previous one keeps the previous rates (too short a
/// window to mean anything).
const MIN_RATE_WINDOW: Duration = Duration::from_secs(1);

pub(crate) struct Meter {
    /// `video_source_id` label of the source series (set by the first task attached).
    label: Option<String>,
    last: Instant,
    /// The current reader's counts at the last refresh.
    decoded: u64,
    dropped: u64,
    /// Stall restarts since the last refresh.
    stalls: u64,
    decode_fps: f64,
    /// Each attached task's analysed frames at the last refresh, by attachment id.
    reported: HashMap<u64, u64>,
}

/// Growth of a counter that restarts from 0 with a new reader.
fn delta(now: u64, before: u64) -> u64 {
    if now >= before {
        now - before
    } else {
        now
    }
}

impl Meter {
    pub fn new() -> Self {
        Meter {
            label: None,
            last: Instant::now(),
            decoded: 0,
            dropped: 0,
            stalls: 0,
            decode_fps: 0.0,
            reported: HashMap::new(),
        }
    }

    /// A task joined: the first one names the source's series.
    pub fn attached(&mut self, t: &TaskEntry) {
        if self.label.is_none() {
            self.label = Some(match &t.slot.video_source_id {
                Some(id) => id.clone(),
                None => format!("task:{}", t.slot.task_id),
            });
        }
        self.reported.insert(t.id, t.analysed);
    }

    /// A new reader counts from 0.
    pub fn reader_opened(&mut self) {
        self.decoded = 0;
        self.dropped = 0;
    }

    pub fn stalled(&mut self) {
        self.stalls += 1;
    }

    pub fn due(&self) -> bool {
        self.last.elapsed() >= REFRESH_EVERY
    }

    fn label(&self) -> String {
        self.label.clone().unwrap_or_default()
    }

    /// Publishes the counts since the last refresh and, over a long enough window, the rates.
    pub fn refresh(&mut self, reader: Option<ReaderStats>, tasks: &[TaskEntry]) {
        let now = Instant::now();
        let window = now.duration_since(self.last);
        self.last = now;
        let (decoded, dropped) = reader.map_or((self.decoded, self.dropped), |r| (r.decoded, r.dropped));
        let (d_decoded, d_dropped) = (delta(decoded, self.decoded), delta(dropped, self.dropped));
        (self.decoded, self.dropped) = (decoded, dropped);
        let stalls = std::mem::take(&mut self.stalls);
        let with_rates = window >= MIN_RATE_WINDOW;
        let secs = window.as_secs_f64().max(1e-3);
        if with_rates {
            self.decode_fps = d_decoded as f64 / secs;
        }
        let source = self.label();
        metrics::counter!("vigil_source_decoded_frames_total", "video_source_id" => source.clone())
            .increment(d_decoded);
        metrics::counter!("vigil_source_dropped_frames_total", "video_source_id" => source.clone())
            .increment(d_dropped);
        metrics::counter!("vigil_source_stall_restarts_total", "video_source_id" => source.clone()).increment(stalls);
        metrics::gauge!("vigil_source_decode_fps", "video_source_id" => source.clone()).set(self.decode_fps);
        metrics::gauge!("vigil_source_tasks", "video_source_id" => source).set(tasks.len() as f64);
        for t in tasks {
            let before = self.reported.insert(t.id, t.analysed).unwrap_or(0);
            let analysed = delta(t.analysed, before);
            let rates = with_rates.then(|| (analysed as f64 / secs, self.decode_fps));
            self.publish_task(t, analysed, d_dropped, stalls, rates);
        }
    }

    fn publish_task(&self, t: &TaskEntry, analysed: u64, dropped: u64, stalls: u64, rates: Option<(f64, f64)>) {
        let task = t.slot.task_id.clone();
        metrics::counter!("vigil_task_analysed_frames_total", "task_id" => task.clone()).increment(analysed);
        metrics::counter!("vigil_task_dropped_frames_total", "task_id" => task.clone()).increment(dropped);
        if let Some((analysed_fps, decode_fps)) = rates {
            metrics::gauge!("vigil_task_analysed_fps", "task_id" => task.clone()).set(analysed_fps);
            metrics::gauge!("vigil_task_decode_fps", "task_id" => task).set(decode_fps);
        }
        throughput::add(
            &t.slot.task_id,
            Sample {
                analysed,
                dropped,
                stall_restarts: stalls,
                rates,
            },
        );
    }

    /// A task leaves: its last frames are counted and its rates read 0 until the series expire.
    pub fn left(&mut self, t: &TaskEntry) {
        let before = self.reported.remove(&t.id).unwrap_or(0);
        self.publish_task(t, delta(t.analysed, before), 0, 0, Some((0.0, 0.0)));
    }

    /// The source stops: its rate reads 0 until the series expire.
    pub fn ended(&mut self) {
        if self.label.is_some() {
            let source = self.label();
            metrics::gauge!("vigil_source_decode_fps", "video_source_id" => source.clone()).set(0.0);
            metrics::gauge!("vigil_source_tasks", "video_source_id" => source).set(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::delta;

    #[test]
    fn counters_restarting_with_a_new_reader() {
        assert_eq!(delta(15, 10), 5);
        assert_eq!(delta(3, 10), 3);
    }
}
