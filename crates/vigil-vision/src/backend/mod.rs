//! Inference backends behind one trait: ONNX Runtime (`ort`, loaded dynamically) and tract.
//!
//! A [`SessionCache`] hands out one shared session per (model file, backend, threads), so every
//! stream of the process uses the same session. Sessions are blocking: call them from worker
//! threads (see [`crate::worker`]), never from an async runtime.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::{Result, VisionError};

mod flexible_input;
pub mod ort_backend;
mod timed;
#[cfg(feature = "tract")]
pub mod tract_backend;

/// Element data of an input tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    I32(Vec<i32>),
}

/// An input tensor (row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: TensorData,
}

impl Tensor {
    pub fn f32(shape: Vec<usize>, data: Vec<f32>) -> Self {
        Self {
            shape,
            data: TensorData::F32(data),
        }
    }
    pub fn i32(shape: Vec<usize>, data: Vec<i32>) -> Self {
        Self {
            shape,
            data: TensorData::I32(data),
        }
    }
}

/// A float output tensor with its graph name.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Which engine runs the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// ONNX Runtime through `ort` (dynamic library).
    Ort,
    /// Pure-Rust tract.
    Tract,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Ort => "onnxruntime",
            BackendKind::Tract => "tract",
        }
    }
}

impl std::str::FromStr for BackendKind {
    type Err = VisionError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ort" | "onnxruntime" => Ok(BackendKind::Ort),
            "tract" => Ok(BackendKind::Tract),
            other => Err(VisionError::Manifest(format!(
                "unknown backend `{other}` (expected ort or tract)"
            ))),
        }
    }
}

/// Backend preference and settings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BackendConfig {
    /// `None` = automatic: ONNX Runtime when its library can be loaded, tract otherwise.
    pub kind: Option<BackendKind>,
    /// Intra-op threads per session (ONNX Runtime intra-op pool; tract matrix-kernel pool).
    pub threads: usize,
    /// Explicit path of `libonnxruntime.so*` (or a directory containing it). When `None`,
    /// [`ort_backend::locate_library`] searches `VIGIL_ORT_LIB`, `ORT_DYLIB_PATH` and
    /// `.vigil/onnxruntime` next to the working directory or the executable.
    pub ort_library: Option<PathBuf>,
}

impl Default for BackendConfig {
    fn default() -> Self {
        Self {
            kind: None,
            threads: 1,
            ort_library: None,
        }
    }
}

impl BackendConfig {
    pub fn ort(threads: usize) -> Self {
        Self {
            kind: Some(BackendKind::Ort),
            threads,
            ort_library: None,
        }
    }
    pub fn tract() -> Self {
        Self {
            kind: Some(BackendKind::Tract),
            threads: 1,
            ort_library: None,
        }
    }

    /// The backend that will actually be used.
    pub fn resolve_kind(&self) -> Result<BackendKind> {
        match self.kind {
            Some(k) => Ok(k),
            None => {
                if ort_backend::ensure_initialized(self.ort_library.as_deref()).is_ok() {
                    Ok(BackendKind::Ort)
                } else if cfg!(feature = "tract") {
                    Ok(BackendKind::Tract)
                } else {
                    ort_backend::ensure_initialized(self.ort_library.as_deref()).map(|_| BackendKind::Ort)
                }
            }
        }
    }
}

/// One loaded model, ready to run. Implementations are thread-safe; calls may serialize.
pub trait InferenceSession: Send + Sync {
    /// Which engine runs this session.
    fn backend(&self) -> BackendKind;
    /// Model file this session was loaded from.
    fn model_path(&self) -> &Path;
    /// Input names, in graph order.
    fn input_names(&self) -> &[String];
    /// Whether the image input takes any height and width, not only the size the model was
    /// exported for (loaded with [`SessionCache::get_flexible`] on ONNX Runtime).
    fn flexible_input(&self) -> bool {
        false
    }
    /// Runs the model on the inputs (graph order) and returns every output as f32.
    fn run(&self, inputs: Vec<Tensor>) -> Result<Vec<Output>>;
}

/// Loads a model with the given backend settings (no caching).
pub fn load_session(path: &Path, cfg: &BackendConfig) -> Result<Arc<dyn InferenceSession>> {
    load_session_with(path, cfg, false)
}

/// [`load_session`]; `flexible` asks for a fixed-size NCHW image model to take any input height
/// and width where the backend allows it (ONNX Runtime; tract keeps the exported size).
pub fn load_session_with(path: &Path, cfg: &BackendConfig, flexible: bool) -> Result<Arc<dyn InferenceSession>> {
    if !path.is_file() {
        return Err(VisionError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "model file not found"),
        ));
    }
    match cfg.resolve_kind()? {
        BackendKind::Ort => Ok(timed::TimedSession::wrap(Arc::new(ort_backend::OrtSession::load_with(
            path, cfg, flexible,
        )?))),
        BackendKind::Tract => {
            #[cfg(feature = "tract")]
            {
                Ok(timed::TimedSession::wrap(Arc::new(tract_backend::TractSession::load(
                    path,
                    cfg.threads,
                )?)))
            }
            #[cfg(not(feature = "tract"))]
            {
                Err(VisionError::BackendNotCompiled("tract"))
            }
        }
    }
}

/// Model file, backend settings, and whether the input takes any height and width.
type SessionKey = (PathBuf, BackendConfig, bool);

/// Process-wide cache: one session per (model file, backend settings), shared by all streams.
#[derive(Default)]
pub struct SessionCache {
    sessions: Mutex<HashMap<SessionKey, Arc<dyn InferenceSession>>>,
}

impl SessionCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The process-global cache.
    pub fn global() -> &'static SessionCache {
        static CACHE: std::sync::OnceLock<SessionCache> = std::sync::OnceLock::new();
        CACHE.get_or_init(SessionCache::new)
    }

    /// Returns the shared session for `path`, loading it on first use.
    pub fn get(&self, path: &Path, cfg: &BackendConfig) -> Result<Arc<dyn InferenceSession>> {
        self.get_with(path, cfg, false)
    }

    /// The shared session of an image model that takes any input height and width where the
    /// backend allows it (see [`InferenceSession::flexible_input`]).
    pub fn get_flexible(&self, path: &Path, cfg: &BackendConfig) -> Result<Arc<dyn InferenceSession>> {
        self.get_with(path, cfg, true)
    }

    fn get_with(&self, path: &Path, cfg: &BackendConfig, flexible: bool) -> Result<Arc<dyn InferenceSession>> {
        let key = (path.to_path_buf(), cfg.clone(), flexible);
        let mut map = self
            .sessions
            .lock()
            .map_err(|_| VisionError::Worker("session cache lock poisoned".into()))?;
        if let Some(s) = map.get(&key) {
            return Ok(s.clone());
        }
        let s = load_session_with(path, cfg, flexible)?;
        map.insert(key, s.clone());
        Ok(s)
    }

    /// Number of loaded sessions.
    pub fn len(&self) -> usize {
        self.sessions.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
