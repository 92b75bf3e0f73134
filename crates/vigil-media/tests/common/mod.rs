//! Test support: shared media, generated clips, a real GStreamer RTSP server on loopback,
//! tiny HTTP servers, thread accounting.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use vigil_media::{FrameReceiver, Recv};

pub mod s3_server;

pub fn shared_dir() -> PathBuf {
    if let Ok(d) = std::env::var("VIGIL_SHARED_DIR") {
        return PathBuf::from(d);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

pub fn media(name: &str) -> PathBuf {
    let p = shared_dir().join("media").join(name);
    assert!(p.exists(), "test video {} missing (set VIGIL_SHARED_DIR)", p.display());
    p.canonicalize().expect("canonical media path")
}

pub fn pedestrians() -> PathBuf {
    media("pedestrians_vtest.mp4")
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// Serialises tests of one binary that must not overlap (thread counting, heavy servers).
pub fn serial() -> MutexGuard<'static, ()> {
    static M: OnceLock<Mutex<()>> = OnceLock::new();
    match M.get_or_init(|| Mutex::new(())).lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// A per-process temp dir for generated clips.
pub fn tmp() -> &'static Path {
    static D: OnceLock<tempfile::TempDir> = OnceLock::new();
    D.get_or_init(|| tempfile::tempdir().expect("tempdir")).path()
}

/// Runs the ffmpeg CLI to produce `out` (inside the temp dir) once per process.
pub fn ffmpeg_gen(name: &str, args: &[&str]) -> PathBuf {
    static LOCK: OnceLock<Mutex<()>> = OnceLock::new();
    let _g = LOCK.get_or_init(|| Mutex::new(())).lock();
    let out = tmp().join(name);
    if out.exists() {
        return out;
    }
    let partial = tmp().join(format!("partial-{name}"));
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .arg(&partial)
        .status()
        .expect("running ffmpeg");
    assert!(status.success(), "ffmpeg failed for {name}");
    std::fs::rename(&partial, &out).expect("rename clip");
    out
}

/// The pedestrian clip remuxed (no re-encode) into another container.
pub fn pedestrians_as(ext: &str) -> PathBuf {
    let src = pedestrians();
    let src = src.to_str().expect("utf8 path");
    ffmpeg_gen(&format!("pedestrians.{ext}"), &["-i", src, "-c", "copy", "-an"])
}

/// The pedestrian clip with its index (moov) before the media data, as web servers want it.
pub fn pedestrians_faststart() -> PathBuf {
    let src = pedestrians();
    let src = src.to_str().expect("utf8 path");
    ffmpeg_gen("faststart.mp4", &["-i", src, "-c", "copy", "-movflags", "+faststart"])
}

/// Checks a decoded timeline: `count` frames of `size`, frame i at `i * step` (± `tol`).
pub fn assert_cadence(frames: &[vigil_media::Frame], count: usize, step: Duration, size: (u32, u32), tol: Duration) {
    assert_eq!(frames.len(), count, "frame count");
    for (i, f) in frames.iter().enumerate() {
        assert_eq!((f.width(), f.height()), size, "frame {i} size");
        let want = step * i as u32;
        let diff = f.media_time().abs_diff(want);
        assert!(diff <= tol, "frame {i}: {:?} vs {want:?}", f.media_time());
    }
}

/// A self-signed certificate for 127.0.0.1 and its key (openssl CLI), made once per process.
/// A server (leaf) certificate, as cameras ship, so it can also be trusted as its own CA file
/// (webpki refuses a CA:TRUE certificate as the server's).
pub fn self_signed_cert() -> (PathBuf, PathBuf) {
    static FILES: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    FILES
        .get_or_init(|| {
            let (cert, key) = (tmp().join("cert.pem"), tmp().join("key.pem"));
            let status = Command::new("openssl")
                .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"])
                .args(["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
                .args(["-addext", "basicConstraints=critical,CA:FALSE"])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&cert)
                .stderr(Stdio::null())
                .status()
                .expect("running openssl (scripts/setup.sh installs it)");
            assert!(status.success(), "openssl req failed");
            (cert, key)
        })
        .clone()
}

/// [`self_signed_cert`] and its key in one PEM file, for the RTSPS server.
pub fn tls_pem() -> PathBuf {
    let (cert, key) = self_signed_cert();
    let pem = tmp().join("tls.pem");
    let both = [std::fs::read(cert).expect("cert"), std::fs::read(key).expect("key")].concat();
    std::fs::write(&pem, both).expect("write pem");
    pem
}

/// 3 s of `testsrc` (320x240, 10 fps) in H.265 (hvc1) MP4.
pub fn h265_clip() -> PathBuf {
    lavfi_clip(
        "t265.mp4",
        "testsrc=size=320x240:rate=10:duration=3",
        &[
            "-c:v",
            "libx265",
            "-x265-params",
            "log-level=error",
            "-pix_fmt",
            "yuv420p",
            "-tag:v",
            "hvc1",
        ],
    )
}

/// A synthetic clip from a lavfi source, H.264 by default.
pub fn lavfi_clip(name: &str, source: &str, extra: &[&str]) -> PathBuf {
    let mut args = vec!["-f", "lavfi", "-i", source];
    args.extend_from_slice(extra);
    ffmpeg_gen(name, &args)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A child process killed when dropped (also when a test panics).
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Debian's GStreamer RTSP server (tools/media/rtsp_server.py) on a loopback port; killed on drop.
pub struct RtspServer {
    pub port: u16,
    args: Vec<String>,
    child: Option<Child>,
}

impl RtspServer {
    /// `mounts`: (name, file, h265?) ; `opts`: extra CLI options like ["--rate", "8"].
    pub fn start(mounts: &[(&str, &Path)], opts: &[&str]) -> Self {
        let port = free_port();
        let mut args: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
        for (name, path) in mounts {
            args.push(format!("{name}={}", path.display()));
        }
        let mut s = RtspServer {
            port,
            args,
            child: None,
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let script = repo_root().join("tools/media/rtsp_server.py");
        let mut child = Command::new("/usr/bin/python3")
            .arg(script)
            .arg(self.port.to_string())
            .args(&self.args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting /usr/bin/python3 rtsp_server.py");
        let stdout = child.stdout.take().expect("stdout");
        let ready = Arc::new(AtomicBool::new(false));
        let r2 = ready.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.trim() == "READY" {
                    r2.store(true, Ordering::SeqCst);
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ready.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "RTSP server did not start");
            if let Ok(Some(st)) = child.try_wait() {
                panic!("RTSP server exited: {st}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child = Some(child);
    }

    pub fn url(&self, name: &str) -> String {
        format!("rtsp://127.0.0.1:{}/{name}", self.port)
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A one-route HTTP server on loopback answering with `status` and the next of `bodies` (the
/// last one repeats); counts requests.
pub struct HttpServer {
    pub port: u16,
    pub requests: Arc<std::sync::atomic::AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpServer {
    pub fn start(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Self::start_seq(status, content_type, vec![body])
    }

    pub fn start_seq(status: u16, content_type: &str, bodies: Vec<Vec<u8>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (s2, r2) = (stop.clone(), requests.clone());
        let ct = content_type.to_string();
        let thread = std::thread::spawn(move || {
            while !s2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut sock, _)) => {
                        let _ = sock.set_nonblocking(false);
                        let _ = sock.set_read_timeout(Some(Duration::from_secs(2)));
                        read_request(&mut sock);
                        let n = r2.fetch_add(1, Ordering::SeqCst);
                        let body = bodies
                            .get(n.min(bodies.len().saturating_sub(1)))
                            .cloned()
                            .unwrap_or_default();
                        let head = format!(
                            "HTTP/1.1 {status} X\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = sock.write_all(head.as_bytes());
                        let _ = sock.write_all(&body);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        HttpServer {
            port,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }
}

fn read_request(sock: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut b = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match sock.read(&mut b) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&b[..n]),
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A TCP server that accepts connections and never says anything (a hung camera).
pub struct SilentServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SilentServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            while !s2.load(Ordering::SeqCst) {
                if let Ok((sock, _)) = listener.accept() {
                    held.push(sock);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        SilentServer {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// OS threads of this process.
pub fn os_threads() -> usize {
    std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0)
}

/// Waits until the thread count drops to `at_most` (threads exit asynchronously).
pub fn wait_threads_at_most(at_most: usize, timeout: Duration) -> usize {
    let deadline = Instant::now() + timeout;
    loop {
        let n = os_threads();
        if n <= at_most || Instant::now() >= deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Drains a receiver until it closes (or `limit` passes), returning the frames.
pub fn collect_all(rx: &FrameReceiver, limit: Duration) -> Vec<vigil_media::Frame> {
    let deadline = Instant::now() + limit;
    let mut out = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return out;
        }
        match rx.recv_timeout(left) {
            Recv::Frame(f) => out.push(f),
            Recv::Closed | Recv::Timeout => return out,
        }
    }
}

/// An MPEG-TS file whose picture grows from 320x240 to 640x480 after 2 s: two segments made
/// by the ffmpeg CLI and joined byte-wise (TS concatenates), so the decoder sees a new SPS.
pub fn resizing_clip(name: &str) -> PathBuf {
    let a = lavfi_clip(
        &format!("{name}-a.ts"),
        "testsrc=size=320x240:rate=10:duration=2",
        &["-c:v", "libx264", "-pix_fmt", "yuv420p", "-bf", "0"],
    );
    let b = lavfi_clip(
        &format!("{name}-b.ts"),
        "testsrc=size=640x480:rate=10:duration=2",
        &[
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-bf",
            "0",
            "-output_ts_offset",
            "2",
        ],
    );
    let joined = tmp().join(format!("{name}-joined.ts"));
    let mut bytes = std::fs::read(&a).expect("seg a");
    bytes.extend(std::fs::read(&b).expect("seg b"));
    std::fs::write(&joined, bytes).expect("write joined");
    joined
}
