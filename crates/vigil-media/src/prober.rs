//! Source health: open a source, look at a couple of seconds of it, and report its status,
//! stream path, a JPEG snapshot and quality labels. [`Prober`] does that periodically for every
//! registered source with bounded concurrency; the caller supplies the list and receives the
//! reports through [`ProbeTargets`] (the Video Center implements it over the store).
//!
//! Cost is bounded per probe: it stops after `window` of stream time or `max_decoded_frames`
//! decoded pictures, whichever comes first, and pictures the sampler will not take are left
//! undecoded when nothing refers to them. The prober remembers each source's
//! [`SceneReference`] between rounds, so a camera turned away or a scene replaced between two
//! probes is labelled too.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use std::collections::{HashMap, HashSet, VecDeque};

use crate::clock::CancelToken;
use crate::decode::{DecodeOptions, Decoder};
use crate::error::{ErrorKind, MediaError};
use crate::frame::Frame;
use crate::quality::{assess, QualityLabel, QualityThresholds, SceneReference};
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

/// A few of a probe's sampled frames, spread over its window (for callers that look closer,
/// e.g. scene recommendations); shared, not copied.
#[derive(Clone, Default)]
pub struct ProbeSamples(pub Vec<Frame>);

impl std::fmt::Debug for ProbeSamples {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProbeSamples({} frames)", self.0.len())
    }
}

/// The result of one probe.
#[derive(Debug, Clone)]
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
    /// Pictures decoded (bounded by [`ProbeOptions::max_decoded_frames`]).
    pub frames_decoded: usize,
    /// Up to [`ProbeOptions::keep_samples`] sampled frames.
    pub samples: ProbeSamples,
    /// What the next probe of this source compares with (`None`: nothing usable was seen).
    pub reference: Option<SceneReference>,
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
            frames_decoded: 0,
            samples: ProbeSamples::default(),
            reference: None,
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
    /// The probe stops after this many decoded pictures even when the window is not full
    /// (bounds the cost of high frame rates; 2 s at up to 60 fps fit in the default).
    pub max_decoded_frames: usize,
    /// Sampled frames kept in the report ([`ProbeReport::samples`]); 0 keeps none.
    pub keep_samples: usize,
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
            max_decoded_frames: 150,
            keep_samples: 3,
        }
    }
}

/// Probes one source (blocking; run it on a blocking thread) with no memory of earlier probes.
pub fn probe(spec: &SourceSpec, opener: &dyn Opener, opts: &ProbeOptions) -> ProbeReport {
    probe_with(spec, opener, opts, None)
}

/// `keep` frames spread evenly over `frames` (first and last included).
fn spread(frames: &[Frame], keep: usize) -> Vec<Frame> {
    let n = frames.len();
    if keep == 0 || n == 0 {
        return Vec::new();
    }
    if keep >= n {
        return frames.to_vec();
    }
    if keep == 1 {
        return vec![frames[n - 1].clone()];
    }
    (0..keep).map(|i| frames[i * (n - 1) / (keep - 1)].clone()).collect()
}

