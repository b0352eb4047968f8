//! A dataset scored in batches: read each image and its true mask, classify, map, cut, Dice.
//! The one path by which the CLI's `eval`, `sweep`, `train` and `bench` score a split (native:
//! it reads the dataset from disk); the page scores its own images in the worker's session.

use crate::cam::CamMethod;
use crate::data::{Dataset, InputSpec, Record};
use crate::evaluate::ImageScore;
use crate::masks::Threshold;
use crate::model::Classifier;
use crate::pipeline::analyse;
use crate::segmenter::{segment, Segmenter};
use crate::train::predict;
use crate::{block_on, Result};
use burn::tensor::Device;

/// Where each image's map comes from.
pub enum Maps<'a> {
    /// A CAM method at a conv block of the classifier.
    Cam { method: CamMethod, block: usize },
    /// A segmenter's probability map, cut like a heatmap; p (for gating and AUC) stays the
    /// classifier's.
    Segmenter { net: &'a Segmenter, spec: &'a InputSpec },
}

impl Maps<'_> {
    /// What the maps are, for progress bars.
    pub fn name(&self) -> &'static str {
        match self {
            Maps::Cam { method, .. } => method.name(),
            Maps::Segmenter { .. } => "segmenter",
        }
    }
}

/// A classifier and the dataset it is scored on.
pub struct Scorer<'a> {
    pub model: &'a Classifier,
    pub spec: &'a InputSpec,
    pub data: &'a Dataset,
    pub device: &'a Device,
    /// Images per forward pass.
    pub batch: usize,
}

impl Scorer<'_> {
    /// Scores `records` in batches; `done(n)` after each batch of `n`. Images whose lesion has
    /// no known mask get p but no Dice ([`Dataset::truth`]).
    pub fn score(&self, records: &[Record], maps: &Maps, threshold: Threshold, mut done: impl FnMut(usize)) -> Result<Vec<ImageScore>> {
        let mut scores = Vec::with_capacity(records.len());
        for chunk in records.chunks(self.batch.max(1)) {
            let images = chunk.iter().map(|r| self.data.load_image(r, self.spec.channel)).collect::<Result<Vec<_>>>()?;
            let refs: Vec<_> = images.iter().collect();
            let (probs, heatmaps) = match maps {
                Maps::Cam { method, block } => {
                    let analyses = block_on(analyse(self.model, self.spec, &refs, *block, *method, self.device))?;
                    analyses.into_iter().map(|a| (a.probability, a.heatmap)).unzip()
                }
                Maps::Segmenter { net, spec } => {
                    let prepared: Vec<_> = images.iter().map(|im| self.spec.prepare(im)).collect();
                    let probs = block_on(predict(self.model, self.spec, &prepared.iter().collect::<Vec<_>>(), self.batch, self.device))?;
                    (probs, block_on(segment(net, spec, &refs, self.device))?)
                }
            };
            for (((r, image), p), map) in chunk.iter().zip(&images).zip(probs).zip(&heatmaps) {
                let truth = self.data.truth(r, image.width, image.height)?;
                scores.push(ImageScore::new(&r.file, p, map, truth.as_ref(), r.is_tumour(), threshold).of_patient(&r.patient));
            }
            done(chunk.len());
        }
        Ok(scores)
    }
}
