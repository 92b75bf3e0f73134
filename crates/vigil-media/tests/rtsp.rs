//! RTSP through retina against Debian's GStreamer RTSP server on loopback.

mod common;

use std::time::{Duration, Instant};

use common::*;
use vigil_media::*;

/// Frames of the first session until `count` arrived, the session changed, or `limit`.
fn first_session(rx: &FrameReceiver, count: usize, limit: Duration) -> Vec<Frame> {
    let deadline = Instant::now() + limit;
    let mut out = Vec::new();
    while out.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Recv::Frame(f) if f.session() == 0 => out.push(f),
            _ => break,
        }
    }
    out
}

fn check_live_timeline(frames: &[Frame], count: usize) {
    // RTP timestamps (90 kHz) carry the file's 10 fps cadence exactly.
    assert_cadence(
        frames,
        count,
        Duration::from_millis(100),
        (768, 576),
        Duration::from_millis(1),
    );
    assert!(
        frames.iter().all(|f| f.wall_time().is_some()),
        "live frames carry wall-clock time"
    );
    let (w0, wn) = (frames[0].wall_time(), frames[count - 1].wall_time());
    assert!(wn > w0);
}

/// The server goes quiet after the last frame; a short stall timeout ends the session (and
/// flushes the decoder's last, reordered pictures) soon after.
fn short_stall() -> ReaderDeps {
    ReaderDeps {
        opener: std::sync::Arc::new(DefaultOpener::new(MediaConfig {
            stall_timeout: Duration::from_secs(2),
            ..MediaConfig::default()
        })),
        ..ReaderDeps::default()
    }
}

#[test]
fn pedestrians_over_rtsp_tcp_and_udp_decode_every_frame() {
    // The server plays 8x faster than real time (RTP timestamps stay media time).
    let server = RtspServer::start(&[("ped", &pedestrians())], &["--rate", "8"]);
    let cfg = ReaderConfig::default();
    let tcp = StreamReader::start_with(SourceSpec::rtsp(server.url("ped")), cfg, short_stall()).expect("tcp");
    let udp_spec = SourceSpec::Rtsp {
        url: server.url("ped"),
        user: None,
        password: None,
        transport: RtspTransport::Udp,
        tls_verify: true,
    };
    let udp = StreamReader::start_with(udp_spec, cfg, short_stall()).expect("udp");
    let tcp_rx = tcp.subscribe(SubscriberConfig {
        capacity: 1000,
        fps: None,
    });
    let udp_rx = udp.subscribe(SubscriberConfig {
        capacity: 1000,
        fps: None,
    });
    // A consumer that never reads: live sources drop its oldest frames and count them.
    let idle = tcp.subscribe(SubscriberConfig { capacity: 2, fps: None });
    let t = std::thread::spawn(move || first_session(&udp_rx, 795, Duration::from_secs(40)));
    let tcp_frames = first_session(&tcp_rx, 795, Duration::from_secs(40));
    let udp_frames = t.join().expect("join");
    check_live_timeline(&tcp_frames, 795);
    check_live_timeline(&udp_frames, 795);
    // (The frame may still be on its way to the last subscriber.)
    let until = Instant::now() + Duration::from_secs(2);
    while idle.dropped() < 793 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(idle.dropped(), 793, "all but the 2 newest frames were dropped");
    assert!(tcp.stats().dropped >= 793);
    assert_eq!(tcp.stream_path().as_deref(), Some(server.url("ped").as_str()));
    drop(idle);
    tcp.stop();
    udp.stop();
}

#[test]
fn h265_over_rtsp_decodes() {
    let clip = h265_clip();
    let spec = format!("{}:h265", clip.display());
    let server = RtspServer::start(&[("hevc", std::path::Path::new(&spec))], &["--rate", "4"]);
    let reader = StreamReader::start_with(
        SourceSpec::rtsp(server.url("hevc")),
        ReaderConfig::default(),
        short_stall(),
    )
    .expect("start");
    let rx = reader.subscribe(SubscriberConfig {
        capacity: 100,
        fps: None,
    });
    let frames = first_session(&rx, 30, Duration::from_secs(20));
    assert_eq!(frames.len(), 30);
    for (i, f) in frames.iter().enumerate() {
        assert_eq!((f.width(), f.height()), (320, 240));
        assert_eq!(f.media_time().as_millis(), 100 * i as u128);
    }
    // testsrc is colourful: real pixels, not a gray decoder fallback.
    let stats = vigil_media::quality::frame_stats(&frames[10]);
    assert!(stats.std_luma > 30.0 && stats.chroma_dev > 10.0, "{stats:?}");
}

