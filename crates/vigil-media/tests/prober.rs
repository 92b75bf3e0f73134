//! Source health: the real prober against a real RTSP server, with an in-memory target list.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use vigil_media::*;

#[derive(Default)]
struct MemTargets {
    list: Vec<(String, SourceSpec)>,
    /// Sources registered while the prober runs.
    added: Mutex<Vec<(String, SourceSpec)>>,
    reports: Mutex<HashMap<String, ProbeReport>>,
}

impl ProbeTargets for MemTargets {
    /// The project of `a/cam1` is `a`; ids without a slash belong to project `default`.
    async fn targets(&self) -> Vec<ProbeTarget> {
        let added = self.added.lock().map(|a| a.clone()).unwrap_or_default();
        self.list
            .iter()
            .chain(added.iter())
            .map(|(id, spec)| ProbeTarget {
                id: id.clone(),
                project: id.split_once('/').map_or("default", |(p, _)| p).to_string(),
                spec: spec.clone(),
            })
            .collect()
    }
    async fn report(&self, id: String, report: ProbeReport) {
        if let Ok(mut m) = self.reports.lock() {
            m.insert(id, report);
        }
    }
}

fn frozen_clip() -> std::path::PathBuf {
    // One real frame of the pedestrian clip, held for 5 s.
    let ped = pedestrians();
    ffmpeg_gen(
        "frozen.mp4",
        &[
            "-ss",
            "20",
            "-i",
            ped.to_str().expect("utf8"),
            "-vf",
            "select=eq(n\\,0),loop=loop=49:size=1:start=0,setpts=N/10/TB",
            "-r",
            "10",
            "-frames:v",
            "50",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prober_reports_online_snapshot_black_freeze_gray_blurry_and_failures() {
    let black = lavfi_clip(
        "black.mp4",
        "color=c=black:size=320x240:rate=10:duration=5",
        &["-c:v", "libx264", "-pix_fmt", "yuv420p"],
    );
    let gray = lavfi_clip(
        "gray.mp4",
        "color=c=0x808080:size=320x240:rate=10:duration=5",
        &["-c:v", "libx264", "-pix_fmt", "yuv420p"],
    );
    let ped = pedestrians();
    let blurry = ffmpeg_gen(
        "blurry.mp4",
        &[
            "-t",
            "4",
            "-i",
            ped.to_str().expect("utf8"),
            "-vf",
            "boxblur=8:2",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let frozen = frozen_clip();
    let server = RtspServer::start(
        &[("ped", &ped), ("black", &black), ("frozen", &frozen)],
        &["--rate", "4"],
    );
    let targets = Arc::new(MemTargets {
        list: vec![
            ("ped".into(), SourceSpec::rtsp(server.url("ped"))),
            ("black".into(), SourceSpec::rtsp(server.url("black"))),
            ("frozen".into(), SourceSpec::rtsp(server.url("frozen"))),
            ("gray".into(), SourceSpec::url(gray.to_str().expect("utf8"))),
            ("blurry".into(), SourceSpec::url(blurry.to_str().expect("utf8"))),
            (
                "street".into(),
                SourceSpec::url(media("street_bikes.mp4").to_str().expect("utf8")),
            ),
            ("missing".into(), SourceSpec::rtsp(server.url("no-such-camera"))),
            (
                "down".into(),
                SourceSpec::rtsp(format!("rtsp://127.0.0.1:{}/cam", free_port())),
            ),
        ],
        ..MemTargets::default()
    });
    let prober = Prober {
        concurrency: 3,
        ..Prober::default()
    };
    let n = prober.run_once(&targets).await;
    assert_eq!(n, 8);
    let reports = targets.reports.lock().expect("lock").clone();
    let get = |id: &str| reports.get(id).unwrap_or_else(|| panic!("no report for {id}"));

    let ped = get("ped");
    assert_eq!(ped.status, SourceStatus::Online, "{:?}", ped.error);
    assert_eq!(ped.status.code(), 1);
    assert_eq!(ped.stream_path.as_deref(), Some(server.url("ped").as_str()));
    assert_eq!((ped.width, ped.height), (768, 576));
    assert!(
        ped.quality.is_empty(),
        "real scene has no quality issue: {:?}",
        ped.quality
    );
    assert!(ped.frames_sampled >= 10);
    // The snapshot is a JPEG that decodes back to the stream's size.
    let jpeg = ped.snapshot_jpeg.clone().expect("snapshot");
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    assert!(jpeg.len() > 10_000);
    let jpg_path = tmp().join("snapshot.jpg");
    std::fs::write(&jpg_path, &jpeg).expect("write jpeg");
    // Still pictures are not video sources (the media layer refuses the image demuxers), so
    // the JPEG is checked with ffprobe.
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(&jpg_path)
        .output()
        .expect("ffprobe");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "mjpeg,768,576");
    let b64 = ped.image_base64().expect("base64");
    assert!(b64.len() >= jpeg.len() * 4 / 3);

    assert!(
        get("black").quality.contains(&QualityLabel::BlackScreen),
        "{:?}",
        get("black")
    );
    assert_eq!(get("black").status, SourceStatus::Online);
    let frozen = get("frozen");
    assert!(
        frozen.quality.contains(&QualityLabel::ScreenFreeze),
        "{:?}",
        frozen.quality
    );
    assert!(!frozen.quality.contains(&QualityLabel::BlackScreen));
    assert!(
        get("gray").quality.contains(&QualityLabel::GrayScreen),
        "{:?}",
        get("gray").quality
    );
    assert!(!get("gray").quality.contains(&QualityLabel::BlackScreen));
    assert_eq!(get("blurry").quality, vec![QualityLabel::Blurry]);
    // This clip cuts from one shot (a door, a car passing) to another (a street full of cars)
    // about 1.1 s in: an abrupt scene change, and nothing else.
    assert_eq!(get("street").quality, vec![QualityLabel::SceneUpheaval]);

    let missing = get("missing");
    assert_eq!(missing.status, SourceStatus::Abnormal);
    assert_eq!(missing.status.code(), 9);
    assert_eq!(missing.error.as_ref().map(|e| e.kind()), Some(ErrorKind::NotFound));
    let down = get("down");
    assert_eq!(down.status, SourceStatus::Offline);
    assert_eq!(down.status.code(), 2);
    assert!(down.snapshot_jpeg.is_none());
}

/// An opener that takes 300 ms and records how many opens overlap.
struct SlowOpener {
    inner: DefaultOpener,
    active: AtomicUsize,
    max_active: AtomicUsize,
}

impl Opener for SlowOpener {
    fn open(&self, spec: &SourceSpec, cancel: &CancelToken) -> Result<Box<dyn Source>> {
        let now = self.active.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_active.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(300));
        let r = self.inner.open(spec, cancel);
        self.active.fetch_sub(1, Ordering::SeqCst);
        r
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prober_bounds_concurrency_and_runs_periodically() {
    let street = media("street_bikes.mp4");
    let targets = Arc::new(MemTargets {
        list: (0..6)
            .map(|i| (format!("cam{i}"), SourceSpec::url(street.to_str().expect("utf8"))))
            .collect(),
        ..MemTargets::default()
    });
    let opener = Arc::new(SlowOpener {
        inner: DefaultOpener::default(),
        active: AtomicUsize::new(0),
        max_active: AtomicUsize::new(0),
    });
    let prober = Prober {
        opener: opener.clone(),
        concurrency: 2,
        interval: Duration::from_millis(100),
        ..Prober::default()
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let t2 = targets.clone();
    let run = tokio::spawn(async move {
        prober
            .run(t2, async {
                let _ = rx.await;
            })
            .await;
    });
    // Wait until every camera has a report, then stop the loop.
    for _ in 0..200 {
        if targets.reports.lock().map(|m| m.len()).unwrap_or(0) == 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = tx.send(());
    tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("prober stops")
        .expect("join");
    assert_eq!(targets.reports.lock().expect("lock").len(), 6);
    assert!(targets
        .reports
        .lock()
        .expect("lock")
        .values()
        .all(|r| r.status == SourceStatus::Online));
    assert_eq!(
        opener.max_active.load(Ordering::SeqCst),
        2,
        "at most `concurrency` probes at once"
    );
}

/// A source registered between two rounds is probed within `new_source_poll`, not after the
/// whole (here one hour) interval; the sources already probed are not probed again meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prober_probes_new_sources_between_rounds() {
    let spec = || SourceSpec::url(media("street_parked_bicycle.mp4").to_str().expect("utf8"));
    let targets = Arc::new(MemTargets {
        list: vec![("old".to_string(), spec())],
        ..MemTargets::default()
    });
    let prober = Prober {
        interval: Duration::from_secs(3600),
        new_source_poll: Duration::from_millis(200),
        ..Prober::default()
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let t2 = targets.clone();
    let run = tokio::spawn(async move {
        prober
            .run(t2, async {
                let _ = rx.await;
            })
            .await;
    });
    let reported = |id: &str| targets.reports.lock().map(|m| m.contains_key(id)).unwrap_or(false);
    let mut waited = 0;
    while !reported("old") && waited < 400 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    assert!(reported("old"), "the first round probes the registered source");
    let first = targets.reports.lock().expect("lock")["old"].probed_at;
    targets.added.lock().expect("lock").push(("new".to_string(), spec()));
    let mut waited = 0;
    while !reported("new") && waited < 400 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    let _ = tx.send(());
    tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("prober stops")
        .expect("join");
    let reports = targets.reports.lock().expect("lock");
    assert_eq!(
        reports["new"].status,
        SourceStatus::Online,
        "the new source was probed at once"
    );
    assert_eq!(
        reports["old"].probed_at, first,
        "the known source waits for the next round"
    );
}

/// Cameras of project `a` are dead (each probe waits 600 ms for its timeout), those of `b`
/// answer at once (with an error, quickly).
struct DeadCameras {
    order: Mutex<Vec<String>>,
}

impl Opener for DeadCameras {
    fn open(&self, spec: &SourceSpec, _cancel: &CancelToken) -> Result<Box<dyn Source>> {
        if spec.redacted().contains("/a-") {
            std::thread::sleep(Duration::from_millis(600));
        }
        if let Ok(mut o) = self.order.lock() {
            o.push(spec.redacted());
        }
        Err(MediaError::new(ErrorKind::Unreachable, "no answer"))
    }
}

/// One project's many dead cameras cannot starve another project's probes: with 2 slots and
/// 10 dead cameras of project `a` listed first, project `b`'s cameras are probed right away,
/// not after every dead camera (which would take 3 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prober_shares_slots_fairly_between_projects() {
    let mut list: Vec<(String, SourceSpec)> = (0..10)
        .map(|i| (format!("a/{i}"), SourceSpec::rtsp(format!("rtsp://127.0.0.1:9/a-{i}"))))
        .collect();
    list.extend((0..2).map(|i| (format!("b/{i}"), SourceSpec::rtsp(format!("rtsp://127.0.0.1:9/b-{i}")))));
    let targets = Arc::new(MemTargets {
        list,
        ..MemTargets::default()
    });
    let opener = Arc::new(DeadCameras {
        order: Mutex::new(Vec::new()),
    });
    let prober = Prober {
        opener: opener.clone(),
        concurrency: 2,
        ..Prober::default()
    };
    let started = std::time::Instant::now();
    let round = tokio::spawn({
        let (prober, targets) = (prober.clone(), targets.clone());
        async move { prober.run_once(&targets).await }
    });
    for _ in 0..100 {
        if targets
            .reports
            .lock()
            .map(|m| m.contains_key("b/0") && m.contains_key("b/1"))
            .unwrap_or(false)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let b_done = started.elapsed();
    assert!(b_done < Duration::from_millis(1000), "project b waited {b_done:?}");
    let order = opener.order.lock().expect("lock").clone();
    let first_b = order.iter().filter(|s| s.contains("/b-")).count();
    assert_eq!(first_b, 2, "{order:?}");
    assert_eq!(round.await.expect("join"), 12);
}

/// A probe's cost is bounded: it stops at the window (2 s) or after `max_decoded_frames`
/// pictures, whichever first, leaves unsampled non-reference pictures undecoded, and hands back
/// a few sampled frames spread over the window plus the scene reference the prober keeps.
#[test]
fn probe_is_bounded_and_keeps_samples_and_reference() {
    // 30 fps, B-frames: the 2 s window is 60 pictures, 11 of them sampled at 5 fps.
    let spec = SourceSpec::url(media("street_parked_bicycle.mp4").to_str().expect("utf8"));
    let opener = DefaultOpener::default();
    let r = probe(&spec, &opener, &ProbeOptions::default());
    assert_eq!(r.status, SourceStatus::Online, "{:?}", r.error);
    assert!(r.quality.is_empty(), "{:?}", r.quality);
    assert!(r.frames_sampled >= 10, "{}", r.frames_sampled);
    assert!(
        r.frames_decoded < 61,
        "skipped pictures no sample needs: {} decoded",
        r.frames_decoded
    );
    assert_eq!(r.samples.0.len(), 3);
    let t: Vec<Duration> = r.samples.0.iter().map(|f| f.media_time()).collect();
    assert!(t[0] < t[1] && t[1] < t[2], "{t:?}");
    assert!(
        t[2] - t[0] >= Duration::from_millis(1800),
        "spread over the window: {t:?}"
    );
    let reference = r.reference.clone().expect("a real scene gives a reference");
    // The same view again, compared with that reference: no label.
    let again = probe_with(&spec, &opener, &ProbeOptions::default(), Some(&reference));
    assert!(again.quality.is_empty(), "{:?}", again.quality);

    let capped = ProbeOptions {
        max_decoded_frames: 12,
        keep_samples: 0,
        ..ProbeOptions::default()
    };
    let r = probe(&spec, &opener, &capped);
    assert_eq!(r.status, SourceStatus::Online);
    assert!(r.frames_decoded <= 12, "{} decoded", r.frames_decoded);
    assert!(r.frames_sampled < 10, "{} sampled", r.frames_sampled);
    assert!(r.samples.0.is_empty());
}
