//! A training run on the CPU shared out across the page's workers (data parallelism). Every
//! worker holds the same trainer and draws every mini-batch whole, so the seeded streams
//! (order, augmentations, dropout) stay in step; each takes the gradient of its own shard
//! ([`crate::train::shard_range`]); the coordinator (the main worker, where the run lives)
//! combines the shards' parts in shard order and sends the whole back, and every worker
//! applies that same whole. Parameters and Adam's moments are the same bits on every worker;
//! batch norm's running statistics move by the whole batch's, pooled exactly, on the
//! coordinator, whose model is the run's. Each shard normalises by its own batch statistics,
//! as data-parallel training without synchronised batch norm does.
//!
//! A helper that dies or refuses is not waited for: the coordinator computes its shard from
//! then on, which gives the same bits the helper would have sent.

use crate::card::{Load, ModelCard};
use crate::protocol::{PeerMessage, WorkerOutput};
use crate::train::{Drawn, Sample, ShardGradient, TrainConfig, Trainer};
use crate::Result;
use burn::tensor::Device;

/// The coordinator's side: which peer takes which shard, and the parts of the step under way.
pub(super) struct Sharing {
    /// Shard k's worker; shard 0 is the coordinator's own, and a lost peer's shard is `None`.
    peers: Vec<Option<usize>>,
    /// The step under way.
    drawn: Option<Drawn>,
    /// Parts received or computed for the step under way, by shard.
    parts: Vec<Option<ShardGradient>>,
}

impl Sharing {
    /// Shards for the coordinator and each of `peers`.
    pub fn new(peers: &[usize]) -> Self {
        let peers: Vec<Option<usize>> = std::iter::once(None).chain(peers.iter().map(|&p| Some(p))).collect();
        Self { parts: vec![None; peers.len()], peers, drawn: None }
    }

    pub fn shards(&self) -> usize {
        self.peers.len()
    }

    /// The live peers, each with its shard.
    pub fn live(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.peers.iter().enumerate().filter_map(|(shard, p)| p.map(|peer| (shard, peer)))
    }

    /// Peer `peer` is gone: its shards are computed here.
    pub fn lose(&mut self, peer: usize) {
        self.peers.iter_mut().filter(|p| **p == Some(peer)).for_each(|p| *p = None);
    }

    /// Peer `peer`'s part of step `step`, kept if that is the step under way (`taken` steps
    /// are behind the trainer) and the shard is that peer's.
    pub fn receive(&mut self, peer: usize, step: usize, shard: usize, part: ShardGradient, taken: usize) {
        if step == taken && self.peers.get(shard) == Some(&Some(peer)) {
            self.parts[shard] = Some(part);
        }
    }

    /// Whether the step under way waits on a peer's part.
    pub fn waiting(&self) -> bool {
        self.drawn.is_some() && self.parts.iter().zip(&self.peers).any(|(part, peer)| part.is_none() && peer.is_some())
    }

    /// One turn of the coordinator: draws the next mini-batch and takes its own shard (and every
    /// lost peer's); once every part is in, applies the whole and tells the peers. `None` while
    /// waiting; `Some(None)` when the run has no step left.
    pub async fn turn(&mut self, trainer: &mut Trainer, samples: &[Sample], run: u64, out: &mut Vec<WorkerOutput>) -> Result<Option<Option<crate::train::Progress>>> {
        let shards = self.shards();
        if self.drawn.is_none() {
            let Some(drawn) = trainer.draw(samples) else { return Ok(Some(None)) };
            self.parts[0] = Some(trainer.shard_gradient(&drawn, 0, shards));
            self.drawn = Some(drawn);
        }
        let drawn = self.drawn.as_ref().expect("drawn above");
        for shard in 1..shards {
            if self.peers[shard].is_none() && self.parts[shard].is_none() {
                self.parts[shard] = Some(trainer.shard_gradient(drawn, shard, shards));
            }
        }
        if self.waiting() {
            return Ok(None);
        }
        let parts: Vec<ShardGradient> = self.parts.iter_mut().map(|p| p.take().expect("every part is in")).collect();
        let whole = ShardGradient::combine(&parts);
        for (_, peer) in self.live() {
            out.push(WorkerOutput::to_peer(peer, &PeerMessage::Whole { run, step: drawn.step, whole: whole.clone() }));
        }
        let drawn = self.drawn.take().expect("drawn above");
        trainer.apply(&drawn, &whole).await.map(|p| Some(Some(p)))
    }

    /// What the live peers are told when the run ends, however it ends.
    pub fn leave(&self, run: u64) -> Vec<WorkerOutput> {
        self.live().map(|(_, peer)| leave(peer, run)).collect()
    }
}

/// Tells worker `peer` that this worker is out of run `run` (or, from the coordinator, that the
/// run is over).
fn leave(peer: usize, run: u64) -> WorkerOutput {
    WorkerOutput::to_peer(peer, &PeerMessage::Leave { run })
}

/// The messages that let `peers` join a run at its first step: the model as it starts, the
/// recipe and the train samples.
pub(super) fn joins(run: u64, peers: &[usize], card: &ModelCard, weights: &[u8], config: &TrainConfig, samples: &[Sample]) -> Vec<WorkerOutput> {
    let shards = peers.len() + 1;
    let card_json = card.to_json();
    peers
        .iter()
        .enumerate()
        .map(|(k, &peer)| {
            let message = PeerMessage::Join { run, shard: k + 1, shards, card_json: card_json.clone(), weights: weights.to_vec(), config: config.clone(), samples: samples.to_vec() };
            WorkerOutput::to_peer(peer, &message)
        })
        .collect()
}

