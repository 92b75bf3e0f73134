//! The engine on the real pedestrian clip with the real COCO detector: shared readers and
//! perception, end-of-stream flush, failures that show on the task, stall restarts, and motion
//! gating that loses nothing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vigil_algorithms::{Analyzer, AnalyzerError, Event, FrameInput, Needs, Perception};
use vigil_media::{MediaConfig, SourceSpec};
use vigil_vision::{BackendConfig, ModelDir, Roi};
use vigil_worker::analysis::{build_task_analyzer, AnalysisSettings};
use vigil_worker::engine::{AlarmSink, EngineSettings, Produced, StreamHub, TaskSlot};
use vigil_worker::PipelineEvent;

fn shared_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("VIGIL_SHARED_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(d);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn clip() -> String {
    shared_dir().join("media/pedestrians_vtest.mp4").display().to_string()
}

fn settings() -> AnalysisSettings {
    let models = ModelDir::at(shared_dir().join("models"))
        .or_else(|_| ModelDir::resolve(None, None))
        .expect("model dir");
    AnalysisSettings {
        models,
        backend: BackendConfig::default(),
        fps: 5.0,
    }
}

fn hub(stall: Duration) -> StreamHub {
    let s = settings();
    StreamHub::new(EngineSettings {
        models: s.models,
        backend: s.backend,
        media: MediaConfig::default(),
        replay_files_realtime: false,
        stall_restart: stall,
    })
}

type Delivered = Arc<Mutex<Vec<(u64, Value)>>>;

/// Records alarms; fails the first `fail_first` deliveries (an alarm store that is down).
struct RecordingSink {
    out: Delivered,
    fail_first: Arc<AtomicU32>,
}

impl AlarmSink for RecordingSink {
    fn deliver(&mut self, p: &Produced) -> Result<(), String> {
        if self
            .fail_first
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err("database is locked".into());
        }
        self.out
            .lock()
            .unwrap()
            .push((p.event.event_type, p.event.data.clone()));
        Ok(())
    }
}

struct Task {
    out: Delivered,
    events: Arc<Mutex<Vec<PipelineEvent>>>,
}

impl Task {
    fn ended(&self) -> bool {
        self.events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, PipelineEvent::Finished | PipelineEvent::Failed { .. }))
    }
    fn wait_end(&self, limit: Duration) {
        let t0 = Instant::now();
        while !self.ended() && t0.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(self.ended(), "the task did not end: {:?}", self.events.lock().unwrap());
    }
    fn count(&self, event_type: u64) -> usize {
        self.out
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _)| *t == event_type)
            .count()
    }
}

fn slot(name: &str, analyzer: Box<dyn Analyzer>, fail_first: u32) -> (TaskSlot, Task) {
    let out: Delivered = Default::default();
    let events: Arc<Mutex<Vec<PipelineEvent>>> = Default::default();
    let ev = events.clone();
    let slot = TaskSlot {
        task_id: name.into(),
        video_source_id: None,
        analyzer,
        render: Default::default(),
        sink: Box::new(RecordingSink {
            out: out.clone(),
            fail_first: Arc::new(AtomicU32::new(fail_first)),
        }),
        status: Box::new(move |e| ev.lock().unwrap().push(e)),
    };
    (slot, Task { out, events })
}

fn analyzer(service: &str, common: Value) -> Box<dyn Analyzer> {
    build_task_analyzer(service, &json!({ "common": common }), &settings())
        .expect("analyzer")
        .0
}

const ROAD_WEST: &str = r#"{"polygons":[{"data":[[0,150],[150,150],[150,280],[0,280]],"name":"road_west"}]}"#;
const LINE_X150: &str = r#"{"lines":[{"data":[[150,150],[150,330]]}]}"#;

fn line_totals(task: &Task) -> (u64, u64) {
    let mut s = (0, 0);
    for (t, d) in task.out.lock().unwrap().iter() {
        if *t == 131_073 {
            for item in d["event_set"].as_array().unwrap() {
                s.0 += item["side1_count"].as_u64().unwrap();
                s.1 += item["side2_count"].as_u64().unwrap();
            }
        }
    }
    s
}

