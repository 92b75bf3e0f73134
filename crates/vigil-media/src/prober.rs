//! Source health: open a source, look at a couple of seconds of it, and report its status,
//! stream path, a JPEG snapshot and quality labels. [`Prober`] does that periodically for every
//! registered source with bounded concurrency; the caller supplies the list and receives the
//! reports through [`ProbeTargets`] (the Video Center implements it over the store).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use std::collections::{HashMap, VecDeque};

use crate::clock::CancelToken;
use crate::decode::{DecodeOptions, Decoder};
use crate::error::{ErrorKind, MediaError};
use crate::frame::Frame;
use crate::quality::{assess, QualityLabel, QualityThresholds};
use crate::sampler::Sampler;
use crate::snapshot::{encode_jpeg_fit, to_base64};
use crate::source::{DefaultOpener, Opener};
use crate::spec::SourceSpec;

/// VIAS video source `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceStatus {
    Online,
    Offline,
    Abnormal,
}

impl SourceStatus {
    /// The VIAS code: 1 online, 2 offline, 9 abnormal.
    pub fn code(self) -> i32 {
        match self {
            SourceStatus::Online => 1,
            SourceStatus::Offline => 2,
            SourceStatus::Abnormal => 9,
        }
    }

    /// Offline for transient (network) errors, abnormal for the rest.
    pub fn from_error(e: &MediaError) -> Self {
        if e.kind().is_transient() {
            SourceStatus::Offline
        } else {
            SourceStatus::Abnormal
        }
    }
}

/// The result of one probe.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeReport {
    pub status: SourceStatus,
    /// The address actually opened, without credentials (RESTful: the resolved address).
    pub stream_path: Option<String>,
    /// The last sampled frame as JPEG.
    pub snapshot_jpeg: Option<Vec<u8>>,
    pub quality: Vec<QualityLabel>,
    /// Why the source is not online.
    pub error: Option<MediaError>,
    pub codec: Option<String>,
    pub width: u32,
    pub height: u32,
    /// Frames looked at for the quality labels.
    pub frames_sampled: usize,
    pub probed_at: SystemTime,
}

impl ProbeReport {
    /// VIAS `image`: the snapshot as base64 JPEG.
    pub fn image_base64(&self) -> Option<String> {
        self.snapshot_jpeg.as_deref().map(to_base64)
    }

    fn failed(e: MediaError) -> Self {
        ProbeReport {
            status: SourceStatus::from_error(&e),
            stream_path: None,
            snapshot_jpeg: None,
            quality: Vec::new(),
            error: Some(e),
            codec: None,
            width: 0,
            height: 0,
            frames_sampled: 0,
            probed_at: SystemTime::now(),
        }
    }
}

/// How long and how closely a probe looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeOptions {
    /// Stream time to look at (freeze detection needs ≥ `thresholds.freeze_min_span_secs`).
    pub window: Duration,
    /// Frames per second of stream time sampled for the statistics.
    pub sample_fps: f64,
    /// Wall-clock limit for the whole probe (opening included).
    pub deadline: Duration,
    /// JPEG qscale (2 best … 31 worst).
    pub jpeg_quality: u8,
    /// Longest side of the stored snapshot; larger pictures are scaled down.
    pub snapshot_max_side: u32,
    pub thresholds: QualityThresholds,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            window: Duration::from_secs(2),
            sample_fps: 5.0,
            deadline: Duration::from_secs(20),
            jpeg_quality: 5,
            snapshot_max_side: 1280,
            thresholds: QualityThresholds::default(),
        }
    }
}

/// Probes one source (blocking; run it on a blocking thread).
pub fn probe(spec: &SourceSpec, opener: &dyn Opener, opts: &ProbeOptions) -> ProbeReport {
    let started = Instant::now();
    let cancel = CancelToken::new();
    let mut src = match opener.open(spec, &cancel) {
        Ok(s) => s,
        Err(e) => return ProbeReport::failed(e),
    };
    let info = src.info();
    let stream_path = info.stream_path.clone();
    let codec = info.codec_name();
    let report = |e: MediaError| {
        let mut r = ProbeReport::failed(e);
        r.stream_path = Some(stream_path.clone());
        r.codec = Some(codec.clone());
        r
    };
    let max_size = Some(info.max_size);
    let mut dec = match Decoder::with_limit(&info.params, info.time_base, DecodeOptions::default(), max_size) {
        Ok(d) => d,
        Err(e) => return report(e),
    };
    let mut sampler = Sampler::new(Some(opts.sample_fps));
    let mut frames: Vec<Frame> = Vec::new();
    let mut index = 0u64;
    let mut eof = false;
    let mut last_err = None;
    let enough = |frames: &Vec<Frame>| {
        frames.len() >= 2
            && frames[frames.len() - 1]
                .media_time()
                .saturating_sub(frames[0].media_time())
                >= opts.window
    };
    while !enough(&frames) && started.elapsed() < opts.deadline {
        let pkt = match src.read() {
            Ok(Some(p)) => Some(p),
            Ok(None) => None,
            Err(e) => {
                last_err = Some(e);
                break;
            }
        };
        match &pkt {
            Some(p) => {
                if let Some(np) = &p.new_params {
                    match Decoder::with_limit(np, src.info().time_base, DecodeOptions::default(), max_size) {
                        Ok(d) => dec = dec.replace_with(d),
                        Err(e) => return report(e),
                    }
                }
                if let Err(e) = dec.send(p) {
                    last_err = Some(e);
                    break;
                }
            }
            None => {
                dec.send_eof();
                eof = true;
            }
        }
        loop {
            match dec.receive(index, 0) {
                Ok(Some(f)) => {
                    index += 1;
                    if sampler.accept(0, f.media_time()) {
                        frames.push(f);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    last_err = Some(e);
                    break;
                }
            }
        }
        if eof || last_err.is_some() {
            break;
        }
    }
    drop(src);
    let Some(last) = frames.last() else {
        return report(
            last_err.unwrap_or_else(|| MediaError::new(ErrorKind::CorruptData, "no frame could be decoded")),
        );
    };
    let snapshot = encode_jpeg_fit(last, opts.jpeg_quality, opts.snapshot_max_side).ok();
    ProbeReport {
        status: SourceStatus::Online,
        stream_path: Some(stream_path),
        snapshot_jpeg: snapshot,
        quality: assess(&frames, &opts.thresholds),
        error: None,
        codec: Some(codec),
        width: last.width(),
        height: last.height(),
        frames_sampled: frames.len(),
        probed_at: SystemTime::now(),
    }
}

/// Probes on tokio's blocking pool.
pub async fn probe_async(spec: SourceSpec, opener: Arc<dyn Opener>, opts: ProbeOptions) -> ProbeReport {
    match tokio::task::spawn_blocking(move || probe(&spec, &*opener, &opts)).await {
        Ok(r) => r,
        Err(e) => ProbeReport::failed(MediaError::new(ErrorKind::Internal, format!("probe task failed: {e}"))),
    }
}

/// One source to probe: its id, the project it belongs to (probe slots are shared fairly
/// between projects) and what to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    pub id: String,
    pub project: String,
    pub spec: SourceSpec,
}

