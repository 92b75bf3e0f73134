//! The one error type of `vigil-vision`.

use std::path::PathBuf;

/// Everything that can go wrong in the perception layer.
#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    /// The ONNX Runtime shared library could not be found or loaded.
    #[error("ONNX Runtime library not available: {0}")]
    OrtUnavailable(String),
    /// The requested backend was compiled out of this build.
    #[error("inference backend `{0}` is not compiled into this build")]
    BackendNotCompiled(&'static str),
    /// Loading or running a model failed inside a backend.
    #[error("{backend} failed on model {model}: {message}")]
    Inference {
        backend: &'static str,
        model: String,
        message: String,
    },
    /// A model file is missing from the model directory.
    #[error("model file {file} not found in {dir} (expected sha256 {sha256}; get it from {source_url})")]
    ModelMissing {
        file: String,
        dir: PathBuf,
        sha256: String,
        source_url: String,
    },
    /// A model file's checksum does not match the manifest.
    #[error("model file {path} has sha256 {actual}, expected {expected} (re-install it from {source_url})")]
    ModelChecksum {
        path: PathBuf,
        expected: String,
        actual: String,
        source_url: String,
    },
    /// No model directory could be found.
    #[error("no model directory found (tried: {tried}); pass --model-dir or set VIGIL_MODEL_DIR")]
    NoModelDir { tried: String },
    /// The model id is not in the manifest.
    #[error("unknown model `{0}` (not in the model manifest)")]
    UnknownModel(String),
    /// The embedded manifest or a label file is malformed.
    #[error("invalid manifest: {0}")]
    Manifest(String),
    /// Invalid `target_roi`; `field` is the offending path, e.g. `target_roi.lines[0].data`.
    #[error("invalid {field}: {reason}")]
    Roi { field: String, reason: String },
    /// A frame or buffer had the wrong size or layout.
    #[error("invalid image: {0}")]
    Image(String),
    /// A model produced an output of an unexpected shape.
    #[error("unexpected output from model {model}: {message}")]
    ModelOutput { model: String, message: String },
    /// JPEG encoding failed.
    #[error("JPEG encoding failed: {0}")]
    Jpeg(String),
    /// Downloading a model failed.
    #[error("download of {url} failed: {message}")]
    Download { url: String, message: String },
    /// A task asks for a detector package that is not in the [`crate::PackageRegistry`].
    #[error("detector package {0:016x} is not installed on this worker (install the package and restart the task)")]
    PackageNotInstalled(u64),
    /// The inference worker pool is shut down or its queue is full.
    #[error("inference worker unavailable: {0}")]
    Worker(String),
    /// File system error with the path involved.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl From<vigil_core::roi::RoiError> for VisionError {
    fn from(e: vigil_core::roi::RoiError) -> Self {
        VisionError::Roi {
            field: e.field,
            reason: e.reason,
        }
    }
}

impl VisionError {
    /// The offending field path for ROI validation errors (for VIAS `params`).
    pub fn field(&self) -> Option<&str> {
        match self {
            VisionError::Roi { field, .. } => Some(field),
            _ => None,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        VisionError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = VisionError> = std::result::Result<T, E>;
