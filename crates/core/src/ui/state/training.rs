//! "Train a model" as plain data: the labelled folder as the worker read it, the person's
//! choices, and the run's progress, with a pure update. The page's other state does not
//! depend on it until a run finishes and its model joins the picker.

use crate::data::labelled::{LabelOptions, LabelSummary};
use crate::protocol::ModelId;
use crate::train::Progress;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TrainPhase {
    #[default]
    Idle,
    /// The worker is reading the folder.
    Reading,
    Running,
    Done,
    Cancelled,
    Failed,
}

/// One epoch's held-out figures.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochPoint {
    pub epoch: usize,
    pub loss: f64,
    pub val_auc: f64,
    pub val_accuracy: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Training {
    /// The latest folder read asked of the worker; older answers are dropped.
    pub request: u64,
    /// Name of what was given (a folder or a zip), for the summary.
    pub source: String,
    pub summary: Option<LabelSummary>,
    /// Why the folder cannot train as read.
    pub problem: Option<String>,
    /// Classes found (offered as the positive class when the names do not say).
    pub classes: Vec<String>,
    pub options: LabelOptions,
    pub epochs: usize,
    /// Start from this model's weights; `None` = from scratch.
    pub from: Option<ModelId>,
    /// What a model trained from scratch reads (a start model brings its own).
    pub scan: crate::data::ScanKind,
    /// Balance the gate on val (`camseg train --balance-gate`): for unbalanced classes.
    pub balance_gate: bool,
    pub phase: TrainPhase,
    pub run: u64,
    pub train: usize,
    pub val: usize,
    pub step: usize,
    pub total_steps: usize,
    /// Workers sharing each step of the run.
    pub workers: usize,
    pub loss: Option<f32>,
    pub epochs_done: Vec<EpochPoint>,
    /// When the run's first step came and when its latest did (ms), for the time left.
    pub started_ms: Option<f64>,
    pub latest_ms: Option<f64>,
    pub message: Option<String>,
}

