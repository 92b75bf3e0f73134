//! The reconnect loop on simulated time: a scripted opener fails and succeeds on cue; sleeps are
//! recorded, not slept.

mod common;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use rand::SeedableRng;
use vigil_media::*;

enum Step {
    Fail(ErrorKind),
    /// Open the clip (a real file through libavformat) as if it were the camera.
    Open,
}

struct ScriptedOpener {
    steps: Mutex<VecDeque<Step>>,
    clip: PathBuf,
    calls: AtomicUsize,
    clock: Arc<SimulatedClock>,
}

impl Opener for ScriptedOpener {
    fn open(&self, _spec: &SourceSpec, cancel: &CancelToken) -> Result<Box<dyn Source>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        // Every attempt costs a little simulated time.
        self.clock.advance(Duration::from_millis(10));
        let step = self.steps.lock().ok().and_then(|mut s| s.pop_front());
        match step.unwrap_or(Step::Fail(ErrorKind::Unreachable)) {
            Step::Fail(kind) => Err(MediaError::new(kind, "scripted")),
            Step::Open => {
                DefaultOpener::default().open(&SourceSpec::url(self.clip.to_str().unwrap_or_default()), cancel)
            }
        }
    }
}

fn clip() -> PathBuf {
    lavfi_clip(
        "retry.mp4",
        "testsrc=size=160x120:rate=10:duration=2",
        &["-c:v", "libx264", "-pix_fmt", "yuv420p"],
    )
}

fn name(s: &StreamStatus) -> String {
    match s {
        StreamStatus::Connecting => "connecting".into(),
        StreamStatus::Online => "online".into(),
        StreamStatus::Offline(e) => format!("offline:{}", e.kind()),
        StreamStatus::Abnormal(e) => format!("abnormal:{}", e.kind()),
        StreamStatus::Ended(Some(e)) => format!("ended:{}", e.kind()),
        StreamStatus::Ended(None) => "ended".into(),
    }
}

fn within(d: Duration, lo: f64, hi: f64) -> bool {
    let s = d.as_secs_f64();
    s >= lo - 1e-9 && s <= hi + 1e-9
}

#[test]
fn backoff_grows_resets_after_success_caps_and_gives_up_on_simulated_time() {
    let clock = Arc::new(SimulatedClock::new());
    use Step::*;
    let steps = vec![
        Fail(ErrorKind::Unreachable),
        Fail(ErrorKind::Unreachable),
        Fail(ErrorKind::AuthFailed),
        Open,
        Fail(ErrorKind::Unreachable),
        Fail(ErrorKind::Stalled),
        Fail(ErrorKind::Unreachable),
        Fail(ErrorKind::Unreachable),
        Fail(ErrorKind::Unreachable),
        Fail(ErrorKind::Unreachable),
    ];
    let opener = Arc::new(ScriptedOpener {
        steps: Mutex::new(steps.into()),
        clip: clip(),
        calls: AtomicUsize::new(0),
        clock: clock.clone(),
    });
    let backoff = Backoff {
        initial: Duration::from_secs(1),
        max: Duration::from_secs(8),
        multiplier: 2.0,
        jitter: 0.2,
    };
    let cfg = ReaderConfig {
        backoff,
        max_attempts: Some(7),
        ..ReaderConfig::default()
    };
    let deps = ReaderDeps {
        opener: opener.clone(),
        clock: clock.clone(),
        rng: Box::new(rand::rngs::StdRng::seed_from_u64(42)),
    };
    let started = Instant::now();
    let reader = StreamReader::start_with(SourceSpec::rtsp("rtsp://camera.invalid/live"), cfg, deps).expect("start");
    let end = reader.wait_status(Duration::from_secs(20), |s| matches!(s, StreamStatus::Ended(_)));
    assert!(
        matches!(end, Some(StreamStatus::Ended(Some(ref e))) if e.kind() == ErrorKind::Unreachable),
        "{end:?}"
    );
    // Minutes of backoff took no real time.
    assert!(started.elapsed() < Duration::from_secs(10));

    let history: Vec<String> = reader.status_history().iter().map(|(_, s)| name(s)).collect();
    assert_eq!(
        history,
        vec![
            "connecting",
            "offline:unreachable",
            "abnormal:auth_failed",
            "online",
            // the clip ends: a live source that ends is a lost connection
            "offline:unreachable",
            "offline:stalled",
            "offline:unreachable",
            "ended:unreachable"
        ]
    );
    let sleeps = clock.sleeps();
    // 3 failures before the session, then after it (frames were delivered) the backoff
    // restarts; the 7th consecutive failure gives up without sleeping.
    assert_eq!(sleeps.len(), 3 + 6, "{sleeps:?}");
    let expect = [
        (0.8, 1.2),
        (1.6, 2.4),
        (3.2, 4.8),
        (0.8, 1.2),
        (1.6, 2.4),
        (3.2, 4.8),
        (6.4, 8.0),
        (6.4, 8.0),
        (6.4, 8.0),
    ];
    for (i, (d, (lo, hi))) in sleeps.iter().zip(expect).enumerate() {
        assert!(within(*d, lo, hi), "sleep {i}: {d:?} not in [{lo}, {hi}]");
    }
    // Jitter: the capped sleeps are not all identical.
    assert!(sleeps[6] != sleeps[7] || sleeps[7] != sleeps[8]);
    // 3 failed opens, 1 session (its end is consecutive failure 1 of 7), then 6 failed opens.
    assert_eq!(opener.calls.load(Ordering::SeqCst), 10);
    let stats = reader.stats();
    assert_eq!(stats.decoded, 20);
    assert_eq!(stats.failures, 10);
    // Simulated time advanced by the sleeps (plus 10 ms per attempt).
    let total: Duration = sleeps.iter().sum();
    assert!(clock.now() >= total);
}

