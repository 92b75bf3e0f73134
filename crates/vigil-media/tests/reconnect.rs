//! The 20-second outage: a real RTSP server is stopped mid-stream and started again; the same
//! reader reports Offline, then Online, and frames resume. (The one slow test of the crate.)

mod common;

use std::time::{Duration, Instant};

use common::*;
use vigil_media::*;

#[test]
fn rtsp_outage_of_20_s_goes_offline_then_online_and_frames_resume() {
    let mut server = RtspServer::start(&[("ped", &pedestrians())], &[]);
    let cfg = ReaderConfig {
        backoff: Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(3),
            multiplier: 2.0,
            jitter: 0.2,
        },
        ..ReaderConfig::default()
    };
    let reader = StreamReader::start(SourceSpec::rtsp(server.url("ped")), cfg).expect("start");
    let mut events = reader.status_events();
    let rx = reader.subscribe(SubscriberConfig {
        capacity: 64,
        fps: None,
    });

    // Streaming: 10 frames of the first session.
    let mut first = Vec::new();
    while first.len() < 10 {
        match rx.recv_timeout(Duration::from_secs(15)) {
            Recv::Frame(f) => first.push(f),
            other => panic!("no frames before the outage: {other:?}"),
        }
    }
    assert_eq!(reader.status(), StreamStatus::Online);

    // Outage.
    server.stop();
    let down_at = Instant::now();
    let offline = reader.wait_status(Duration::from_secs(12), |s| matches!(s, StreamStatus::Offline(_)));
    match &offline {
        Some(StreamStatus::Offline(e)) => {
            assert!(matches!(e.kind(), ErrorKind::Unreachable | ErrorKind::Stalled), "{e}")
        }
        other => panic!("expected Offline, got {other:?}"),
    }
    // Frames already queued may still be taken; none of a new session can appear while down.
    let until = down_at + Duration::from_secs(20);
    while Instant::now() < until {
        if let Recv::Frame(f) = rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
            assert_eq!(f.session(), 0, "no new session while the server is down");
        }
    }
    assert!(
        matches!(reader.status(), StreamStatus::Offline(_)),
        "{:?}",
        reader.status()
    );
    let failures_while_down = reader.stats().failures;
    assert!(failures_while_down >= 3, "kept retrying: {failures_while_down}");

    // Back up: same reader, same process.
    server.restart();
    let online = reader.wait_status(Duration::from_secs(15), StreamStatus::is_online);
    assert_eq!(online, Some(StreamStatus::Online));
    let resumed = loop {
        match rx.recv_timeout(Duration::from_secs(15)) {
            Recv::Frame(f) if f.session() >= 1 => break f,
            Recv::Frame(_) => continue,
            other => panic!("frames did not resume: {other:?}"),
        }
    };
    assert!(resumed.index() > first[9].index());
    assert_eq!(reader.stats().reconnects, 1);

    // The status stream told subscribers the same story, in order.
    let mut seen = Vec::new();
    while let Ok(s) = events.try_recv() {
        seen.push(s);
    }
    let names: Vec<&str> = seen
        .iter()
        .map(|s| match s {
            StreamStatus::Connecting => "connecting",
            StreamStatus::Online => "online",
            StreamStatus::Offline(_) => "offline",
            StreamStatus::Abnormal(_) => "abnormal",
            StreamStatus::Ended(_) => "ended",
        })
        .collect();
    let pos = |n: &str, from: usize| names.iter().skip(from).position(|x| *x == n).map(|p| p + from);
    let on1 = pos("online", 0).expect("online");
    let off = pos("offline", on1).expect("offline after online");
    assert!(pos("online", off).is_some(), "online again after offline: {names:?}");
    reader.stop();
    assert_eq!(active_reader_threads(), 0);
}