impl Default for Training {
    fn default() -> Self {
        Self {
            request: 0,
            source: String::new(),
            summary: None,
            problem: None,
            classes: Vec::new(),
            options: LabelOptions::default(),
            epochs: 10,
            from: None,
            scan: Default::default(),
            balance_gate: false,
            phase: TrainPhase::Idle,
            run: 0,
            train: 0,
            val: 0,
            step: 0,
            total_steps: 0,
            workers: 1,
            loss: None,
            epochs_done: Vec::new(),
            started_ms: None,
            latest_ms: None,
            message: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum TrainAction {
    /// Files were given (`source` names them); the worker reads them as request `request`.
    FolderGiven { request: u64, source: String },
    /// New options were sent for the same folder as request `request`.
    OptionsChanged { request: u64, options: LabelOptions },
    LabelsRead { request: u64, summary: Result<LabelSummary, String>, classes: Vec<String> },
    EpochsChosen(usize),
    FromChosen(Option<ModelId>),
    ScanChosen(crate::data::ScanKind),
    BalanceGateChosen(bool),
    Requested { run: u64 },
    Started { run: u64, train: usize, val: usize, total_steps: usize, workers: usize },
    Step { run: u64, progress: Progress, now_ms: f64 },
    Epoch { run: u64, point: EpochPoint },
    Finished { run: u64 },
    Cancelled { run: u64 },
    Failed { run: u64, message: String },
}

impl Training {
    /// The pure update.
    pub fn reduce(mut self, action: TrainAction) -> Training {
        match action {
            TrainAction::FolderGiven { request, source } => {
                self.request = request;
                self.source = source;
                self.options.positive.clear();
                self.summary = None;
                self.problem = None;
                self.phase = if self.running() { self.phase } else { TrainPhase::Reading };
            }
            TrainAction::OptionsChanged { request, options } => {
                self.request = request;
                self.options = options;
            }
            TrainAction::LabelsRead { request, summary, classes } if request == self.request => {
                self.classes = classes;
                match summary {
                    Ok(summary) => {
                        self.summary = Some(summary);
                        self.problem = None;
                    }
                    Err(problem) => {
                        self.summary = None;
                        self.problem = Some(problem);
                    }
                }
                if self.phase == TrainPhase::Reading {
                    self.phase = TrainPhase::Idle;
                }
            }
            TrainAction::LabelsRead { .. } => {}
            TrainAction::EpochsChosen(n) => self.epochs = n.clamp(1, 100),
            TrainAction::FromChosen(from) => self.from = from,
            TrainAction::ScanChosen(scan) => self.scan = scan,
            TrainAction::BalanceGateChosen(on) => self.balance_gate = on,
            TrainAction::Requested { run } => {
                self = Training { run, phase: TrainPhase::Running, message: None, ..self.clear_run() };
            }
            TrainAction::Started { run, train, val, total_steps, workers } if self.is(run) => {
                (self.train, self.val, self.total_steps, self.workers) = (train, val, total_steps, workers);
            }
            TrainAction::Step { run, progress, now_ms } if self.is(run) => {
                self.step = progress.step;
                self.total_steps = progress.total_steps;
                if progress.read_steps > 0 {
                    self.loss = Some(progress.loss);
                }
                self.started_ms.get_or_insert(now_ms);
                self.latest_ms = Some(now_ms);
            }
            TrainAction::Epoch { run, point } if self.is(run) => self.epochs_done.push(point),
            TrainAction::Finished { run } if self.is(run) => self.phase = TrainPhase::Done,
            TrainAction::Cancelled { run } if self.is(run) => {
                self.phase = TrainPhase::Cancelled;
                self.message = Some("cancelled: nothing was kept".into());
            }
            TrainAction::Failed { run, message } if self.run == run => {
                self.phase = TrainPhase::Failed;
                self.message = Some(message);
            }
            _ => {}
        }
        self
    }

    fn clear_run(self) -> Training {
        Training { train: 0, val: 0, step: 0, total_steps: 0, workers: 1, loss: None, epochs_done: Vec::new(), started_ms: None, latest_ms: None, ..self }
    }

    fn is(&self, run: u64) -> bool {
        self.run == run && self.phase == TrainPhase::Running
    }

    pub fn running(&self) -> bool {
        self.phase == TrainPhase::Running
    }

    /// Whether a run can start: a folder read without a problem, and no run under way.
    pub fn can_start(&self) -> bool {
        self.summary.is_some() && self.problem.is_none() && !self.running() && self.phase != TrainPhase::Reading
    }

    /// Seconds left at the pace so far (after the first steps, which include start-up).
    pub fn seconds_left(&self) -> Option<f64> {
        let (start, latest) = (self.started_ms?, self.latest_ms?);
        let done = self.step.checked_sub(1).filter(|&d| d > 0)?;
        let per_step = (latest - start) / 1000.0 / done as f64;
        Some(per_step * self.total_steps.saturating_sub(self.step) as f64)
    }

    /// The best epoch so far by val AUC (the one the run keeps).
    pub fn best(&self) -> Option<&EpochPoint> {
        self.epochs_done.iter().fold(None, |best: Option<&EpochPoint>, p| match best {
            Some(b) if !(p.val_auc.is_nan() || p.val_auc >= b.val_auc || b.val_auc.is_nan()) => Some(b),
            _ => Some(p),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(step: usize, total: usize) -> Progress {
        Progress { epoch: 0, epochs: 1, step, total_steps: total, loss: 0.5, batch_accuracy: 0.5, epoch_end: false, read_steps: 1 }
    }

    #[test]
    fn a_run_follows_its_own_messages_and_ignores_older_ones() {
        let mut t = Training::default().reduce(TrainAction::FolderGiven { request: 1, source: "mine".into() });
        assert_eq!(t.phase, TrainPhase::Reading);
        assert!(!t.can_start());
        t = t.reduce(TrainAction::LabelsRead { request: 0, summary: Err("old".into()), classes: vec![] });
        assert!(t.problem.is_none(), "an older read is dropped");
        t = t.reduce(TrainAction::LabelsRead { request: 1, summary: Err("class `a` has 3 usable images".into()), classes: vec!["a".into(), "b".into()] });
        assert!(!t.can_start());
        assert_eq!(t.classes, vec!["a".to_string(), "b".to_string()]);
        let summary = LabelSummary { layout: crate::data::labelled::Layout::ClassFolders, classes: vec![], warnings: vec![], masked: 0 };
        t = t.reduce(TrainAction::OptionsChanged { request: 2, options: LabelOptions { positive: vec!["b".into()], ..LabelOptions::default() } });
        t = t.reduce(TrainAction::LabelsRead { request: 2, summary: Ok(summary), classes: vec!["a".into(), "b".into()] });
        assert!(t.can_start());
        t = t.reduce(TrainAction::Requested { run: 5 });
        assert!(t.running() && !t.can_start());
        t = t.reduce(TrainAction::Started { run: 5, train: 8, val: 2, total_steps: 10, workers: 1 });
        t = t.reduce(TrainAction::Step { run: 4, progress: progress(9, 10), now_ms: 0.0 });
        assert_eq!(t.step, 0, "another run's step is dropped");
        for (step, ms) in [(1, 1000.0), (2, 1500.0), (3, 2000.0)] {
            t = t.reduce(TrainAction::Step { run: 5, progress: progress(step, 10), now_ms: ms });
        }
        assert_eq!(t.seconds_left(), Some(0.5 * 7.0));
        for (epoch, auc) in [(0, 0.7), (1, 0.9), (2, 0.9), (3, 0.8)] {
            t = t.reduce(TrainAction::Epoch { run: 5, point: EpochPoint { epoch, loss: 0.1, val_auc: auc, val_accuracy: 0.5 } });
        }
        assert_eq!(t.best().map(|b| b.epoch), Some(2), "ties go to the later epoch, as in the worker");
        t = t.reduce(TrainAction::Cancelled { run: 5 });
        assert_eq!(t.phase, TrainPhase::Cancelled);
        t = t.reduce(TrainAction::Finished { run: 5 });
        assert_eq!(t.phase, TrainPhase::Cancelled, "a cancelled run does not finish");
    }
}
