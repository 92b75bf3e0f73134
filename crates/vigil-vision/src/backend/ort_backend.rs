//! ONNX Runtime backend (`ort` with `load-dynamic`). The shared library is the one shipped in
//! the `onnxruntime` PyPI wheel, extracted by `scripts/setup.sh` into `.vigil/onnxruntime/`.
//!
//! `Session::run` needs `&mut`, so one session serves one call at a time. An [`OrtSession`] is a
//! small pool: a call takes an idle session, and when all are busy a new one is loaded, up to
//! [`max_concurrent_runs`] (the cores), so streams on different threads infer in parallel
//! instead of queueing on one lock. Intra-op threads never spin (idle CPU stays idle).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};

use ort::session::Session;
use ort::value::Tensor as OrtTensor;

use super::{BackendConfig, BackendKind, InferenceSession, Output, Tensor, TensorData};
use crate::error::{Result, VisionError};

static INIT: OnceLock<std::result::Result<(PathBuf, ort::environment::Environment), String>> = OnceLock::new();

fn lib_in_dir(dir: &Path) -> Option<PathBuf> {
    let rd = std::fs::read_dir(dir).ok()?;
    let mut found: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with("libonnxruntime.so")
                    || n == "onnxruntime.dll"
                    || n.starts_with("libonnxruntime") && n.ends_with(".dylib")
            })
        })
        .collect();
    found.sort();
    found.pop()
}

/// Finds `libonnxruntime`: the explicit path (file or directory), then `VIGIL_ORT_LIB`,
/// `ORT_DYLIB_PATH`, then `.vigil/onnxruntime/` in the working directory, the executable's
/// directory, or any of their ancestors. Returns the candidates tried on failure.
pub fn locate_library(explicit: Option<&Path>) -> std::result::Result<PathBuf, String> {
    let mut tried = Vec::new();
    let check = |p: PathBuf, tried: &mut Vec<String>| -> Option<PathBuf> {
        if p.is_file() {
            return Some(p);
        }
        if p.is_dir() {
            if let Some(f) = lib_in_dir(&p) {
                return Some(f);
            }
        }
        tried.push(p.display().to_string());
        None
    };
    if let Some(p) = explicit {
        return check(p.to_path_buf(), &mut tried)
            .ok_or_else(|| format!("configured path {} has no libonnxruntime", p.display()));
    }
    for var in ["VIGIL_ORT_LIB", "ORT_DYLIB_PATH"] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            if let Some(f) = check(PathBuf::from(v), &mut tried) {
                return Ok(f);
            }
        }
    }
    let roots = crate::models::search_roots();
    for root in roots {
        for anc in root.ancestors() {
            if let Some(f) = check(anc.join(".vigil").join("onnxruntime"), &mut tried) {
                return Ok(f);
            }
        }
    }
    Err(format!(
        "libonnxruntime not found (set VIGIL_ORT_LIB or run scripts/setup.sh, which extracts it from the onnxruntime wheel into .vigil/onnxruntime); tried: {}",
        tried.join(", ")
    ))
}

/// Loads the ONNX Runtime library once per process. Later calls return the first outcome.
pub fn ensure_initialized(explicit: Option<&Path>) -> Result<PathBuf> {
    let r = INIT.get_or_init(|| {
        let path = locate_library(explicit)?;
        let builder = ort::init_from(&path).map_err(|e| format!("loading {}: {e}", path.display()))?;
        let env = builder
            .with_name("vigil")
            .build()
            .map_err(|e| format!("initialising {}: {e}", path.display()))?;
        Ok((path, env))
    });
    match r {
        Ok((p, _)) => Ok(p.clone()),
        Err(e) => Err(VisionError::OrtUnavailable(e.clone())),
    }
}

fn environment() -> Result<&'static ort::environment::Environment> {
    match INIT.get() {
        Some(Ok((_, env))) => Ok(env),
        Some(Err(e)) => Err(VisionError::OrtUnavailable(e.clone())),
        None => Err(VisionError::OrtUnavailable("not initialised".into())),
    }
}