#[test]
fn credentials_basic_and_digest_and_error_kinds() {
    let ped = pedestrians();
    let basic = RtspServer::start(&[("ped", &ped)], &["--auth", "alice:s3cret"]);
    let digest = RtspServer::start(&[("ped", &ped)], &["--auth", "bob:p@ss", "--digest-only"]);
    let opener = DefaultOpener::new(MediaConfig {
        open_timeout: Duration::from_secs(5),
        ..MediaConfig::default()
    });
    let cancel = CancelToken::new();
    let open = |spec: SourceSpec| {
        let t = Instant::now();
        let r = opener.open(&spec, &cancel).map(|s| s.info().stream_path.clone());
        assert!(t.elapsed() < Duration::from_secs(6), "took {:?}", t.elapsed());
        r
    };
    let with = |url: String, user: &str, pass: &str| SourceSpec::Rtsp {
        url,
        user: Some(user.into()),
        password: Some(pass.into()),
        transport: RtspTransport::Tcp,
        tls_verify: true,
    };
    // Right credentials, separate or in the URL (percent-encoded), Basic and Digest.
    assert!(open(with(basic.url("ped"), "alice", "s3cret")).is_ok());
    let in_url = format!("rtsp://alice:s3cret@127.0.0.1:{}/ped", basic.port);
    assert_eq!(
        open(SourceSpec::rtsp(in_url)).expect("creds in URL"),
        basic.url("ped"),
        "stream path has no credentials"
    );
    assert!(open(with(digest.url("ped"), "bob", "p@ss")).is_ok());
    assert!(open(SourceSpec::rtsp(format!(
        "rtsp://bob:p%40ss@127.0.0.1:{}/ped",
        digest.port
    )))
    .is_ok());

    let kind = |r: Result<String>| r.err().map(|e| e.kind());
    assert_eq!(
        kind(open(with(basic.url("ped"), "alice", "wrong"))),
        Some(ErrorKind::AuthFailed)
    );
    assert_eq!(
        kind(open(with(digest.url("ped"), "bob", "wrong"))),
        Some(ErrorKind::AuthFailed)
    );
    assert_eq!(
        kind(open(SourceSpec::rtsp(basic.url("ped")))),
        Some(ErrorKind::AuthFailed),
        "no credentials"
    );
    assert_eq!(
        kind(open(with(basic.url("nothing-here"), "alice", "s3cret"))),
        Some(ErrorKind::NotFound)
    );
    let closed = format!("rtsp://127.0.0.1:{}/ped", free_port());
    assert_eq!(kind(open(SourceSpec::rtsp(closed))), Some(ErrorKind::Unreachable));
    assert_eq!(
        kind(open(SourceSpec::rtsp("rtsp:///nohost"))),
        Some(ErrorKind::InvalidSource)
    );

    // The reader maps them to statuses: auth/not-found are Abnormal, unreachable Offline.
    let r = StreamReader::start(with(basic.url("ped"), "alice", "wrong"), ReaderConfig::default()).expect("start");
    let st = r.wait_status(Duration::from_secs(10), |s| !matches!(s, StreamStatus::Connecting));
    assert!(
        matches!(st, Some(StreamStatus::Abnormal(ref e)) if e.kind() == ErrorKind::AuthFailed),
        "{st:?}"
    );
    r.stop();
    let r = StreamReader::start(
        SourceSpec::rtsp(format!("rtsp://127.0.0.1:{}/x", free_port())),
        ReaderConfig::default(),
    )
    .expect("start");
    let st = r.wait_status(Duration::from_secs(10), |s| !matches!(s, StreamStatus::Connecting));
    assert!(
        matches!(st, Some(StreamStatus::Offline(ref e)) if e.kind() == ErrorKind::Unreachable),
        "{st:?}"
    );
    r.stop();
}

