//! The page's filter experiment in the worker: the images with masks filtered by their own
//! heatmaps, accuracy on a held-out third before and after, one training step at a time.

use super::Session;
use crate::card::weights_bytes;
use crate::filters::Filter;
use crate::finetune::{self, FilteredSets, Labelled};
use crate::masks::Threshold;
use crate::protocol::{ItemId, ModelId, WorkerOutput};
use crate::train::{TrainConfig, Trainer};
use crate::{Error, Result};

/// Fine-tuning needs this many labelled images, both classes among them.
const MIN_TUNE_IMAGES: usize = 6;

pub(super) struct TuneJob {
    pub(super) run: u64,
    model: ModelId,
    sets: FilteredSets,
    epochs: usize,
    /// None until the first step has measured accuracy before and built the trainer.
    trainer: Option<Trainer>,
    /// When training began (after the accuracy before): the time reported covers the steps
    /// and the accuracy after, not the weights' export.
    started: f64,
}

impl Session {
    pub(super) fn tune_job(&self, run: u64, model: ModelId, items: &[ItemId], filter: Filter, threshold: Threshold, epochs: usize) -> Result<TuneJob> {
        let (card, _) = self.models.get(&model).ok_or_else(|| Error::Invalid("the model to fine-tune has not been loaded".into()))?;
        let labelled: Vec<Labelled> = items
            .iter()
            .filter_map(|id| self.items.get(id))
            .filter_map(|s| {
                let truth = s.truth.as_ref()?;
                let heat = s.heatmap.as_ref()?;
                Some(Labelled { image: s.image.clone(), hot: threshold.apply(heat), label: !truth.is_empty() })
            })
            .collect();
        let positives = labelled.iter().filter(|l| l.label).count();
        if labelled.len() < MIN_TUNE_IMAGES || positives == 0 || positives == labelled.len() {
            return Err(Error::Invalid(format!(
                "fine-tuning needs at least {MIN_TUNE_IMAGES} analysed images with masks, with and without tumour (have {} with masks, {positives} with tumour); load images with their masks first",
                labelled.len()
            )));
        }
        let sets = finetune::filtered_sets(&labelled, filter, &card.input, finetune::SEED);
        Ok(TuneJob { run, model, sets, epochs: epochs.clamp(1, 50), trainer: None, started: (self.clock)() })
    }

    pub(super) async fn tune_step(&mut self) -> Result<Vec<WorkerOutput>> {
        let Some(job) = self.tune.as_ref() else { return Ok(Vec::new()) };
        let (run, model_id) = (job.run, job.model);
        let (card, model) = self.model(model_id)?;
        let job = self.tune.as_mut().expect("checked above");
        let Some(trainer) = &mut job.trainer else {
            let before = finetune::accuracy(&model, &card.input, &job.sets.held_out, &self.device).await?;
            // Small, seeded steps: a few images need several steps per epoch to move the model.
            let config = TrainConfig { epochs: job.epochs, batch_size: 4, learning_rate: 1e-3, ..TrainConfig::default() };
            self.device.seed(config.seed);
            let trainer = Trainer::new(model, card.input.clone(), config, job.sets.train.len(), &self.device);
            let total_steps = trainer.total_steps();
            let out = WorkerOutput::TuneStarted { run, trained_on: job.sets.train.len(), held_out: job.sets.held_out.len(), accuracy_before: before, total_steps };
            job.trainer = Some(trainer);
            job.started = (self.clock)();
            return Ok(vec![out]);
        };
        if let Some(progress) = trainer.step(&job.sets.train).await? {
            return Ok(vec![WorkerOutput::TuneStep { run, progress }]);
        }
        let job = self.tune.take().expect("checked above");
        let tuned = job.trainer.expect("trained").into_model();
        let accuracy_after = finetune::accuracy(&tuned, &card.input, &job.sets.held_out, &self.device).await?;
        let seconds = ((self.clock)() - job.started) / 1000.0;
        let weights = weights_bytes(&tuned, &card.architecture).await?;
        Ok(vec![WorkerOutput::TuneFinished { run, accuracy_after, weights, seconds }])
    }
}
