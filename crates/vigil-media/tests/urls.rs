//! Network URLs through libavformat: HTTP (a file served by a local web server) and RTMP (an
//! ffmpeg RTMP listener on loopback).

mod common;

use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use vigil_media::*;

fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "port {port} never opened");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn http_url_decodes_every_frame() {
    let clip = pedestrians_faststart();
    let dir = clip.parent().expect("dir").to_path_buf();
    let port = free_port();
    let _server = Proc(
        Command::new("/usr/bin/python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python http.server"),
    );
    wait_port(port);
    let url = format!("http://127.0.0.1:{port}/faststart.mp4");
    let reader = StreamReader::start(SourceSpec::url(url.clone()), ReaderConfig::default()).expect("start");
    let rx = reader.subscribe(SubscriberConfig::default());
    let frames = collect_all(&rx, Duration::from_secs(60));
    assert_eq!(frames.len(), 795);
    assert_eq!(frames[794].media_time(), Duration::from_millis(79_400));
    assert_eq!(
        reader.wait_status(Duration::from_secs(5), |s| matches!(s, StreamStatus::Ended(_))),
        Some(StreamStatus::Ended(None))
    );
    assert_eq!(reader.stream_path(), Some(url));

    let missing = format!("http://127.0.0.1:{port}/nothing.mp4");
    let err = DefaultOpener::default()
        .open(&SourceSpec::url(missing), &CancelToken::new())
        .err()
        .expect("404");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[test]
fn rtmp_url_is_a_live_source() {
    let bikes = media("street_bikes.mp4");
    let port = free_port();
    let url = format!("rtmp://127.0.0.1:{port}/live/cam");
    let _server = Proc(
        Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-i"])
            .arg(&bikes)
            .args(["-c", "copy", "-an", "-f", "flv", "-listen", "1", &url])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ffmpeg rtmp listener"),
    );
    // No port probe here: the listener serves exactly one client. If it is not up yet, the
    // reader's first attempt fails and the retry loop connects.
    let reader = StreamReader::start(SourceSpec::url(url), ReaderConfig::default()).expect("start");
    let rx = reader.subscribe(SubscriberConfig {
        capacity: 300,
        fps: None,
    });
    let mut frames = Vec::new();
    while frames.len() < 250 {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Recv::Frame(f) if f.session() == 0 => frames.push(f),
            _ => break,
        }
    }
    assert_eq!(frames.len(), 250);
    for (i, f) in frames.iter().enumerate() {
        assert_eq!((f.width(), f.height()), (640, 272));
        assert_eq!(f.media_time(), Duration::from_millis(40 * i as u64), "frame {i}");
        assert!(f.wall_time().is_some(), "RTMP is live");
    }
    // The publisher is gone after the clip: the live source goes offline, not "ended".
    let st = reader.wait_status(Duration::from_secs(15), |s| matches!(s, StreamStatus::Offline(_)));
    assert!(matches!(st, Some(StreamStatus::Offline(_))), "{st:?}");
}