/// Probes one source, comparing what it sees with `previous`, the reference of the source's
/// last probe (blocking; run it on a blocking thread).
pub fn probe_with(
    spec: &SourceSpec,
    opener: &dyn Opener,
    opts: &ProbeOptions,
    previous: Option<&SceneReference>,
) -> ProbeReport {
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
    while !enough(&frames) && (index as usize) < opts.max_decoded_frames && started.elapsed() < opts.deadline {
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
                // Pictures the sampler will not take need not be decoded when nothing refers
                // to them (the same saving as the task readers').
                let unwanted = match (dec.packet_time(p), dec.frame_step()) {
                    (Some(t), Some(step)) => !sampler.wants(0, t, step, Duration::ZERO),
                    _ => false,
                };
                dec.set_skip_nonref(unwanted);
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
    let assessment = assess(&frames, previous, &opts.thresholds);
    ProbeReport {
        status: SourceStatus::Online,
        stream_path: Some(stream_path),
        snapshot_jpeg: snapshot,
        quality: assessment.labels,
        error: None,
        codec: Some(codec),
        width: last.width(),
        height: last.height(),
        frames_sampled: frames.len(),
        frames_decoded: index as usize,
        samples: ProbeSamples(spread(&frames, opts.keep_samples)),
        reference: assessment.reference,
        probed_at: SystemTime::now(),
    }
}

/// Probes on tokio's blocking pool.
pub async fn probe_async(spec: SourceSpec, opener: Arc<dyn Opener>, opts: ProbeOptions) -> ProbeReport {
    probe_async_with(spec, opener, opts, None).await
}

/// [`probe_with`] on tokio's blocking pool.
pub async fn probe_async_with(
    spec: SourceSpec,
    opener: Arc<dyn Opener>,
    opts: ProbeOptions,
    previous: Option<SceneReference>,
) -> ProbeReport {
    match tokio::task::spawn_blocking(move || probe_with(&spec, &*opener, &opts, previous.as_ref())).await {
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

/// The last [`SceneReference`] of every source, by source id, kept between rounds (and across
/// restarts of a supervised prober: clones share it).
#[derive(Clone, Default)]
pub struct SceneMemory(Arc<std::sync::Mutex<HashMap<String, SceneReference>>>);

impl SceneMemory {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SceneReference>> {
        // A panic while holding it leaves a usable map (entries are replaced whole).
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The reference of a source, if one was seen.
    pub fn get(&self, id: &str) -> Option<SceneReference> {
        self.lock().get(id).cloned()
    }

    /// Replaces a source's reference.
    pub fn set(&self, id: &str, reference: SceneReference) {
        self.lock().insert(id.to_string(), reference);
    }

    /// Forgets the sources not in `ids` (deleted since).
    pub fn retain(&self, ids: &std::collections::HashSet<&str>) {
        self.lock().retain(|k, _| ids.contains(k.as_str()));
    }

    /// Sources remembered.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
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
    /// Each source's last scene reference.
    pub scenes: SceneMemory,
    /// How often, between rounds, the list is checked for sources never probed by this prober
    /// (just registered), which are probed at once instead of after up to `interval`.
    pub new_source_poll: Duration,
}

/// Default pause between two probes of every source. A probe costs about 80 ms of CPU on
/// average over the test clips (240p to 1080p, `scripts/bench_probe.sh`), so 100 sources every
/// 300 s average under 3 % of one core (the target is 5 %); 60 s would be 13 %.
pub const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_secs(300);

/// Default of [`Prober::new_source_poll`].
pub const DEFAULT_NEW_SOURCE_POLL: Duration = Duration::from_secs(10);

impl Default for Prober {
    fn default() -> Self {
        Prober {
            opener: Arc::new(DefaultOpener::default()),
            options: ProbeOptions::default(),
            concurrency: 4,
            interval: DEFAULT_PROBE_INTERVAL,
            scenes: SceneMemory::default(),
            new_source_poll: DEFAULT_NEW_SOURCE_POLL,
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
        self.scenes.retain(&list.iter().map(|t| t.id.as_str()).collect());
        self.probe_list(targets, list).await
    }

    /// Probes the given targets (at most `concurrency` at a time, fairly between projects).
    async fn probe_list<T: ProbeTargets>(&self, targets: &Arc<T>, list: Vec<ProbeTarget>) -> usize {
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
                let (scenes, previous) = (self.scenes.clone(), self.scenes.get(&target.id));
                set.spawn(async move {
                    let r = probe_async_with(target.spec, opener, opts, previous).await;
                    // A probe that saw nothing usable (offline, black) keeps the last view, so
                    // the camera is compared with it when the picture comes back.
                    if let Some(reference) = &r.reference {
                        scenes.set(&target.id, reference.clone());
                    }
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
            let list = targets.targets().await;
            let mut known: HashSet<String> = list.iter().map(|t| t.id.clone()).collect();
            self.scenes.retain(&list.iter().map(|t| t.id.as_str()).collect());
            tokio::select! {
                _ = &mut shutdown => return,
                _ = self.probe_list(&targets, list) => {}
            }
            // Between rounds, sources registered meanwhile get their first probe within
            // `new_source_poll`, so a new camera shows its status and snapshot at once.
            let next_round = tokio::time::Instant::now() + self.interval;
            loop {
                let now = tokio::time::Instant::now();
                if now >= next_round {
                    break;
                }
                let pause = self
                    .new_source_poll
                    .max(Duration::from_millis(100))
                    .min(next_round - now);
                tokio::select! {
                    _ = &mut shutdown => return,
                    _ = tokio::time::sleep(pause) => {}
                }
                if tokio::time::Instant::now() >= next_round {
                    break;
                }
                let fresh: Vec<ProbeTarget> = targets
                    .targets()
                    .await
                    .into_iter()
                    .filter(|t| !known.contains(&t.id))
                    .collect();
                if fresh.is_empty() {
                    continue;
                }
                known.extend(fresh.iter().map(|t| t.id.clone()));
                tokio::select! {
                    _ = &mut shutdown => return,
                    _ = self.probe_list(&targets, fresh) => {}
                }
            }
        }
    }
}