#[test]
fn files_do_not_retry_and_stop_interrupts_a_long_backoff() {
    // A missing file ends at once with NotFound: one attempt, no sleep.
    let clock = Arc::new(SimulatedClock::new());
    let opener = Arc::new(ScriptedOpener {
        steps: Mutex::new(VecDeque::from([Step::Fail(ErrorKind::NotFound)])),
        clip: clip(),
        calls: AtomicUsize::new(0),
        clock: clock.clone(),
    });
    let deps = ReaderDeps {
        opener: opener.clone(),
        clock: clock.clone(),
        rng: Box::new(rand::rngs::StdRng::seed_from_u64(1)),
    };
    let reader =
        StreamReader::start_with(SourceSpec::url("/videos/a.mp4"), ReaderConfig::default(), deps).expect("start");
    let end = reader.wait_status(Duration::from_secs(5), |s| matches!(s, StreamStatus::Ended(_)));
    assert!(
        matches!(end, Some(StreamStatus::Ended(Some(ref e))) if e.kind() == ErrorKind::NotFound),
        "{end:?}"
    );
    assert_eq!(opener.calls.load(Ordering::SeqCst), 1);
    assert!(clock.sleeps().is_empty());
    drop(reader);

    // With the real clock, a reader waiting out a 60 s backoff stops at once.
    let opener = Arc::new(ScriptedOpener {
        steps: Mutex::new(VecDeque::new()),
        clip: clip(),
        calls: AtomicUsize::new(0),
        clock: Arc::new(SimulatedClock::new()),
    });
    let cfg = ReaderConfig {
        backoff: Backoff {
            initial: Duration::from_secs(60),
            ..Backoff::default()
        },
        ..ReaderConfig::default()
    };
    let deps = ReaderDeps {
        opener: opener.clone(),
        ..ReaderDeps::default()
    };
    let reader = StreamReader::start_with(SourceSpec::rtsp("rtsp://camera.invalid/live"), cfg, deps).expect("start");
    assert!(reader
        .wait_status(Duration::from_secs(5), |s| matches!(s, StreamStatus::Offline(_)))
        .is_some());
    let t = Instant::now();
    reader.stop();
    assert!(t.elapsed() < Duration::from_secs(1), "stop took {:?}", t.elapsed());
    assert_eq!(opener.calls.load(Ordering::SeqCst), 1);
}