/// Most sessions of one model run at once: the cores (each run uses its own intra-op threads,
/// 1 by default), overridable with `VIGIL_INFERENCE_CONCURRENCY`.
pub fn max_concurrent_runs() -> usize {
    std::env::var("VIGIL_INFERENCE_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}

/// Idle sessions and how many exist.
struct Pool {
    idle: Vec<Session>,
    created: usize,
}

/// A model loaded into ONNX Runtime: a pool of sessions, grown on demand.
pub struct OrtSession {
    path: PathBuf,
    /// The model with a symbolic input height and width ([`super::flexible_input`]), when the
    /// session was asked for one and the model allows it; sessions are built from it.
    relaxed: Option<Vec<u8>>,
    inputs: Vec<String>,
    threads: usize,
    max: usize,
    pool: Mutex<Pool>,
    returned: Condvar,
    /// Runs in progress right now and the most ever at once (tests and the benchmark read it).
    running: AtomicUsize,
    peak: AtomicUsize,
}

fn err(path: &Path, e: impl std::fmt::Display) -> VisionError {
    VisionError::Inference {
        backend: "onnxruntime",
        model: path.display().to_string(),
        message: e.to_string(),
    }
}

fn build_session(path: &Path, relaxed: Option<&[u8]>, threads: usize) -> Result<Session> {
    let env = environment()?;
    let mut builder = Session::builder(env)
        .map_err(|e| err(path, e))?
        .with_intra_threads(threads)
        .map_err(|e| err(path, e))?
        .with_inter_threads(1)
        .map_err(|e| err(path, e))?
        // Spinning threads burn a core each while waiting for work that comes 5 times a second.
        .with_intra_op_spinning(false)
        .map_err(|e| err(path, e))?
        .with_inter_op_spinning(false)
        .map_err(|e| err(path, e))?;
    match relaxed {
        Some(bytes) => builder.commit_from_memory(bytes),
        None => builder.commit_from_file(path),
    }
    .map_err(|e| err(path, e))
}

impl OrtSession {
    pub fn load(path: &Path, cfg: &BackendConfig) -> Result<Self> {
        Self::load_with(path, cfg, false)
    }

    /// [`OrtSession::load`]; with `flexible`, an NCHW image model of fixed size is loaded so that
    /// it takes any input height and width (see [`OrtSession::flexible_input`]).
    pub fn load_with(path: &Path, cfg: &BackendConfig, flexible: bool) -> Result<Self> {
        ensure_initialized(cfg.ort_library.as_deref())?;
        let threads = cfg.threads.max(1);
        let relaxed = if flexible {
            let bytes = std::fs::read(path).map_err(|e| VisionError::io(path, e))?;
            super::flexible_input::relax_image_input(&bytes)
        } else {
            None
        };
        let session = build_session(path, relaxed.as_deref(), threads)?;
        let inputs = session.inputs().iter().map(|i| i.name().to_string()).collect();
        Ok(Self {
            path: path.to_path_buf(),
            relaxed,
            inputs,
            threads,
            max: max_concurrent_runs(),
            pool: Mutex::new(Pool {
                idle: vec![session],
                created: 1,
            }),
            returned: Condvar::new(),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        })
    }

    /// Sessions loaded so far (at most [`max_concurrent_runs`]).
    pub fn sessions(&self) -> usize {
        self.pool.lock().map(|p| p.created).unwrap_or(0)
    }

    /// The most runs that were ever in progress at the same time.
    pub fn peak_concurrency(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// An idle session: an existing one, a new one while under the cap, or the next returned.
    fn take(&self) -> Result<Session> {
        let p = &self.path;
        let mut pool = self.pool.lock().map_err(|_| err(p, "session pool lock poisoned"))?;
        loop {
            if let Some(s) = pool.idle.pop() {
                return Ok(s);
            }
            if pool.created < self.max {
                pool.created += 1;
                drop(pool);
                return build_session(p, self.relaxed.as_deref(), self.threads).inspect_err(|_| {
                    if let Ok(mut pool) = self.pool.lock() {
                        pool.created -= 1;
                    }
                });
            }
            pool = self
                .returned
                .wait(pool)
                .map_err(|_| err(p, "session pool lock poisoned"))?;
        }
    }

    fn give_back(&self, s: Session) {
        if let Ok(mut pool) = self.pool.lock() {
            pool.idle.push(s);
        }
        self.returned.notify_one();
    }
}

impl InferenceSession for OrtSession {
    fn backend(&self) -> BackendKind {
        BackendKind::Ort
    }
    fn model_path(&self) -> &Path {
        &self.path
    }
    fn input_names(&self) -> &[String] {
        &self.inputs
    }
    fn flexible_input(&self) -> bool {
        self.relaxed.is_some()
    }
    fn run(&self, inputs: Vec<Tensor>) -> Result<Vec<Output>> {
        let p = &self.path;
        let mut values: Vec<(String, ort::value::DynValue)> = Vec::with_capacity(inputs.len());
        for (name, t) in self.inputs.iter().zip(inputs) {
            let shape: Vec<i64> = t.shape.iter().map(|&d| d as i64).collect();
            let v = match t.data {
                TensorData::F32(d) => OrtTensor::from_array((shape, d)).map_err(|e| err(p, e))?.into_dyn(),
                TensorData::I32(d) => OrtTensor::from_array((shape, d)).map_err(|e| err(p, e))?.into_dyn(),
            };
            values.push((name.clone(), v));
        }
        let mut session = self.take()?;
        let now = self.running.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(now, Ordering::Relaxed);
        let res = extract(p, session.run(values));
        self.running.fetch_sub(1, Ordering::Relaxed);
        self.give_back(session);
        res
    }
}

/// Copies every output out of the session's buffers (they borrow the session).
fn extract(p: &Path, outputs: ort::Result<ort::session::SessionOutputs<'_>>) -> Result<Vec<Output>> {
    let outputs = outputs.map_err(|e| err(p, e))?;
    let mut res = Vec::with_capacity(outputs.len());
    for (name, value) in outputs.iter() {
        let (shape, data) = value.try_extract_tensor::<f32>().map_err(|e| err(p, e))?;
        res.push(Output {
            name: name.to_string(),
            shape: shape.iter().map(|&d| d.max(0) as usize).collect(),
            data: data.to_vec(),
        });
    }
    Ok(res)
}
