//! Files through libavformat + libavcodec, on the real test videos and generated clips.

mod common;

use std::time::{Duration, Instant};

use common::*;
use vigil_media::*;

fn read_file(spec: SourceSpec, cfg: ReaderConfig, sub: SubscriberConfig) -> (Vec<Frame>, ReaderStats, StreamStatus) {
    let reader = StreamReader::start(spec, cfg).expect("start reader");
    let rx = reader.subscribe(sub);
    let frames = collect_all(&rx, Duration::from_secs(60));
    let status = reader
        .wait_status(Duration::from_secs(5), |s| matches!(s, StreamStatus::Ended(_)))
        .unwrap_or_else(|| reader.status());
    let stats = reader.stats();
    (frames, stats, status)
}

fn assert_timeline(frames: &[Frame], count: usize, step: Duration, w: u32, h: u32) {
    assert_cadence(frames, count, step, (w, h), Duration::from_millis(2));
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.index(), i as u64);
        assert!(f.wall_time().is_none(), "files carry media time only");
    }
    assert!(frames[0].is_key());
}

#[test]
fn pedestrians_mp4_mkv_avi_decode_every_frame_with_timestamps() {
    let _s = serial();
    for path in [pedestrians(), pedestrians_as("mkv"), pedestrians_as("avi")] {
        let (frames, stats, status) = read_file(
            SourceSpec::url(path.to_str().expect("utf8")),
            ReaderConfig::default(),
            SubscriberConfig { capacity: 4, fps: None },
        );
        assert_eq!(status, StreamStatus::Ended(None), "{}", path.display());
        assert_timeline(&frames, 795, Duration::from_millis(100), 768, 576);
        assert_eq!(stats.decoded, 795);
        assert_eq!(stats.dropped, 0, "files are never dropped");
        // A real picture, not a blank buffer.
        let mean: f64 = frames[400].luma_rows().flatten().map(|&v| v as f64).sum::<f64>() / (768.0 * 576.0);
        assert!(mean > 40.0 && mean < 220.0, "mean luma {mean}");
    }
}

#[test]
fn street_bikes_by_file_url() {
    let _s = serial();
    let url = format!("file://{}", media("street_bikes.mp4").display());
    let (frames, _, status) = read_file(
        SourceSpec::url(url),
        ReaderConfig::default(),
        SubscriberConfig::default(),
    );
    assert_eq!(status, StreamStatus::Ended(None));
    assert_timeline(&frames, 250, Duration::from_millis(40), 640, 272);
}

#[test]
fn h265_mpeg4_mjpeg_wmv_mpeg_containers_decode() {
    let _s = serial();
    let src = "testsrc=size=320x240:rate=10:duration=3";
    let clips = [
        (
            "t265.mkv",
            vec![
                "-c:v",
                "libx265",
                "-x265-params",
                "log-level=error",
                "-pix_fmt",
                "yuv420p",
            ],
        ),
        ("tmp4v.avi", vec!["-c:v", "mpeg4"]),
        ("tmjpeg.avi", vec!["-c:v", "mjpeg", "-pix_fmt", "yuvj422p"]),
        ("twmv.wmv", vec!["-c:v", "wmv2"]),
        ("tmpeg.mpg", vec!["-c:v", "mpeg2video"]),
        ("tmov.mov", vec!["-c:v", "libx264", "-pix_fmt", "yuv420p"]),
        ("tm4v.m4v", vec!["-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mp4"]),
    ];
    let clips = clips
        .into_iter()
        .map(|(name, args)| (name, lavfi_clip(name, src, &args)))
        .chain([("t265.mp4", h265_clip())]);
    for (name, path) in clips {
        let (frames, _, status) = read_file(
            SourceSpec::url(path.to_str().expect("utf8")),
            ReaderConfig::default(),
            SubscriberConfig::default(),
        );
        assert_eq!(status, StreamStatus::Ended(None), "{name}");
        assert_eq!(frames.len(), 30, "{name}");
        assert_eq!((frames[0].width(), frames[0].height()), (320, 240), "{name}");
        // Monotonic, 100 ms apart (MPEG-PS may start at an offset; we count from the first).
        for (i, w) in frames.windows(2).enumerate() {
            let d = w[1].media_time().saturating_sub(w[0].media_time());
            assert!(
                d >= Duration::from_millis(98) && d <= Duration::from_millis(102),
                "{name} frame {i}: {d:?}"
            );
        }
    }
}

