//! Choosing the backend by measurement. On a GPU whose speed for this network nobody has
//! timed, the first images are analysed on WebGPU and again on the CPU, both timed, and the
//! worker keeps the faster. The first chunk warms both up (shader compilation, first
//! allocations) and is not counted.

use super::Session;
use crate::cam::CamMethod;
use crate::model::Classifier;
use crate::pipeline::analyse;
use crate::plane::Plane;
use crate::prelude::*;
use crate::protocol::{Backend, Measured, ModelId, WorkerOutput};
use crate::Result;
use burn::tensor::Device;

/// Images timed on both backends before the verdict (after the warm-up chunk).
pub const TRIAL_IMAGES: usize = 3;

pub(super) struct Trial {
    adapter: String,
    warmed: bool,
    images: usize,
    webgpu_ms: f64,
    cpu_ms: f64,
    /// The model built on the CPU for the trial (kept if the CPU wins).
    cpu: Option<(ModelId, Classifier)>,
}

impl Trial {
    pub(super) fn new(adapter: String) -> Self {
        Self { adapter, warmed: false, images: 0, webgpu_ms: 0.0, cpu_ms: 0.0, cpu: None }
    }

    /// One chunk timed on both; the measurement once enough images are timed.
    fn record(&mut self, images: usize, webgpu_ms: f64, cpu_ms: f64) -> Option<Measured> {
        if !self.warmed {
            self.warmed = true;
            return None;
        }
        self.images += images;
        self.webgpu_ms += webgpu_ms;
        self.cpu_ms += cpu_ms;
        (self.images >= TRIAL_IMAGES).then(|| Measured {
            adapter: self.adapter.clone(),
            webgpu_ms: self.webgpu_ms / self.images as f64,
            cpu_ms: self.cpu_ms / self.images as f64,
            images: self.images,
        })
    }
}

impl Session {
    /// Times both backends on the next images analysed (on WebGPU only; elsewhere nothing to choose).
    pub fn measure(&mut self, adapter: String) {
        if self.backend == Backend::WebGpu {
            self.trial = Some(Trial::new(adapter));
        }
    }

    /// After a chunk ran on WebGPU in `webgpu_ms`: the same images on the CPU, timed, and the
    /// verdict when it is due. The CPU winning moves the session there, keeping its job.
    pub(super) async fn trial_step(&mut self, model_id: ModelId, images: &[&Plane], block: usize, method: CamMethod, webgpu_ms: f64) -> Result<Option<WorkerOutput>> {
        let Some(mut trial) = self.trial.take().filter(|_| self.backend == Backend::WebGpu && !images.is_empty()) else { return Ok(None) };
        let (card, bytes) = self.models.get(&model_id).cloned().ok_or_else(|| crate::Error::Invalid(format!("model {} has not been sent to the worker", model_id.0)))?;
        let cpu = Device::flex();
        if trial.cpu.as_ref().is_none_or(|(id, _)| *id != model_id) {
            trial.cpu = Some((model_id, card.load(bytes, &cpu)?));
        }
        let model = trial.cpu.as_ref().map(|(_, m)| m.clone()).expect("built above");
        let start = (self.clock)();
        analyse(&model, &card.input, images, block, method, &cpu).await?;
        let cpu_ms = (self.clock)() - start;
        let Some(measured) = trial.record(images.len(), webgpu_ms, cpu_ms) else {
            self.trial = Some(trial);
            return Ok(None);
        };
        if measured.faster() == Backend::Cpu {
            self.device = cpu;
            self.backend = Backend::Cpu;
            self.built = trial.cpu.take();
        }
        Ok(Some(WorkerOutput::BackendMeasured(measured)))
    }
}