#[test]
fn two_tasks_on_one_source_share_one_reader_and_one_inference_per_frame() {
    let hub = hub(Duration::from_secs(30));
    let spec = SourceSpec::url(clip());
    let (a, ta) = slot(
        "intrusion",
        analyzer("c-intrusiondetection-cloud", json!({"target_roi": ROAD_WEST})),
        0,
    );
    let (b, tb) = slot(
        "crowd",
        analyzer(
            "c-crowdcount-cloud",
            json!({"alarm_threshold": "1", "sampling_time_interval": 1}),
        ),
        0,
    );
    let _x = hub.attach(spec.clone(), a).expect("attach");
    let _y = hub.attach(spec, b).expect("attach");
    ta.wait_end(Duration::from_secs(300));
    tb.wait_end(Duration::from_secs(60));
    assert_eq!(hub.stats().readers_opened, 1, "two tasks, one reader");
    assert!(ta.count(196_609) >= 5, "intrusion alarms: {}", ta.count(196_609));
    assert!(tb.count(524_288) >= 60, "crowd messages: {}", tb.count(524_288));
}

#[test]
fn perception_runs_once_per_frame_for_two_tasks() {
    let hub = hub(Duration::from_secs(30));
    let spec = SourceSpec::url(clip());
    let (a, ta) = slot(
        "a",
        analyzer("c-intrusiondetection-cloud", json!({"target_roi": ROAD_WEST})),
        0,
    );
    let (b, tb) = slot("b", analyzer("c-intrusiondetection-cloud", json!({})), 0);
    let _x = hub.attach(spec.clone(), a).unwrap();
    let _y = hub.attach(spec, b).unwrap();
    // Sample the counters while the source runs (the source leaves the hub when it ends).
    let mut last = None;
    while !ta.ended() {
        if let Some(s) = hub.source_stats().into_iter().next() {
            last = Some(s);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    tb.wait_end(Duration::from_secs(60));
    let s = last.expect("stats");
    assert_eq!(hub.stats().readers_opened, 1);
    assert_eq!(s.tasks, 2);
    assert!(s.perceiver.frames > 50, "{s:?}");
    assert_eq!(
        s.perceiver.detector_runs, s.perceiver.frames,
        "one inference per frame: {s:?}"
    );
}

#[test]
fn flow_flushes_its_last_partial_period_at_end_of_stream() {
    let hub = hub(Duration::from_secs(30));
    // A 60 s period never completes inside the 79.5 s clip after the first one: only the flush
    // reports the crossings of its last 19.5 s.
    let (a, ta) = slot(
        "flow",
        analyzer(
            "c-flowcount-cloud",
            json!({"target_roi": LINE_X150, "line_count_interval": 60, "region_detection_sw": 0}),
        ),
        0,
    );
    let _x = hub.attach(SourceSpec::url(clip()), a).unwrap();
    ta.wait_end(Duration::from_secs(300));
    assert_eq!(ta.count(131_073), 2, "one full period and the flushed partial one");
    let (west, east) = line_totals(&ta);
    assert!(west + east >= 8, "crossings {west}/{east} (hand count 6/4)");
}

/// An analyzer that fails on its 4th frame.
struct Failing(u32);

impl Analyzer for Failing {
    fn needs(&self) -> Needs {
        Needs::none(5.0)
    }
    fn process(&mut self, _f: &FrameInput, _p: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        self.0 += 1;
        if self.0 == 4 {
            return Err(AnalyzerError("weights went NaN".into()));
        }
        Ok(Vec::new())
    }
    fn roi(&self) -> Option<&Roi> {
        None
    }
}

#[test]
fn analyzer_error_fails_the_task_visibly_and_spares_the_other() {
    let hub = hub(Duration::from_secs(30));
    let spec = SourceSpec::url(clip());
    let (a, ta) = slot("failing", Box::new(Failing(0)), 0);
    let (b, tb) = slot(
        "crowd",
        analyzer(
            "c-crowdcount-cloud",
            json!({"alarm_threshold": "1", "sampling_time_interval": 1}),
        ),
        0,
    );
    let x = hub.attach(spec.clone(), a).unwrap();
    let _y = hub.attach(spec, b).unwrap();
    ta.wait_end(Duration::from_secs(60));
    let evs = ta.events.lock().unwrap().clone();
    assert!(
        evs.iter()
            .any(|e| matches!(e, PipelineEvent::Failed { code, fatal: false, .. } if code == "VIGIL.ANALYZER")),
        "{evs:?}"
    );
    x.detach(Duration::from_secs(5));
    tb.wait_end(Duration::from_secs(300));
    assert!(tb.count(524_288) >= 60, "the other task went on");
}

#[test]
fn alarm_store_failure_shows_on_the_task_and_loses_no_alarm() {
    let run = |fail_first| {
        let hub = hub(Duration::from_secs(30));
        let (a, t) = slot(
            "crowd",
            analyzer(
                "c-crowdcount-cloud",
                json!({"alarm_threshold": "1", "sampling_time_interval": 4}),
            ),
            fail_first,
        );
        let _x = hub.attach(SourceSpec::url(clip()), a).unwrap();
        t.wait_end(Duration::from_secs(300));
        t
    };
    let ok = run(0);
    let flaky = run(3);
    let evs = flaky.events.lock().unwrap().clone();
    assert!(
        evs.iter()
            .any(|e| matches!(e, PipelineEvent::Abnormal { code, .. } if code == "VIGIL.ALARM_STORE")),
        "{evs:?}"
    );
    assert!(evs.iter().any(|e| matches!(e, PipelineEvent::Finished)));
    assert_eq!(
        flaky.count(524_288),
        ok.count(524_288),
        "every alarm stored after the retries"
    );
}

#[test]
fn motion_gating_loses_no_event_on_the_pedestrian_clip() {
    let run = |gated: i64| {
        let hub = hub(Duration::from_secs(30));
        let spec = SourceSpec::url(clip());
        let (a, ti) = slot(
            "intrusion",
            analyzer(
                "c-intrusiondetection-cloud",
                json!({"target_roi": ROAD_WEST, "motion_gating_sw": gated}),
            ),
            0,
        );
        let (b, tf) = slot(
            "flow",
            analyzer(
                "c-flowcount-cloud",
                json!({"target_roi": LINE_X150, "motion_gating_sw": gated, "region_detection_sw": 0}),
            ),
            0,
        );
        let _x = hub.attach(spec.clone(), a).unwrap();
        let _y = hub.attach(spec, b).unwrap();
        let mut last = None;
        while !(ti.ended() && tf.ended()) {
            if let Some(s) = hub.source_stats().into_iter().next() {
                last = Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        (ti.count(196_609), line_totals(&tf), last.expect("stats"))
    };
    let (i0, l0, s0) = run(0);
    let (i1, l1, s1) = run(1);
    eprintln!("ungated: intrusion {i0} lines {l0:?} {s0:?}\ngated: intrusion {i1} lines {l1:?} {s1:?}");
    assert_eq!(s0.perceiver.gated, 0);
    assert!(i1.abs_diff(i0) <= 1, "intrusion {i0} ungated vs {i1} gated");
    assert!(
        l1.0.abs_diff(l0.0) <= 1 && l1.1.abs_diff(l0.1) <= 1,
        "lines {l0:?} vs {l1:?}"
    );
}

/// People flow on the three lines counted by eye (`vigil-algorithms/tests/data/flow_lines.json`,
/// method in `flow_lines_ground_truth.md`): at least 95 % of the 65 crossings, at most 5 % extra
/// (issue 9's target). Measured 2026-12-07 at 5 analysed fps: 64 of 65, 0 extra.
#[test]
fn flow_on_three_more_hand_counted_lines_finds_95_percent_and_adds_no_extra_crossings() {
    let gt: Value =
        serde_json::from_str(include_str!("../../vigil-algorithms/tests/data/flow_lines.json")).expect("ground truth");
    let lines = gt["lines"].as_array().expect("lines");
    let roi = json!({"lines": lines.iter().map(|l| json!({"data": l["line"]})).collect::<Vec<_>>()}).to_string();
    let parsed = Roi::parse(&roi).expect("roi");
    let hub = hub(Duration::from_secs(30));
    let (a, t) = slot(
        "flow",
        analyzer(
            "c-flowcount-cloud",
            json!({"target_roi": roi, "line_count_interval": 3600, "region_detection_sw": 0}),
        ),
        0,
    );
    let _x = hub.attach(SourceSpec::url(clip()), a).unwrap();
    t.wait_end(Duration::from_secs(600));
    // Per line: [into side1, into side2] over the clip.
    let mut got = vec![[0u64; 2]; lines.len()];
    for (ty, d) in t.out.lock().unwrap().iter() {
        if *ty == 131_073 {
            for item in d["event_set"].as_array().unwrap() {
                let i = item["line_id"].as_u64().unwrap() as usize;
                got[i][0] += item["side1_count"].as_u64().unwrap();
                got[i][1] += item["side2_count"].as_u64().unwrap();
            }
        }
    }
    let (mut total, mut found, mut extra) = (0u64, 0u64, 0u64);
    for (i, l) in lines.iter().enumerate() {
        let p = &l["toward_a_point"];
        let a_point = vigil_vision::Point::new(p[0].as_f64().unwrap() as f32, p[1].as_f64().unwrap() as f32);
        let a_is_side1 = parsed.lines[i].side_of(a_point) == Some(vigil_vision::Side::Side1);
        let (want_a, want_b) = (l["toward_a"].as_u64().unwrap(), l["toward_b"].as_u64().unwrap());
        let (got_a, got_b) = if a_is_side1 {
            (got[i][0], got[i][1])
        } else {
            (got[i][1], got[i][0])
        };
        eprintln!(
            "{}: toward a {got_a} (hand {want_a}), toward b {got_b} (hand {want_b})",
            l["name"]
        );
        total += want_a + want_b;
        found += got_a.min(want_a) + got_b.min(want_b);
        extra += got_a.saturating_sub(want_a) + got_b.saturating_sub(want_b);
    }
    eprintln!("found {found}/{total}, extra {extra}");
    assert!(
        found * 100 >= total * 95,
        "found {found} of {total} hand-counted crossings"
    );
    assert!(extra * 100 <= total * 5, "{extra} extra crossings over {total}");
}

/// A live camera (a RESTful source whose answer points at an HTTP MPEG-TS stream) that sends
/// two seconds of video and then goes silent without closing the connection: the stream is
/// restarted, and the task says so (ABNORMAL) and recovers (RUNNING) when video comes again.
#[test]
fn a_stream_that_stalls_without_closing_is_restarted_and_the_task_says_so() {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::AtomicBool;

    let dir = tempfile::tempdir().expect("tmp");
    let ts = dir.path().join("cam.ts");
    let ok = std::process::Command::new("ffmpeg")
        .args([
            "-loglevel",
            "error",
            "-y",
            "-i",
            &clip(),
            "-t",
            "2",
            "-c:v",
            "copy",
            "-an",
            "-f",
            "mpegts",
        ])
        .arg(&ts)
        .status()
        .expect("ffmpeg runs");
    assert!(ok.success());
    let video = std::fs::read(&ts).expect("ts");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    let streams = Arc::new(AtomicU32::new(0));
    let done = Arc::new(AtomicBool::new(false));
    {
        let (streams, done) = (streams.clone(), done.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut c) = conn else { continue };
                let (video, streams, done) = (video.clone(), streams.clone(), done.clone());
                std::thread::spawn(move || {
                    let mut buf = [0u8; 2048];
                    let n = c.read(&mut buf).unwrap_or(0);
                    let req = String::from_utf8_lossy(&buf[..n]).to_string();
                    if req.starts_with("GET /cam.json") {
                        let body = format!(r#"{{"data":{{"url":"http://127.0.0.1:{port}/cam.ts"}}}}"#);
                        let _ = write!(
                            c,
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        return;
                    }
                    streams.fetch_add(1, Ordering::SeqCst);
                    let _ = write!(
                        c,
                        "HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nConnection: close\r\n\r\n"
                    );
                    let _ = c.write_all(&video);
                    // Silence, connection kept open.
                    while !done.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                });
            }
        });
    }
    let s = settings();
    let hub = StreamHub::new(EngineSettings {
        models: s.models,
        backend: s.backend,
        media: MediaConfig {
            stall_timeout: Duration::from_secs(2),
            // Generous: opening (RESTful fetch + probe) shares 2 cores with the other engine
            // tests' inference when the tests run in parallel.
            open_timeout: Duration::from_secs(20),
            ..MediaConfig::default()
        },
        replay_files_realtime: false,
        stall_restart: Duration::from_secs(4),
    });
    let spec = SourceSpec::Restful {
        url: format!("http://127.0.0.1:{port}/cam.json"),
        headers: vec![],
        cert_check: true,
        path: "data/url".into(),
    };
    let (a, t) = slot("cam", analyzer("c-intrusiondetection-cloud", json!({})), 0);
    let x = hub.attach(spec, a).expect("attach");
    let t0 = Instant::now();
    // Running (video), then Abnormal (the stall), then Running again (reopened).
    let saw = |t: &Task| {
        let evs = t.events.lock().unwrap().clone();
        let first = evs.iter().position(|e| *e == PipelineEvent::Running);
        let stalled = first.and_then(|i| {
            evs[i..]
                .iter()
                .position(|e| matches!(e, PipelineEvent::Abnormal { .. }))
                .map(|j| i + j)
        });
        let recovered = stalled.is_some_and(|j| evs[j..].contains(&PipelineEvent::Running));
        (stalled.is_some(), recovered, evs)
    };
    while t0.elapsed() < Duration::from_secs(90) && !(saw(&t).1 && streams.load(Ordering::SeqCst) >= 2) {
        std::thread::sleep(Duration::from_millis(200));
    }
    done.store(true, Ordering::SeqCst);
    let (abnormal, recovered, evs) = saw(&t);
    x.detach(Duration::from_secs(5));
    assert!(abnormal, "the task showed the stall: {evs:?}");
    assert!(recovered, "and came back when video flowed again: {evs:?}");
    assert!(streams.load(Ordering::SeqCst) >= 2, "the stream was reopened");
}
