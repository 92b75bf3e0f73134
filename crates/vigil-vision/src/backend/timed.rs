//! Every model run timed into `vigil_inference_duration_seconds{model}` (and failures counted),
//! whatever the backend. The label is the model file's stem: a catalogue model's name or a
//! package's content hash, never a directory path.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::{BackendKind, InferenceSession, Output, Tensor};
use crate::error::Result;

pub struct TimedSession {
    inner: Arc<dyn InferenceSession>,
    model: String,
}

impl TimedSession {
    pub fn wrap(inner: Arc<dyn InferenceSession>) -> Arc<dyn InferenceSession> {
        let model = model_label(inner.model_path());
        Arc::new(TimedSession { inner, model })
    }
}

fn model_label(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "unknown".into())
}

impl InferenceSession for TimedSession {
    fn backend(&self) -> BackendKind {
        self.inner.backend()
    }
    fn model_path(&self) -> &Path {
        self.inner.model_path()
    }
    fn input_names(&self) -> &[String] {
        self.inner.input_names()
    }
    fn flexible_input(&self) -> bool {
        self.inner.flexible_input()
    }
    fn run(&self, inputs: Vec<Tensor>) -> Result<Vec<Output>> {
        let started = Instant::now();
        let res = self.inner.run(inputs);
        match &res {
            Ok(_) => metrics::histogram!("vigil_inference_duration_seconds", "model" => self.model.clone())
                .record(started.elapsed().as_secs_f64()),
            Err(_) => metrics::counter!("vigil_inference_failures_total", "model" => self.model.clone()).increment(1),
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::model_label;
    use std::path::Path;

    #[test]
    fn label_is_the_file_stem() {
        assert_eq!(model_label(Path::new("/data/models/yolox_nano.onnx")), "yolox_nano");
        assert_eq!(model_label(Path::new("/")), "unknown");
    }
}
