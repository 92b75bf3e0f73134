//! Pure-Rust tract backend. Plans are optimised per concrete input shape and cached, so models
//! with dynamic dimensions (OCR width, MultiPose size) work too.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tract_onnx::prelude::*;

use super::{BackendKind, InferenceSession, Output, Tensor as VTensor, TensorData};
use crate::error::{Result, VisionError};

type Plan = Arc<TypedRunnableModel>;

/// A model loaded into tract.
pub struct TractSession {
    path: PathBuf,
    inputs: Vec<String>,
    outputs: Vec<String>,
    threads: usize,
    model: InferenceModel,
    plans: Mutex<HashMap<Vec<Vec<usize>>, Plan>>,
}

fn err(path: &Path, e: impl std::fmt::Display) -> VisionError {
    VisionError::Inference {
        backend: "tract",
        model: path.display().to_string(),
        message: format!("{e:#}"),
    }
}

impl TractSession {
    /// Loads the ONNX graph; `threads > 1` runs matrix kernels on a tract thread pool.
    pub fn load(path: &Path, threads: usize) -> Result<Self> {
        let model = tract_onnx::onnx().model_for_path(path).map_err(|e| err(path, e))?;
        let names =
            |outlets: &[OutletId]| -> Vec<String> { outlets.iter().map(|o| model.node(o.node).name.clone()).collect() };
        let inputs = names(model.input_outlets().map_err(|e| err(path, e))?);
        let outputs = names(model.output_outlets().map_err(|e| err(path, e))?);
        Ok(Self {
            path: path.to_path_buf(),
            inputs,
            outputs,
            threads: threads.max(1),
            model,
            plans: Mutex::new(HashMap::new()),
        })
    }

    fn plan_for(&self, inputs: &[VTensor]) -> Result<Plan> {
        let key: Vec<Vec<usize>> = inputs.iter().map(|t| t.shape.clone()).collect();
        let mut plans = self
            .plans
            .lock()
            .map_err(|_| err(&self.path, "plan cache lock poisoned"))?;
        if let Some(p) = plans.get(&key) {
            return Ok(p.clone());
        }
        let p = &self.path;
        let mut m = self.model.clone();
        for (i, t) in inputs.iter().enumerate() {
            let dt = match t.data {
                TensorData::F32(_) => f32::datum_type(),
                TensorData::I32(_) => i32::datum_type(),
            };
            m = m
                .with_input_fact(i, InferenceFact::dt_shape(dt, t.shape.clone()))
                .map_err(|e| err(p, e))?;
        }
        let typed = m.into_optimized().map_err(|e| err(p, e))?;
        let opts = RunOptions {
            executor: (self.threads > 1).then(|| multithread::Executor::multithread(self.threads)),
            ..Default::default()
        };
        let plan = typed.into_runnable_with_options(&opts).map_err(|e| err(p, e))?;
        plans.insert(key, plan.clone());
        Ok(plan)
    }
}

impl InferenceSession for TractSession {
    fn backend(&self) -> BackendKind {
        BackendKind::Tract
    }
    fn model_path(&self) -> &Path {
        &self.path
    }
    fn input_names(&self) -> &[String] {
        &self.inputs
    }
    fn run(&self, inputs: Vec<VTensor>) -> Result<Vec<Output>> {
        let p = &self.path;
        let plan = self.plan_for(&inputs)?;
        let mut tv: TVec<TValue> = tvec!();
        for t in inputs {
            let tensor = match t.data {
                TensorData::F32(d) => tract_onnx::prelude::Tensor::from_shape(&t.shape, &d),
                TensorData::I32(d) => tract_onnx::prelude::Tensor::from_shape(&t.shape, &d),
            }
            .map_err(|e| err(p, e))?;
            tv.push(tensor.into());
        }
        let out = plan.run(tv).map_err(|e| err(p, e))?;
        let mut res = Vec::with_capacity(out.len());
        for (i, v) in out.iter().enumerate() {
            let v = v.cast_to::<f32>().map_err(|e| err(p, e))?;
            let view = v.to_plain_array_view::<f32>().map_err(|e| err(p, e))?;
            res.push(Output {
                name: self.outputs.get(i).cloned().unwrap_or_default(),
                shape: view.shape().to_vec(),
                data: view.iter().copied().collect(),
            });
        }
        Ok(res)
    }
}