#[test]
fn keyframes_only_decodes_ten_times_fewer_frames_at_gop_50() {
    let _s = serial();
    let path = lavfi_clip(
        "gop50.mp4",
        "testsrc2=size=640x360:rate=25:duration=10",
        &[
            "-c:v",
            "libx264",
            "-profile:v",
            "high",
            "-g",
            "50",
            "-keyint_min",
            "50",
            "-sc_threshold",
            "0",
            "-bf",
            "2",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let spec = SourceSpec::url(path.to_str().expect("utf8"));
    let (all, all_stats, _) = read_file(spec.clone(), ReaderConfig::default(), SubscriberConfig::default());
    let mut cfg = ReaderConfig::default();
    cfg.decode.keyframes_only = true;
    let (keys, key_stats, status) = read_file(spec, cfg, SubscriberConfig::default());
    assert_eq!(status, StreamStatus::Ended(None));
    assert_eq!(all.len(), 250);
    assert_eq!(all_stats.decoded, 250);
    assert_eq!(key_stats.decoded, 5, "one key frame per 50");
    assert!(all_stats.decoded >= 10 * key_stats.decoded);
    for (i, f) in keys.iter().enumerate() {
        assert!(f.is_key());
        assert_eq!(f.media_time(), Duration::from_secs(2 * i as u64), "key frame {i}");
    }
}

#[test]
fn sampler_rate_and_zero_copy_fan_out() {
    let _s = serial();
    let reader = StreamReader::start(
        SourceSpec::url(pedestrians().to_str().expect("utf8")),
        ReaderConfig::default(),
    )
    .expect("start");
    let every = reader.subscribe(SubscriberConfig { capacity: 4, fps: None });
    let two_fps = reader.subscribe(SubscriberConfig {
        capacity: 4,
        fps: Some(2.0),
    });
    let t = std::thread::spawn(move || collect_all(&two_fps, Duration::from_secs(60)));
    let all = collect_all(&every, Duration::from_secs(60));
    let sampled = t.join().expect("join");
    assert_eq!(all.len(), 795);
    // 0.0, 0.5, … 79.0 s, each within one picture of its time (a reference picture one picture
    // early stands in for a non-reference one); the last picture (79.4 s) may stand in for 79.5.
    assert!((159..=160).contains(&sampled.len()), "{} samples", sampled.len());
    for (i, f) in sampled.iter().enumerate() {
        assert!(
            f.index().abs_diff(5 * i as u64) <= 1,
            "sample {i}: picture {}",
            f.index()
        );
        // Same picture memory as the other consumer's frame: shared, not copied.
        let other = &all[f.index() as usize];
        assert_eq!(f.plane(0).as_ptr(), other.plane(0).as_ptr());
    }
}

#[test]
fn real_time_pace_replays_a_file_like_a_camera() {
    let _s = serial();
    let path = lavfi_clip(
        "pace.mp4",
        "testsrc=size=160x120:rate=10:duration=2",
        &["-c:v", "libx264", "-pix_fmt", "yuv420p"],
    );
    let spec = SourceSpec::url(path.to_str().expect("utf8"));
    let start = Instant::now();
    let (fast, _, _) = read_file(spec.clone(), ReaderConfig::default(), SubscriberConfig::default());
    let fast_time = start.elapsed();
    let start = Instant::now();
    let cfg = ReaderConfig {
        pace: Pace::RealTime,
        ..ReaderConfig::default()
    };
    let (paced, _, _) = read_file(spec, cfg, SubscriberConfig::default());
    let paced_time = start.elapsed();
    assert_eq!(fast.len(), 20);
    assert_eq!(paced.len(), 20);
    // 20 frames at 10 fps: the last one is due 1.9 s after the first.
    assert!(paced_time >= Duration::from_millis(1850), "{paced_time:?}");
    assert!(fast_time < Duration::from_millis(1500), "{fast_time:?}");
}

/// Reads object `videos/cams/street.mp4` (the street clip) through `backend` to the end; returns
/// the opener for further checks.
fn read_street_from_obs(backend: ObsBackend) -> DefaultOpener {
    let opener = DefaultOpener::new(MediaConfig {
        obs: backend,
        ..MediaConfig::default()
    });
    let deps = ReaderDeps {
        opener: std::sync::Arc::new(opener.clone()),
        ..ReaderDeps::default()
    };
    let spec = SourceSpec::Obs {
        project: "proja".into(),
        bucket: "videos".into(),
        path: "cams/street.mp4".into(),
    };
    let reader = StreamReader::start_with(spec, ReaderConfig::default(), deps).expect("start");
    let rx = reader.subscribe(SubscriberConfig::default());
    let frames = collect_all(&rx, Duration::from_secs(60));
    assert_eq!(frames.len(), 250);
    assert_eq!(reader.stream_path().as_deref(), Some("obs://videos/cams/street.mp4"));
    opener
}

#[test]
fn obs_objects_from_local_root() {
    let _s = serial();
    let root = tmp().join("obs-root");
    // Objects live under their project's prefix.
    std::fs::create_dir_all(root.join("videos/proja/cams")).expect("mkdir");
    let link = root.join("videos/proja/cams/street.mp4");
    if !link.exists() {
        std::os::unix::fs::symlink(media("street_bikes.mp4"), &link).expect("symlink");
    }
    let opener = read_street_from_obs(ObsBackend::Local { root: root.clone() });

    let cancel = CancelToken::new();
    let missing = SourceSpec::Obs {
        project: "proja".into(),
        bucket: "videos".into(),
        path: "cams/none.mp4".into(),
    };
    let err = opener.open(&missing, &cancel).err().expect("missing object fails");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    // Another project does not see project a's object, not even through `..`.
    let other = SourceSpec::Obs {
        project: "projb".into(),
        bucket: "videos".into(),
        path: "cams/street.mp4".into(),
    };
    let err = opener.open(&other, &cancel).err().expect("other project's object");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    for path in [
        "../../etc/passwd",
        "../proja/cams/street.mp4",
        "cams/../../proja/cams/street.mp4",
    ] {
        let traversal = SourceSpec::Obs {
            project: "projb".into(),
            bucket: "videos".into(),
            path: path.into(),
        };
        let err = opener.open(&traversal, &cancel).err().expect("traversal fails");
        assert_eq!(err.kind(), ErrorKind::InvalidSource, "{path}: {err}");
    }
    let bad_bucket = SourceSpec::Obs {
        project: "proja".into(),
        bucket: "../x".into(),
        path: "a.mp4".into(),
    };
    assert_eq!(
        opener.open(&bad_bucket, &cancel).err().map(|e| e.kind()),
        Some(ErrorKind::InvalidSource)
    );
}

#[test]
fn obs_objects_from_an_s3_endpoint() {
    let _s = serial();
    let s3 = common::s3_server::S3Server::start();
    s3.create_bucket("videos");
    s3.put_object(
        "videos",
        "proja/cams/street.mp4",
        &std::fs::read(media("street_bikes.mp4")).expect("read clip"),
    );
    // Streamed by libavformat from a presigned URL: every frame, nothing copied to disk.
    let opener = read_street_from_obs(ObsBackend::S3(s3.endpoint()));

    let cancel = CancelToken::new();
    for (bucket, path) in [("videos", "cams/none.mp4"), ("no-such-bucket", "cams/street.mp4")] {
        let missing = SourceSpec::Obs {
            project: "proja".into(),
            bucket: bucket.into(),
            path: path.into(),
        };
        let err = opener.open(&missing, &cancel).err().expect("missing object fails");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{bucket}/{path}: {err}");
    }
    // Project b's key is projb/cams/street.mp4: project a's object stays out of reach.
    let other = SourceSpec::Obs {
        project: "projb".into(),
        bucket: "videos".into(),
        path: "cams/street.mp4".into(),
    };
    let err = opener.open(&other, &cancel).err().expect("other project's object");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");

    drop(s3);
    let started = Instant::now();
    let street = SourceSpec::Obs {
        project: "proja".into(),
        bucket: "videos".into(),
        path: "cams/street.mp4".into(),
    };
    let err = opener.open(&street, &cancel).err().expect("endpoint gone");
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
    assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
}

#[test]
fn resolution_change_mid_stream_keeps_decoding() {
    let _s = serial();
    // Two MPEG-TS segments (TS concatenates byte-wise) with different sizes: the decoder
    // reinitialises on the new SPS and frames take the new size.
    let joined = resizing_clip("seg");
    let (frames, _, status) = read_file(
        SourceSpec::url(joined.to_str().expect("utf8")),
        ReaderConfig::default(),
        SubscriberConfig::default(),
    );
    assert_eq!(status, StreamStatus::Ended(None));
    assert_eq!(frames.len(), 40);
    assert!(frames[..20].iter().all(|f| (f.width(), f.height()) == (320, 240)));
    assert!(frames[20..].iter().all(|f| (f.width(), f.height()) == (640, 480)));
    assert_eq!(frames[39].media_time(), Duration::from_millis(3900));
}

#[test]
fn rgb_conversion_of_real_frames() {
    let _s = serial();
    let reader = StreamReader::start(
        SourceSpec::url(media("street_bikes.mp4").to_str().expect("utf8")),
        ReaderConfig::default(),
    )
    .expect("start");
    let rx = reader.subscribe(SubscriberConfig {
        capacity: 4,
        fps: Some(5.0),
    });
    let frames = collect_all(&rx, Duration::from_secs(30));
    // 10 s at 5 fps, and the last picture may stand in for the sample due at 10 s.
    assert!((50..=51).contains(&frames.len()), "{} frames", frames.len());
    let mut conv = RgbConverter::default();
    for f in frames.iter().take(5) {
        let rgb = f.to_rgb24().expect("rgb");
        assert_eq!(rgb.len(), 640 * 272 * 3);
        assert_eq!(conv.convert(f, 640, 272).expect("rgb"), rgb, "same as the one-off path");
        let small = conv.convert(f, 320, 136).expect("resized");
        assert_eq!(small.len(), 320 * 136 * 3);
        // Luma from RGB agrees with the decoder's Y plane (BT.601, limited range) on average.
        let mean_rgb_y = rgb
            .chunks(3)
            .map(|p| 16.0 + (65.481 * p[0] as f64 + 128.553 * p[1] as f64 + 24.966 * p[2] as f64) / 255.0)
            .sum::<f64>()
            / (640.0 * 272.0);
        let mean_y = f.luma_rows().flatten().map(|&v| v as f64).sum::<f64>() / (640.0 * 272.0);
        assert!((mean_rgb_y - mean_y).abs() < 3.0, "{mean_rgb_y} vs {mean_y}");
    }
}

/// Reference pictures no subscriber samples are decoded without their deblocking filter: the
/// sampled pictures are the same ones at the same times, and differ from a full decode only by
/// faint block edges inherited from the unfiltered references.
#[test]
fn unsampled_references_skip_deblocking_and_sampled_pictures_stay_close() {
    let _s = serial();
    let run = |skip: bool| {
        let cfg = ReaderConfig {
            decode: DecodeOptions {
                skip_unsampled_deblocking: skip,
                ..DecodeOptions::default()
            },
            ..ReaderConfig::default()
        };
        let sub = SubscriberConfig {
            capacity: 4,
            fps: Some(2.0),
        };
        read_file(SourceSpec::url(pedestrians().to_str().expect("utf8")), cfg, sub).0
    };
    let (full, fast) = (run(false), run(true));
    assert_eq!(full.len(), fast.len());
    assert!(full.len() >= 150, "{} sampled pictures", full.len());
    let (mut sum, mut changed, mut worst) = (0u64, 0usize, 0f64);
    for (a, b) in full.iter().zip(&fast) {
        assert_eq!(a.media_time(), b.media_time());
        let diff: u64 = a
            .luma_rows()
            .flatten()
            .zip(b.luma_rows().flatten())
            .map(|(x, y)| u64::from(x.abs_diff(*y)))
            .sum();
        let mean = diff as f64 / f64::from(a.width() * a.height());
        changed += usize::from(diff > 0);
        worst = worst.max(mean);
        sum += diff;
    }
    let mean = sum as f64 / (full.len() as f64 * 768.0 * 576.0);
    eprintln!(
        "{changed} of {} sampled pictures differ; mean |Δluma| {mean:.3}, worst picture {worst:.3}",
        full.len()
    );
    assert!(
        changed > full.len() / 4,
        "the filter was skipped on the references: {changed} differ"
    );
    assert!(mean < 1.0 && worst < 3.0, "faint: mean {mean:.3}, worst {worst:.3}");
}

/// Sampling 5 of 25 fps on x264's B-pyramid (P every 4th picture, a reference B between, the
/// benchmark input's structure; MP4 and MPEG-TS, i.e. length-prefixed and Annex B packets): each
/// sample is a reference picture within one picture of the 5 fps grid, so no non-reference
/// picture is decoded at all; with every picture sampled, every picture is decoded; with
/// `sample_reference_pictures` off, the samples are the pictures at the due times.
#[test]
fn sampling_takes_reference_pictures_within_one_picture_of_the_grid() {
    let _s = serial();
    let pedestrians = pedestrians();
    let src = pedestrians.to_str().expect("utf8");
    let filter = "setpts=N/(25*TB),scale=384:288";
    let x264 = [
        "-r", "25", "-c:v", "libx264", "-preset", "medium", "-g", "50", "-bf", "3", "-an", "-t", "8",
    ];
    let mut mp4 = vec!["-i", src, "-vf", filter];
    mp4.extend_from_slice(&x264);
    let mut ts = mp4.clone();
    ts.extend_from_slice(&["-f", "mpegts"]);
    for clip in [ffmpeg_gen("pyramid25.mp4", &mp4), ffmpeg_gen("pyramid25.ts", &ts)] {
        let spec = || SourceSpec::url(clip.to_str().expect("utf8"));
        let (all, all_stats, _) = read_file(
            spec(),
            ReaderConfig::default(),
            SubscriberConfig { capacity: 4, fps: None },
        );
        assert_eq!(all.len(), 200, "{}", clip.display());
        assert_eq!(all_stats.decoded, 200);
        let references = all.iter().filter(|f| f.reference() == Some(true)).count();
        let unknown: Vec<u64> = all
            .iter()
            .filter(|f| f.reference().is_none())
            .map(|f| f.index())
            .collect();
        assert!(unknown.is_empty(), "every picture's kind is known: {unknown:?}");
        assert!(
            (90..=110).contains(&references),
            "{references} reference pictures of 200"
        );

        let (sampled, stats, _) = read_file(
            spec(),
            ReaderConfig::default(),
            SubscriberConfig {
                capacity: 4,
                fps: Some(5.0),
            },
        );
        // 40 due times in 8 s, and the last picture (7.96 s) may stand in for the 41st (8.0 s).
        assert!(
            (40..=41).contains(&sampled.len()),
            "{} samples from {}",
            sampled.len(),
            clip.display()
        );
        for (k, f) in sampled.iter().enumerate() {
            let grid = Duration::from_millis(200 * k as u64);
            let off = f.media_time().abs_diff(grid);
            assert!(off <= Duration::from_millis(41), "sample {k} at {:?}", f.media_time());
            assert_eq!(f.reference(), Some(true), "sample {k} at {:?}", f.media_time());
        }
        eprintln!(
            "{}: {} of 200 pictures decoded for 40 samples, {references} reference pictures",
            clip.display(),
            stats.decoded
        );
        assert!(
            stats.decoded as usize <= references + 2,
            "{} decoded, {references} references",
            stats.decoded
        );

        // `sample_reference_pictures` off: the pictures at the due times, whatever their kind.
        let exact = ReaderConfig {
            decode: DecodeOptions {
                sample_reference_pictures: false,
                ..DecodeOptions::default()
            },
            ..ReaderConfig::default()
        };
        let sub = SubscriberConfig {
            capacity: 4,
            fps: Some(5.0),
        };
        let (at_due, exact_stats, _) = read_file(spec(), exact, sub);
        assert_eq!(at_due.len(), 40);
        for (k, f) in at_due.iter().enumerate() {
            assert_eq!(f.media_time(), Duration::from_millis(200 * k as u64), "sample {k}");
        }
        assert!(at_due.iter().any(|f| f.reference() == Some(false)));
        eprintln!("exact sample times: {} of 200 decoded", exact_stats.decoded);
        assert!(
            exact_stats.decoded > stats.decoded + 10,
            "{} vs {}",
            exact_stats.decoded,
            stats.decoded
        );
    }
}