#[test]
fn rtsps_over_tls_decodes_every_frame_with_credentials() {
    let pem = tls_pem();
    let opts = [
        "--rate",
        "8",
        "--auth",
        "alice:s3cret",
        "--tls",
        pem.to_str().expect("utf8"),
    ];
    let server = RtspServer::start(&[("ped", &pedestrians())], &opts);
    let url = format!("rtsps://127.0.0.1:{}/ped", server.port);
    // The camera's certificate is self-signed: this source opts out of the check.
    let with = |user: &str, pass: &str| SourceSpec::Rtsp {
        url: url.clone(),
        user: Some(user.into()),
        password: Some(pass.into()),
        transport: RtspTransport::Tcp,
        tls_verify: false,
    };
    let reader =
        StreamReader::start_with(with("alice", "s3cret"), ReaderConfig::default(), short_stall()).expect("start");
    let rx = reader.subscribe(SubscriberConfig {
        capacity: 1000,
        fps: None,
    });
    let frames = first_session(&rx, 795, Duration::from_secs(60));
    check_live_timeline(&frames, 795);
    assert_eq!(
        reader.stream_path().as_deref(),
        Some(url.as_str()),
        "no credentials in the path"
    );
    reader.stop();

    let opener = DefaultOpener::new(MediaConfig {
        open_timeout: Duration::from_secs(5),
        ..MediaConfig::default()
    });
    let cancel = CancelToken::new();
    let kind = |spec: SourceSpec| {
        let t = Instant::now();
        let r = opener.open(&spec, &cancel).err().map(|e| e.kind());
        assert!(t.elapsed() < Duration::from_secs(8), "took {:?}", t.elapsed());
        r
    };
    assert_eq!(kind(with("alice", "wrong")), Some(ErrorKind::AuthFailed));
    assert_eq!(
        kind(SourceSpec::rtsp(format!("rtsps://127.0.0.1:{}/ped", free_port()))),
        Some(ErrorKind::Unreachable)
    );
    // Plain RTSP against the TLS port fails cleanly too.
    assert!(kind(SourceSpec::rtsp(server.url("ped"))).is_some());
}

#[test]
fn rtsps_certificate_is_verified_unless_the_source_opts_out() {
    let pem = tls_pem();
    let (cert, _) = self_signed_cert();
    let server = RtspServer::start(
        &[("ped", &pedestrians())],
        &["--rate", "8", "--tls", pem.to_str().expect("utf8")],
    );
    let url = format!("rtsps://127.0.0.1:{}/ped", server.port);
    let spec = |url: &str, tls_verify: bool| SourceSpec::Rtsp {
        url: url.to_string(),
        user: None,
        password: None,
        transport: RtspTransport::Tcp,
        tls_verify,
    };
    let cancel = CancelToken::new();
    let open = |ca_file: Option<&std::path::Path>, spec: SourceSpec| {
        let opener = DefaultOpener::new(MediaConfig {
            open_timeout: Duration::from_secs(5),
            rtsps_ca_file: ca_file.map(|p| p.to_path_buf()),
            ..MediaConfig::default()
        });
        let t = Instant::now();
        let r = opener.open(&spec, &cancel);
        assert!(t.elapsed() < Duration::from_secs(8), "took {:?}", t.elapsed());
        r.map(|s| s.info().stream_path.clone()).map_err(|e| {
            if e.kind() == ErrorKind::AuthFailed {
                assert!(e.message().contains("certificate rejected"), "{e}");
            }
            e.kind()
        })
    };
    // Self-signed, not in the system roots: refused before libavformat opens anything, for a
    // configured source and a task input (no opt-out) alike.
    assert_eq!(open(None, spec(&url, true)), Err(ErrorKind::AuthFailed));
    assert_eq!(open(None, SourceSpec::url(url.clone())), Err(ErrorKind::AuthFailed));
    // Trusted through --rtsps-ca-file: opened.
    assert_eq!(open(Some(&cert), spec(&url, true)).as_deref(), Ok(url.as_str()));
    // Trusted CA but the wrong host name (the certificate names only IP 127.0.0.1): refused.
    let by_name = format!("rtsps://localhost:{}/ped", server.port);
    assert_eq!(open(Some(&cert), spec(&by_name, true)), Err(ErrorKind::AuthFailed));
    // The per-source opt-out accepts the self-signed camera.
    assert_eq!(open(None, spec(&url, false)).as_deref(), Ok(url.as_str()));
}

