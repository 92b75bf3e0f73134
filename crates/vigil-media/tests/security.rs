//! What a tenant's address can make the media layer do: only stream schemes, only files inside
//! the media roots (no symlink escapes, no FIFOs), only hosts the egress policy allows (on
//! redirects too), only pictures up to the size limit. Real servers on loopback, real clips.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use vigil_media::*;

/// A loopback TCP listener that only counts the connections it receives.
struct Tripwire {
    port: u16,
    hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Tripwire {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let (hits, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let (h, s) = (hits.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                if listener.accept().is_ok() {
                    h.fetch_add(1, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        Tripwire { port, hits, stop }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for Tripwire {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// An HTTP server answering every request with `302 Location: <location>`.
fn redirector(location: String) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for mut sock in listener.incoming().map_while(std::result::Result::ok) {
            h.fetch_add(1, Ordering::SeqCst);
            let _ = sock.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf);
            let resp =
                format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = sock.write_all(resp.as_bytes());
        }
    });
    (port, hits)
}

fn restful(url: String) -> SourceSpec {
    SourceSpec::Restful {
        url,
        headers: vec![],
        cert_check: true,
        path: "data/url".into(),
    }
}

fn kind_of(opener: &DefaultOpener, spec: &SourceSpec) -> Option<ErrorKind> {
    let started = Instant::now();
    let k = opener.open(spec, &CancelToken::new()).err().map(|e| e.kind());
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{spec:?} took {:?}",
        started.elapsed()
    );
    k
}

fn roots_config(root: &std::path::Path) -> MediaConfig {
    MediaConfig {
        open_timeout: Duration::from_secs(3),
        media_roots: Some(vec![root.to_path_buf()]),
        ..MediaConfig::default()
    }
}

#[test]
fn restful_answers_are_held_to_the_rules_of_configured_addresses() {
    let _s = serial();
    let root = tmp().join("roots-restful");
    std::fs::create_dir_all(&root).expect("mkdir");
    std::fs::write(root.join("master.key"), b"secret-key-material").expect("write");
    let opener = DefaultOpener::new(roots_config(&root));
    let wire = Tripwire::start();
    let key = root.join("master.key");
    let answers = [
        format!("concat:{}|{}", key.display(), key.display()),
        "subfile,,start,0,end,2,,:/etc/hostname".to_string(),
        format!("gopher://127.0.0.1:{}/_PING", wire.port),
        "file:///etc/passwd".to_string(),
        format!("file://{}", key.display()).replace("master.key", "../../etc/passwd"),
        "data:text/plain;base64,aGVsbG8=".to_string(),
        "rtsp://169.254.169.254/stream".to_string(),
    ];
    for answer in answers {
        let body = serde_json::json!({"data": {"url": answer}}).to_string();
        let server = HttpServer::start(200, "application/json", body.into_bytes());
        assert_eq!(
            kind_of(&opener, &restful(server.url("a"))),
            Some(ErrorKind::Refused),
            "{answer}"
        );
    }
    assert_eq!(wire.hits(), 0, "the gopher target was dialled");
}

#[test]
fn local_files_only_inside_the_roots_and_only_regular_files() {
    let _s = serial();
    let root = tmp().join("roots-files");
    std::fs::create_dir_all(&root).expect("mkdir");
    let clip = root.join("street.mp4");
    if !clip.exists() {
        std::fs::copy(media("street_bikes.mp4"), &clip).expect("copy clip");
    }
    let escape = root.join("escape.mp4");
    if !escape.exists() {
        std::os::unix::fs::symlink(media("street_bikes.mp4"), &escape).expect("symlink");
    }
    let fifo = root.join("fifo.mp4");
    if !fifo.exists() {
        let c = std::ffi::CString::new(fifo.to_str().expect("utf8")).expect("cstring");
        // SAFETY: mkfifo with a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }
    let opener = DefaultOpener::new(roots_config(&root));
    let url = |p: &std::path::Path| SourceSpec::url(format!("file://{}", p.display()));
    assert!(opener.open(&url(&clip), &CancelToken::new()).is_ok());
    assert!(opener
        .open(&SourceSpec::url(clip.to_str().expect("utf8")), &CancelToken::new())
        .is_ok());
    // A FIFO would block a reader forever: refused without being opened, at once.
    assert_eq!(kind_of(&opener, &url(&fifo)), Some(ErrorKind::Refused));
    assert_eq!(kind_of(&opener, &url(&escape)), Some(ErrorKind::Refused));
    assert_eq!(
        kind_of(&opener, &url(&media("street_bikes.mp4"))),
        Some(ErrorKind::Refused)
    );
    assert_eq!(
        kind_of(&opener, &SourceSpec::url("/etc/passwd")),
        Some(ErrorKind::Refused)
    );
    assert_eq!(
        kind_of(
            &opener,
            &SourceSpec::url(format!("{}/../../../etc/passwd", root.display()))
        ),
        Some(ErrorKind::Refused)
    );
}

#[test]
fn metadata_addresses_and_redirects_to_them_are_refused_without_dialling() {
    let _s = serial();
    let opener = DefaultOpener::new(MediaConfig {
        open_timeout: Duration::from_secs(3),
        ..MediaConfig::default()
    });
    // Never dialled: the policy refuses the literal address.
    for url in [
        "rtsp://169.254.169.254/live",
        "http://169.254.169.254/latest/meta-data/",
        "rtsps://[fe80::1]/x",
        "rtmp://0.0.0.0/app/key",
    ] {
        assert_eq!(
            kind_of(&opener, &SourceSpec::url(url)),
            Some(ErrorKind::Refused),
            "{url}"
        );
    }
    assert_eq!(
        kind_of(&opener, &restful("http://169.254.169.254/latest/meta-data/".into())),
        Some(ErrorKind::Refused)
    );
    // A RESTful endpoint that redirects to the metadata address: the redirect is refused.
    let (port, hits) = redirector("http://169.254.169.254/latest/meta-data/".into());
    assert_eq!(
        kind_of(&opener, &restful(format!("http://127.0.0.1:{port}/a"))),
        Some(ErrorKind::Refused)
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // libavformat follows no redirect at all: the target behind it is never contacted.
    let wire = Tripwire::start();
    let (port, hits) = redirector(format!("http://127.0.0.1:{}/clip.mp4", wire.port));
    let err = opener
        .open(
            &SourceSpec::url(format!("http://127.0.0.1:{port}/clip.mp4")),
            &CancelToken::new(),
        )
        .err()
        .expect("redirect refused");
    assert!(hits.load(Ordering::SeqCst) >= 1, "{err}");
    assert_eq!(wire.hits(), 0, "libavformat followed the redirect: {err}");
    // The administrator's deny list applies to names and resolved addresses alike.
    let strict = DefaultOpener::new(MediaConfig {
        egress: Arc::new(vigil_core::egress::EgressPolicy::from_lists("", "127.0.0.0/8").expect("policy")),
        ..MediaConfig::default()
    });
    let wire = Tripwire::start();
    for url in [
        format!("rtsp://localhost:{}/cam", wire.port),
        format!("http://127.0.0.1:{}/a.mp4", wire.port),
    ] {
        assert_eq!(
            kind_of(&strict, &SourceSpec::url(url.clone())),
            Some(ErrorKind::Refused),
            "{url}"
        );
    }
    assert_eq!(
        kind_of(&strict, &restful(format!("http://localhost:{}/a", wire.port))),
        Some(ErrorKind::Refused)
    );
    assert_eq!(wire.hits(), 0);
}

#[test]
fn pictures_larger_than_the_limit_are_refused() {
    let _s = serial();
    let big = lavfi_clip(
        "big-640.mp4",
        "testsrc=size=640x480:rate=10:duration=1",
        &["-c:v", "libx264", "-pix_fmt", "yuv420p"],
    );
    let small_limit = MediaConfig {
        max_video_size: (320, 240),
        ..MediaConfig::default()
    };
    let opener = DefaultOpener::new(small_limit.clone());
    let err = opener
        .open(&SourceSpec::url(big.to_str().expect("utf8")), &CancelToken::new())
        .err()
        .expect("too large");
    assert_eq!(err.kind(), ErrorKind::UnsupportedCodec, "{err}");
    assert!(err.message().contains("exceeds"), "{err}");

    // A stream that declares 320x240 and switches to 640x480 mid-stream ends at the switch.
    let joined = resizing_clip("lim");
    let deps = ReaderDeps {
        opener: Arc::new(opener),
        ..ReaderDeps::default()
    };
    let reader = StreamReader::start_with(
        SourceSpec::url(joined.to_str().expect("utf8")),
        ReaderConfig::default(),
        deps,
    )
    .expect("start");
    let rx = reader.subscribe(SubscriberConfig::default());
    let frames = collect_all(&rx, Duration::from_secs(20));
    assert!(frames.iter().all(|f| (f.width(), f.height()) == (320, 240)));
    assert!(frames.len() <= 20, "{} frames", frames.len());
    let st = reader.wait_status(Duration::from_secs(10), |s| matches!(s, StreamStatus::Ended(_)));
    assert!(
        matches!(st, Some(StreamStatus::Ended(Some(ref e))) if e.kind() == ErrorKind::UnsupportedCodec),
        "{st:?}"
    );
}

#[test]
fn tenant_texts_are_fixed_per_kind() {
    for kind in [ErrorKind::Refused, ErrorKind::Unreachable] {
        assert_eq!(kind.public_message(), vigil_core::egress::GENERIC_CONNECT_ERROR);
        assert_eq!(kind.public_code(), "unreachable");
    }
    assert_eq!(
        SourceStatus::from_error(&MediaError::new(ErrorKind::Refused, "x")),
        SourceStatus::Offline
    );
}

/// Stored snapshots are scaled down: a 1920x1080 stream gives a snapshot 1280 pixels wide.
#[test]
fn prober_snapshots_are_downscaled() {
    let _s = serial();
    let hd = lavfi_clip(
        "hd-1080.mp4",
        "testsrc=size=1920x1080:rate=10:duration=3",
        &["-c:v", "libx264", "-pix_fmt", "yuv420p"],
    );
    let report = probe(
        &SourceSpec::url(hd.to_str().expect("utf8")),
        &DefaultOpener::default(),
        &ProbeOptions::default(),
    );
    assert_eq!(report.status, SourceStatus::Online, "{:?}", report.error);
    assert_eq!((report.width, report.height), (1920, 1080));
    let jpg = tmp().join("hd-snapshot.jpg");
    std::fs::write(&jpg, report.snapshot_jpeg.expect("snapshot")).expect("write");
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0"])
        .arg(&jpg)
        .output()
        .expect("ffprobe");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1280,720");
}
