//! Questions about images on screen: one image's trust checks, the steps of its heatmap, and
//! the trust checks of many images (one image per step, figures only), for the page's Trust
//! panel, its steps view and its batch summary.

use super::Session;
use crate::card::ModelCard;
use crate::faithfulness::TrustFigures;
use crate::masks::Mask;
use crate::model::Classifier;
use crate::plane::Plane;
use crate::cam::CamMethod;
use crate::protocol::{Busy, ImageQuestion, ItemId, ModelId, WorkerInput, WorkerOutput};
use crate::{Error, Result};
use std::collections::VecDeque;
use std::rc::Rc;

/// Trust checks of many images: the model, method and block, and the images left.
pub(super) struct TrustAllJob {
    run: u64,
    model: ModelId,
    method: CamMethod,
    block: usize,
    queue: VecDeque<ItemId>,
    total: usize,
}

impl Session {
    /// The image a question is about, with its mask, and the model asked about.
    fn question(&mut self, q: &ImageQuestion) -> Result<(ModelCard, Classifier, Rc<Plane>, Option<Mask>)> {
        let (card, built) = self.model(q.model)?;
        let stored = self.items.get(&q.item).ok_or_else(|| Error::Invalid("the image is no longer loaded".into()))?;
        Ok((card, built, stored.image.clone(), stored.truth.clone()))
    }

    /// Every trust check on the question's image.
    async fn check(&mut self, q: &ImageQuestion) -> Result<crate::faithfulness::ImageTrust> {
        let (card, built, image, truth) = self.question(q)?;
        crate::trust::check_image(&built, &card, &image, truth.as_ref(), q.method, q.block, 1, &self.device).await
    }

    /// Every trust check on one image (a second or two on the CPU: one step).
    pub(super) async fn trust_step(&mut self, q: ImageQuestion) -> WorkerOutput {
        let result = self.check(&q).await;
        WorkerOutput::Trusted { request: q.request, item: q.item, result: result.map_err(|e| e.to_string()) }
    }

    /// The steps of one image's heatmap (one forward and backward pass).
    pub(super) async fn explain_step(&mut self, q: ImageQuestion) -> WorkerOutput {
        let result = async {
            let (card, built, image, _) = self.question(&q)?;
            crate::cam::explain::explain(&built, &card.input, &image, q.block, q.method, &self.device).await
        }
        .await;
        WorkerOutput::Explained { request: q.request, item: q.item, result: result.map_err(|e| e.to_string()) }
    }

    pub(super) fn accept_trust_all(&mut self, input: WorkerInput) -> Vec<WorkerOutput> {
        match input {
            WorkerInput::TrustAll { run, model, method, block, items } => {
                let out = self.trust_all.take().map(|old| WorkerOutput::TrustAllDone { run: old.run }).into_iter().collect();
                let queue: VecDeque<ItemId> = items.into_iter().collect();
                let total = queue.len();
                self.trust_all = Some(TrustAllJob { run, model, method, block, queue, total });
                out
            }
            WorkerInput::CancelTrustAll { run } => match self.trust_all.take() {
                // The next step of any other job brings its own progress line back.
                Some(job) if job.run == run => vec![WorkerOutput::TrustAllDone { run }, WorkerOutput::Busy(None)],
                other => {
                    self.trust_all = other;
                    Vec::new()
                }
            },
            _ => Vec::new(),
        }
    }

    /// The next image of the run (a second or two on the CPU), with the run's progress.
    pub(super) async fn trust_all_step(&mut self) -> Vec<WorkerOutput> {
        let Some(job) = self.trust_all.as_mut() else { return Vec::new() };
        let Some(item) = job.queue.pop_front() else {
            let run = job.run;
            self.trust_all = None;
            return vec![WorkerOutput::TrustAllDone { run }, WorkerOutput::Busy(None)];
        };
        let (run, done, total) = (job.run, job.total - job.queue.len(), job.total);
        let q = ImageQuestion { request: run, model: job.model, item, method: job.method, block: job.block };
        let result = self.check(&q).await.map(|t| TrustFigures::from(&t)).map_err(|e| e.to_string());
        vec![WorkerOutput::TrustedOne { run, item, result }, WorkerOutput::Busy(Some(Busy { what: "checking heatmaps".into(), done, total }))]
    }
}
