//! The filter-and-fine-tune experiment's state.

use crate::filters::Filter;
use crate::protocol::ModelId;
use std::rc::Rc;

#[derive(Clone, Debug, PartialEq)]
pub enum TunePhase {
    Idle,
    Running,
    Done,
    Cancelled,
}

/// The filter-and-fine-tune experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct FineTune {
    /// The current run (each start is a new one; late messages of older runs are dropped).
    pub run: u64,
    /// The model being fine-tuned: what a kept result is named and licensed after.
    pub model: Option<ModelId>,
    pub filter: Filter,
    pub epochs: usize,
    pub phase: TunePhase,
    pub step: usize,
    pub total_steps: usize,
    /// Loss and mini-batch accuracy at every step, for the live curves.
    pub losses: Vec<f32>,
    pub accuracies: Vec<f32>,
    pub trained_on: usize,
    pub held_out: usize,
    pub accuracy_before: Option<f64>,
    pub accuracy_after: Option<f64>,
    /// The fine-tuned weights, until kept or replaced.
    pub weights: Option<Rc<Vec<u8>>>,
    /// Whether the fine-tuned model has been made the current one.
    pub kept: bool,
}

impl FineTune {
    /// A finished run whose model is not kept: the next run would replace it, so the panel
    /// says so before the person starts one.
    pub fn unkept(&self) -> bool {
        self.phase == TunePhase::Done && !self.kept && self.weights.is_some()
    }
}

impl Default for FineTune {
    fn default() -> Self {
        Self {
            run: 0,
            model: None,
            filter: Filter::KeepHot,
            epochs: 3,
            phase: TunePhase::Idle,
            step: 0,
            total_steps: 0,
            losses: Vec::new(),
            accuracies: Vec::new(),
            trained_on: 0,
            held_out: 0,
            accuracy_before: None,
            accuracy_after: None,
            weights: None,
            kept: false,
        }
    }
}