/// A helper's side of a shared run.
pub(super) struct ShardJob {
    pub run: u64,
    /// The coordinator's worker.
    pub coordinator: usize,
    shard: usize,
    shards: usize,
    trainer: Trainer,
    samples: Vec<Sample>,
    drawn: Option<Drawn>,
    whole: Option<ShardGradient>,
}

impl ShardJob {
    /// Joins a run: the trainer is made from the same weights and recipe as the coordinator's,
    /// always on the CPU (the plain-slice path, which the coordinator takes too).
    pub fn join(coordinator: usize, run: u64, shard: usize, shards: usize, card_json: &str, weights: Vec<u8>, config: TrainConfig, samples: Vec<Sample>) -> Result<ShardJob> {
        let card = ModelCard::from_json(card_json)?;
        let model = card.load(weights, &Device::flex())?;
        let trainer = Trainer::new(model, card.input.clone(), config, samples.len(), &Device::flex());
        if !trainer.is_plain() {
            return Err(crate::Error::Invalid("this model cannot train on plain slices".into()));
        }
        Ok(ShardJob { run, coordinator, shard, shards, trainer, samples, drawn: None, whole: None })
    }

    /// The coordinator's whole gradient for step `step`.
    pub fn receive(&mut self, step: usize, whole: ShardGradient) {
        if self.drawn.as_ref().is_some_and(|d| d.step == step) {
            self.whole = Some(whole);
        }
    }

    /// Whether [`ShardJob::step`] has work: a part to compute, or a whole to apply.
    pub fn ready(&self) -> bool {
        self.drawn.is_none() || self.whole.is_some()
    }

    /// Computes this shard's part of the next step (sent to the coordinator), or applies the
    /// step's whole. `Ok(None)` once the run has no step left.
    pub async fn step(&mut self) -> Result<Option<Vec<WorkerOutput>>> {
        if let Some(whole) = self.whole.take() {
            let drawn = self.drawn.take().expect("a whole is kept only for a drawn step");
            self.trainer.apply(&drawn, &whole).await?;
            return Ok(Some(Vec::new()));
        }
        let Some(drawn) = self.trainer.draw(&self.samples) else { return Ok(None) };
        let part = self.trainer.shard_gradient(&drawn, self.shard, self.shards);
        let message = PeerMessage::Part { run: self.run, step: drawn.step, shard: self.shard, part };
        self.drawn = Some(drawn);
        Ok(Some(vec![WorkerOutput::to_peer(self.coordinator, &message)]))
    }

    /// The trainer's parameters (the tests compare them with the coordinator's).
    #[cfg(test)]
    pub fn trainer(&self) -> &Trainer {
        &self.trainer
    }
}

impl super::Session {
    /// `PeerJoined`, `PeerLost` and `FromPeer`.
    pub(super) fn accept_peer(&mut self, input: crate::protocol::WorkerInput) -> Vec<WorkerOutput> {
        use crate::protocol::WorkerInput;
        match input {
            WorkerInput::PeerJoined { peer } => {
                self.peers.insert(peer);
            }
            WorkerInput::PeerLost { peer } => {
                self.peers.remove(&peer);
                self.lose_peer(peer);
            }
            WorkerInput::FromPeer { peer, bytes } => {
                let Ok(message) = crate::protocol::decode::<PeerMessage>(&bytes) else {
                    // A damaged message ends the pair's part in the run: the coordinator
                    // computes the shard itself, and a helper says it has left.
                    let left = self.shard.as_ref().filter(|j| j.coordinator == peer).map(|j| leave(peer, j.run));
                    self.lose_peer(peer);
                    return left.into_iter().collect();
                };
                return self.from_peer(peer, message);
            }
            _ => {}
        }
        Vec::new()
    }

    /// What worker `peer` said over the channel between them.
    fn from_peer(&mut self, peer: usize, message: PeerMessage) -> Vec<WorkerOutput> {
        match message {
            PeerMessage::Join { run, shard, shards, card_json, weights, config, samples } => {
                // A newer run replaces an older one, as the coordinator's own does; one this
                // worker cannot join, the coordinator computes instead.
                self.shard = ShardJob::join(peer, run, shard, shards, &card_json, weights, config, samples).ok();
                if self.shard.is_none() {
                    return vec![leave(peer, run)];
                }
            }
            PeerMessage::Part { run, step, shard, part } => {
                if let Some(job) = self.training.as_mut().filter(|j| j.run == run) {
                    job.receive(peer, step, shard, part);
                }
            }
            PeerMessage::Whole { run, step, whole } => {
                if let Some(job) = self.shard.as_mut().filter(|j| j.run == run && j.coordinator == peer) {
                    job.receive(step, whole);
                }
            }
            // From the coordinator: the run is over; from a helper: it is out of the run.
            PeerMessage::Leave { run } => {
                if self.shard.as_ref().is_some_and(|j| j.run == run && j.coordinator == peer) {
                    self.shard = None;
                }
                if let Some(job) = self.training.as_mut().filter(|j| j.run == run) {
                    job.lose(peer);
                }
            }
        }
        Vec::new()
    }

    fn lose_peer(&mut self, peer: usize) {
        if let Some(job) = &mut self.training {
            job.lose(peer);
        }
        if self.shard.as_ref().is_some_and(|j| j.coordinator == peer) {
            self.shard = None;
        }
    }

    /// One piece of this worker's shard of a shared run. A failure takes the helper out of the
    /// run (the coordinator computes its shard).
    pub(super) async fn shard_step(&mut self) -> Vec<WorkerOutput> {
        let Some(job) = &mut self.shard else { return Vec::new() };
        match job.step().await {
            Ok(Some(out)) => out,
            Ok(None) => {
                self.shard = None;
                Vec::new()
            }
            Err(_) => {
                let left = leave(job.coordinator, job.run);
                self.shard = None;
                vec![left]
            }
        }
    }
}