#[test]
fn restful_source_resolves_to_the_rtsp_stream() {
    let server = RtspServer::start(&[("ped", &pedestrians())], &["--rate", "4"]);
    let body = format!(
        r#"{{"code":0,"data":{{"streams":[{{"url":"{}"}}]}}}}"#,
        server.url("ped")
    );
    let api = HttpServer::start(200, "application/json", body.into_bytes());
    let spec = SourceSpec::Restful {
        url: api.url("camera/1/address"),
        headers: vec![("X-Auth-Token".into(), "t0k".into())],
        cert_check: true,
        path: "data/streams/0/url".into(),
    };
    let reader = StreamReader::start(spec, ReaderConfig::default()).expect("start");
    let rx = reader.subscribe(SubscriberConfig {
        capacity: 100,
        fps: None,
    });
    let frames = first_session(&rx, 20, Duration::from_secs(20));
    assert_eq!(frames.len(), 20);
    assert_eq!(reader.status(), StreamStatus::Online);
    assert_eq!(reader.stream_path().as_deref(), Some(server.url("ped").as_str()));
}

#[test]
fn restful_source_is_re_resolved_on_every_reconnect() {
    // The first answer points at a camera that is down, the next ones at a live one.
    let server = RtspServer::start(&[("ped", &pedestrians())], &["--rate", "4"]);
    let answer = |url: String| format!(r#"{{"data":{{"url":"{url}"}}}}"#).into_bytes();
    let api = HttpServer::start_seq(
        200,
        "application/json",
        vec![
            answer(format!("rtsp://127.0.0.1:{}/ped", free_port())),
            answer(server.url("ped")),
        ],
    );
    let spec = SourceSpec::Restful {
        url: api.url("address"),
        headers: vec![],
        cert_check: true,
        path: "data/url".into(),
    };
    let cfg = ReaderConfig {
        backoff: Backoff {
            initial: Duration::from_millis(200),
            ..Backoff::default()
        },
        ..ReaderConfig::default()
    };
    let reader = StreamReader::start(spec, cfg).expect("start");
    let rx = reader.subscribe(SubscriberConfig::default());
    assert!(matches!(rx.recv_timeout(Duration::from_secs(20)), Recv::Frame(_)));
    let history: Vec<StreamStatus> = reader.status_history().into_iter().map(|(_, s)| s).collect();
    assert!(
        matches!(history.get(1), Some(StreamStatus::Offline(e)) if e.kind() == ErrorKind::Unreachable),
        "{history:?}"
    );
    assert_eq!(history.get(2), Some(&StreamStatus::Online));
    assert_eq!(api.requests.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(reader.stream_path().as_deref(), Some(server.url("ped").as_str()));
}

/// Over RTSP (retina's depacketiser, AVC length-prefixed packets), sampling 5 of 25 fps takes
/// reference pictures and leaves the non-reference ones undecoded, as from files.
#[test]
fn rtsp_sampling_takes_reference_pictures() {
    let pedestrians = pedestrians();
    let src = pedestrians.to_str().expect("utf8");
    let clip = ffmpeg_gen(
        "pyramid25_rtsp.mp4",
        &[
            "-i",
            src,
            "-vf",
            "setpts=N/(25*TB),scale=384:288",
            "-r",
            "25",
            "-c:v",
            "libx264",
            "-preset",
            "medium",
            "-g",
            "50",
            "-bf",
            "3",
            "-an",
            "-t",
            "8",
        ],
    );
    let server = RtspServer::start(&[("pyr", &clip)], &["--rate", "4"]);
    let reader = StreamReader::start_with(
        SourceSpec::rtsp(server.url("pyr")),
        ReaderConfig::default(),
        short_stall(),
    )
    .expect("reader");
    let rx = reader.subscribe(SubscriberConfig {
        capacity: 100,
        fps: Some(5.0),
    });
    let frames = first_session(&rx, 35, Duration::from_secs(30));
    let stats = reader.stats();
    let kinds: Vec<Option<bool>> = frames.iter().map(|f| f.reference()).collect();
    eprintln!(
        "{} samples, {} decoded of {} packets; kinds {kinds:?}",
        frames.len(),
        stats.decoded,
        stats.packets
    );
    assert!(frames.len() >= 30);
    assert!(frames.iter().skip(2).all(|f| f.reference() == Some(true)), "{kinds:?}");
    assert!(
        stats.decoded * 10 <= stats.packets * 6,
        "{} decoded of {} packets",
        stats.decoded,
        stats.packets
    );
    reader.stop();
}