/// The sources to probe and where the results go. The Video Center implements this over
/// its store.
pub trait ProbeTargets: Send + Sync + 'static {
    /// The sources to probe now.
    fn targets(&self) -> impl Future<Output = Vec<ProbeTarget>> + Send;
    /// One probe's result.
    fn report(&self, id: String, report: ProbeReport) -> impl Future<Output = ()> + Send;
}

/// Periodic prober with bounded concurrency, shared fairly between projects.
#[derive(Clone)]
pub struct Prober {
    pub opener: Arc<dyn Opener>,
    pub options: ProbeOptions,
    /// Probes running at the same time.
    pub concurrency: usize,
    /// Pause between rounds.
    pub interval: Duration,
}

impl Default for Prober {
    fn default() -> Self {
        Prober {
            opener: Arc::new(DefaultOpener::default()),
            options: ProbeOptions::default(),
            concurrency: 4,
            interval: Duration::from_secs(60),
        }
    }
}

/// Which project gets the next free probe slot: among projects with sources still waiting,
/// the one with the fewest probes running, ties broken round-robin (after `last`). A project
/// with many dead cameras (each probe waiting for its timeout) thus holds at most its fair
/// share of the slots while others have work, and uses them all when alone.
fn next_project(
    waiting: &[(String, VecDeque<ProbeTarget>)],
    running: &HashMap<String, usize>,
    last: usize,
) -> Option<usize> {
    let n = waiting.len();
    (1..=n)
        .map(|k| (last + k) % n)
        .filter(|&i| !waiting[i].1.is_empty())
        .min_by_key(|&i| running.get(&waiting[i].0).copied().unwrap_or(0))
}

impl Prober {
    /// Probes every target once (at most `concurrency` at a time, fairly between projects) and
    /// reports each result as it comes. Returns the number of sources probed.
    pub async fn run_once<T: ProbeTargets>(&self, targets: &Arc<T>) -> usize {
        let list = targets.targets().await;
        let n = list.len();
        let mut waiting: Vec<(String, VecDeque<ProbeTarget>)> = Vec::new();
        for t in list {
            match waiting.iter_mut().find(|(p, _)| *p == t.project) {
                Some((_, q)) => q.push_back(t),
                None => waiting.push((t.project.clone(), VecDeque::from([t]))),
            }
        }
        let mut running: HashMap<String, usize> = HashMap::new();
        let mut set = tokio::task::JoinSet::new();
        let mut last = waiting.len().saturating_sub(1);
        loop {
            while set.len() < self.concurrency.max(1) {
                let Some(i) = next_project(&waiting, &running, last) else {
                    break;
                };
                last = i;
                let Some(target) = waiting[i].1.pop_front() else {
                    break;
                };
                *running.entry(target.project.clone()).or_default() += 1;
                let (opener, opts, t) = (self.opener.clone(), self.options, targets.clone());
                set.spawn(async move {
                    let r = probe_async(target.spec, opener, opts).await;
                    t.report(target.id, r).await;
                    target.project
                });
            }
            match set.join_next().await {
                Some(Ok(project)) => {
                    if let Some(c) = running.get_mut(&project) {
                        *c = c.saturating_sub(1);
                    }
                }
                // A probe task panicked: its slot is free again, its project unknown; the
                // counts only steer fairness, so carry on.
                Some(Err(e)) => tracing::warn!(error = %e, "probe task failed"),
                None => break,
            }
        }
        n
    }

    /// Probes every `interval` until `shutdown` completes.
    pub async fn run<T: ProbeTargets>(&self, targets: Arc<T>, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = self.run_once(&targets) => {}
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(self.interval) => {}
            }
        }
    }
}
