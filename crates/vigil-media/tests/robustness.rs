//! Bad input ends in a clean, typed error within a bounded time: no panic, no hang, no leaked
//! thread. Tests here run one at a time so thread accounting is exact.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;
use vigil_media::*;

/// Threads started by this crate (reader threads, tokio blocking threads, libav worker threads
/// inherit the reader's name) still alive.
fn media_threads() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
        .filter(|c| c.starts_with("vigil-media") || c.starts_with("tokio-"))
        .count()
}

fn assert_no_leaked_threads() {
    let deadline = Instant::now() + Duration::from_secs(5);
    while (media_threads() > 0 || active_reader_threads() > 0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(active_reader_threads(), 0, "reader threads left");
    assert_eq!(media_threads(), 0, "media threads left");
}

/// Reads `spec` to its end with a reader; returns (frames, final status, elapsed).
fn run_to_end(spec: SourceSpec, cfg: ReaderConfig, limit: Duration) -> (usize, StreamStatus, Duration) {
    let start = Instant::now();
    let reader = StreamReader::start(spec, cfg).expect("start");
    let rx = reader.subscribe(SubscriberConfig::default());
    let frames = collect_all(&rx, limit).len();
    let status = reader
        .wait_status(limit, |s| matches!(s, StreamStatus::Ended(_)))
        .unwrap_or_else(|| panic!("reader did not end within {limit:?}: {:?}", reader.status()));
    reader.stop();
    (frames, status, start.elapsed())
}

fn ended_with(status: &StreamStatus) -> Option<ErrorKind> {
    match status {
        StreamStatus::Ended(Some(e)) => Some(e.kind()),
        _ => None,
    }
}

fn truncated_copy(src: &std::path::Path, name: &str, fraction: f64) -> PathBuf {
    let bytes = std::fs::read(src).expect("read clip");
    let cut = (bytes.len() as f64 * fraction) as usize;
    let out = tmp().join(name);
    std::fs::write(&out, &bytes[..cut]).expect("write truncated");
    out
}

#[test]
fn truncated_files_end_in_corrupt_data() {
    let _s = serial();
    // Index at the end (as the clip ships) and at the front (faststart): both cut in half.
    let ped = pedestrians();
    let faststart = pedestrians_faststart();
    let moov_front = ffprobe_moov_first(&faststart);
    assert!(moov_front, "faststart clip has its index first");
    for (src, name) in [(ped.clone(), "cut-orig.mp4"), (faststart, "cut-fast.mp4")] {
        let cut = truncated_copy(&src, name, 0.5);
        let (frames, status, took) = run_to_end(
            SourceSpec::url(cut.to_str().expect("utf8")),
            ReaderConfig::default(),
            Duration::from_secs(20),
        );
        assert_eq!(ended_with(&status), Some(ErrorKind::CorruptData), "{name}: {status:?}");
        assert!(frames < 795, "{name}: {frames} frames");
        assert!(took < Duration::from_secs(10), "{name}: {took:?}");
    }
    // A stream that ends mid-GOP (cut between key frames, then remuxed cleanly) is complete
    // as far as the container knows: every frame in it decodes, no error.
    let mid_gop = ffmpeg_gen(
        "midgop.mkv",
        &["-i", ped.to_str().expect("utf8"), "-c", "copy", "-frames:v", "437"],
    );
    let (frames, status, _) = run_to_end(
        SourceSpec::url(mid_gop.to_str().expect("utf8")),
        ReaderConfig::default(),
        Duration::from_secs(20),
    );
    assert_eq!(status, StreamStatus::Ended(None));
    assert_eq!(frames, 437);
    assert_no_leaked_threads();
}

fn ffprobe_moov_first(path: &std::path::Path) -> bool {
    let bytes = std::fs::read(path).unwrap_or_default();
    let moov = bytes.windows(4).position(|w| w == b"moov");
    let mdat = bytes.windows(4).position(|w| w == b"mdat");
    matches!((moov, mdat), (Some(a), Some(b)) if a < b)
}

#[test]
fn random_bytes_named_mp4_and_missing_files() {
    let _s = serial();
    let mut noise = vec![0u8; 256 * 1024];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for b in noise.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let path = tmp().join("noise.mp4");
    std::fs::write(&path, &noise).expect("write noise");
    let (frames, status, took) = run_to_end(
        SourceSpec::url(path.to_str().expect("utf8")),
        ReaderConfig::default(),
        Duration::from_secs(10),
    );
    assert_eq!(frames, 0);
    assert_eq!(ended_with(&status), Some(ErrorKind::CorruptData), "{status:?}");
    assert!(took < Duration::from_secs(5));

    let empty = tmp().join("empty.mp4");
    std::fs::write(&empty, b"").expect("write");
    let (_, status, _) = run_to_end(
        SourceSpec::url(empty.to_str().expect("utf8")),
        ReaderConfig::default(),
        Duration::from_secs(10),
    );
    assert!(
        matches!(ended_with(&status), Some(ErrorKind::CorruptData)),
        "{status:?}"
    );

    let (_, status, _) = run_to_end(
        SourceSpec::url("/nonexistent/dir/cam.mp4"),
        ReaderConfig::default(),
        Duration::from_secs(10),
    );
    assert_eq!(ended_with(&status), Some(ErrorKind::NotFound), "{status:?}");
    let (_, status, _) = run_to_end(SourceSpec::url(""), ReaderConfig::default(), Duration::from_secs(10));
    assert_eq!(ended_with(&status), Some(ErrorKind::InvalidSource), "{status:?}");
    // An audio-only file has no video stream to decode.
    let audio = ffmpeg_gen(
        "tone.mka",
        &["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "pcm_s16le"],
    );
    let (_, status, _) = run_to_end(
        SourceSpec::url(audio.to_str().expect("utf8")),
        ReaderConfig::default(),
        Duration::from_secs(10),
    );
    assert_eq!(ended_with(&status), Some(ErrorKind::UnsupportedCodec), "{status:?}");
    assert_no_leaked_threads();
}

#[test]
fn restful_endpoint_returning_garbage_or_errors() {
    let _s = serial();
    let opener = DefaultOpener::new(MediaConfig {
        open_timeout: Duration::from_secs(3),
        ..MediaConfig::default()
    });
    let cancel = CancelToken::new();
    let spec = |url: String| SourceSpec::Restful {
        url,
        headers: vec![],
        cert_check: true,
        path: "data/url".into(),
    };
    let kind = |s: SourceSpec| {
        let t = Instant::now();
        let k = opener.open(&s, &cancel).err().map(|e| e.kind());
        assert!(t.elapsed() < Duration::from_secs(5), "took {:?}", t.elapsed());
        k
    };
    let garbage = HttpServer::start(
        200,
        "application/json",
        (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect(),
    );
    assert_eq!(kind(spec(garbage.url("a"))), Some(ErrorKind::CorruptData));
    let wrong_shape = HttpServer::start(200, "application/json", br#"{"data":{"uri":"rtsp://x/y"}}"#.to_vec());
    assert_eq!(kind(spec(wrong_shape.url("a"))), Some(ErrorKind::CorruptData));
    let not_string = HttpServer::start(200, "application/json", br#"{"data":{"url":42}}"#.to_vec());
    assert_eq!(kind(spec(not_string.url("a"))), Some(ErrorKind::CorruptData));
    let missing = HttpServer::start(404, "text/plain", b"nope".to_vec());
    assert_eq!(kind(spec(missing.url("a"))), Some(ErrorKind::NotFound));
    let denied = HttpServer::start(401, "text/plain", b"who?".to_vec());
    assert_eq!(kind(spec(denied.url("a"))), Some(ErrorKind::AuthFailed));
    let silent = SilentServer::start();
    assert_eq!(
        kind(spec(format!("http://127.0.0.1:{}/a", silent.port))),
        Some(ErrorKind::Unreachable)
    );
    assert_eq!(
        kind(spec(format!("http://127.0.0.1:{}/a", free_port()))),
        Some(ErrorKind::Unreachable)
    );
    assert_eq!(kind(spec("ftp://example/x".into())), Some(ErrorKind::InvalidSource));
    // Resolves fine but points at nothing.
    let dangling = HttpServer::start(
        200,
        "application/json",
        format!(r#"{{"data":{{"url":"rtsp://127.0.0.1:{}/x"}}}}"#, free_port()).into_bytes(),
    );
    assert_eq!(kind(spec(dangling.url("a"))), Some(ErrorKind::Unreachable));

    // Through the reader: the source is Abnormal and retried, and stops cleanly.
    let reader = StreamReader::start(spec(garbage.url("a")), ReaderConfig::default()).expect("start");
    let st = reader.wait_status(Duration::from_secs(10), |s| matches!(s, StreamStatus::Abnormal(_)));
    assert!(
        matches!(st, Some(StreamStatus::Abnormal(ref e)) if e.kind() == ErrorKind::CorruptData),
        "{st:?}"
    );
    let t = Instant::now();
    reader.stop();
    assert!(t.elapsed() < Duration::from_secs(2));
    assert_no_leaked_threads();
}

#[test]
fn rtsp_server_that_accepts_then_stalls() {
    let _s = serial();
    let config = MediaConfig {
        open_timeout: Duration::from_secs(2),
        stall_timeout: Duration::from_secs(2),
        ..MediaConfig::default()
    };
    let opener = DefaultOpener::new(config.clone());
    let cancel = CancelToken::new();

    // Accepts the TCP connection and never answers DESCRIBE.
    let silent = SilentServer::start();
    let t = Instant::now();
    let err = opener
        .open(
            &SourceSpec::rtsp(format!("rtsp://127.0.0.1:{}/cam", silent.port)),
            &cancel,
        )
        .err()
        .expect("fails");
    assert_eq!(err.kind(), ErrorKind::Stalled, "{err}");
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());

    // A real server that streams for 1.5 s, then stops sending but keeps the connection.
    let server = RtspServer::start(&[("ped", &pedestrians())], &["--stall-after", "1.5"]);
    let mut src = opener
        .open(&SourceSpec::rtsp(server.url("ped")), &cancel)
        .expect("opens");
    let mut packets = 0;
    let t = Instant::now();
    let err = loop {
        match src.read() {
            Ok(Some(_)) => packets += 1,
            Ok(None) => panic!("live source ended instead of stalling"),
            Err(e) => break e,
        }
        assert!(t.elapsed() < Duration::from_secs(15), "no stall detected");
    };
    assert_eq!(err.kind(), ErrorKind::Stalled, "{err}");
    assert!(packets > 3, "streamed before stalling: {packets}");
    let after_last = t.elapsed();
    assert!(after_last < Duration::from_secs(6), "{after_last:?}");
    drop(src);

    // The reader reports it Offline(Stalled) and keeps trying; stopping it is immediate.
    let deps = ReaderDeps {
        opener: std::sync::Arc::new(opener),
        ..ReaderDeps::default()
    };
    let reader =
        StreamReader::start_with(SourceSpec::rtsp(server.url("ped")), ReaderConfig::default(), deps).expect("start");
    assert_eq!(
        reader.wait_status(Duration::from_secs(10), StreamStatus::is_online),
        Some(StreamStatus::Online)
    );
    let st = reader.wait_status(Duration::from_secs(10), |s| matches!(s, StreamStatus::Offline(_)));
    assert!(
        matches!(st, Some(StreamStatus::Offline(ref e)) if e.kind() == ErrorKind::Stalled),
        "{st:?}"
    );
    let t = Instant::now();
    reader.stop();
    assert!(t.elapsed() < Duration::from_secs(2), "stop took {:?}", t.elapsed());
    assert_no_leaked_threads();
}

#[test]
fn bit_errors_inside_the_video_data_do_not_stop_decoding() {
    let _s = serial();
    let mut bytes = std::fs::read(pedestrians()).expect("read");
    // Flip bytes in the media data (the index of this clip is at the end, keep it intact).
    let mdat = bytes.windows(4).position(|w| w == b"mdat").expect("mdat");
    let span = bytes.len() / 2;
    let mut x: u64 = 12345;
    for _ in 0..300 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let at = mdat + 64 + (x >> 33) as usize % span;
        bytes[at] ^= 0x5A;
    }
    let path = tmp().join("bitflips.mp4");
    std::fs::write(&path, &bytes).expect("write");
    let (frames, status, took) = run_to_end(
        SourceSpec::url(path.to_str().expect("utf8")),
        ReaderConfig::default(),
        Duration::from_secs(30),
    );
    // Damaged packets are skipped or concealed; the stream goes on to its end.
    assert_eq!(status, StreamStatus::Ended(None), "{status:?}");
    assert!((785..=795).contains(&frames), "{frames} frames");
    assert!(took < Duration::from_secs(20));
    assert_no_leaked_threads();
}

#[test]
fn restful_over_https_with_headers_and_certificate_check() {
    let _s = serial();
    let (cert, key) = self_signed_cert();
    let port = free_port();
    let stream = "rtsp://127.0.0.1:1/resolved";
    let mut server = Proc(
        std::process::Command::new("/usr/bin/python3")
            .arg(repo_root().join("tools/media/https_json_server.py"))
            .arg(port.to_string())
            .arg(&cert)
            .arg(&key)
            .arg(format!(r#"{{"result":{{"address":"{stream}"}}}}"#))
            .arg("X-Auth-Token=t0k")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("https server"),
    );
    let mut line = String::new();
    let mut out = std::io::BufReader::new(server.0.stdout.take().expect("stdout"));
    std::io::BufRead::read_line(&mut out, &mut line).expect("ready line");
    assert_eq!(line.trim(), "READY");

    let config = MediaConfig {
        open_timeout: Duration::from_secs(3),
        ..MediaConfig::default()
    };
    let cancel = CancelToken::new();
    let url = format!("https://127.0.0.1:{port}/camera");
    let resolve = |cert_check: bool, token: &str| {
        let headers = vec![("X-Auth-Token".to_string(), token.to_string())];
        vigil_media::source::restful::resolve(&url, &headers, cert_check, "result/address", &config, &cancel)
    };
    // Self-signed: refused with the check, accepted without it.
    assert_eq!(
        resolve(true, "t0k").err().map(|e| e.kind()),
        Some(ErrorKind::AuthFailed)
    );
    assert_eq!(resolve(false, "t0k").as_deref(), Ok(stream));
    // The configured headers are sent: a wrong token is rejected by the server.
    assert_eq!(
        resolve(false, "bad").err().map(|e| e.kind()),
        Some(ErrorKind::AuthFailed)
    );
    drop(server);
    assert_no_leaked_threads();
}
