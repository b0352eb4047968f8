//! A pool of workers sharing one analysis: how many workers, which worker analyses which
//! images, and when the whole batch is done. Pure bookkeeping, tested natively; the page posts
//! the [`Order`]s it returns.
//!
//! Work goes out from one queue in chunks, one chunk to each free worker, shrinking as the queue
//! empties (guided self-scheduling): a worker that starts late or runs slower takes fewer chunks,
//! and the workers finish close together. Worker 0, the main worker, decoded every image and
//! holds them all. A helper is given an image (a `Restore`) the first time a chunk needs it, and
//! told to forget the images the page no longer shows.

use crate::cam::CamMethod;
use crate::protocol::{Backend, Busy, ItemId, ModelId, WorkerInput, WorkerOutput};
use std::collections::{BTreeSet, VecDeque};

/// The most workers the page starts on its own (`?workers=N` may ask for up to [`MAX_ASKED`]).
pub const MAX_WORKERS: usize = 4;
/// The most workers an address may ask for.
pub const MAX_ASKED: usize = 8;
/// Memory per worker: its wasm heap holds a model, the images it was given and their maps.
pub const GIB_PER_WORKER: f64 = 1.0;
/// The largest chunk one worker is given at once.
pub const MAX_CHUNK: usize = 4;

/// How many workers, and why, in words the page shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Size {
    pub workers: usize,
    /// Workers for a training run on the CPU: the analysis pool's and, beyond it, workers
    /// started for training alone.
    pub trainers: usize,
    pub why: String,
}

/// One worker per core but one, which is left to the page and the browser, at most
/// [`MAX_WORKERS`], and one per [`GIB_PER_WORKER`] of the memory the browser reports; `asked`
/// (from the address) overrides both. On two cores, two workers made the page's longest task
/// 57-66 ms in 4 of 7 rounds against 0 ms in 5 of 6 with one (`tests/bench/page.mjs --workers`,
/// docs/page-speed.md): the page's thread needs a core of its own.
pub fn size(cores: Option<usize>, memory_gib: Option<f64>, asked: Option<usize>) -> Size {
    if let Some(n) = asked {
        let workers = n.clamp(1, MAX_ASKED);
        return Size { workers, trainers: workers, why: format!("as the address asks (workers={n}; at most {MAX_ASKED})") };
    }
    let cores = cores.filter(|&c| c > 0);
    let by_cores = cores.map_or(1, |c| c - 1).clamp(1, MAX_WORKERS);
    let by_memory = memory_gib.filter(|m| m.is_finite() && *m > 0.0).map(|m| ((m / GIB_PER_WORKER).floor() as usize).max(1));
    let workers = by_memory.map_or(by_cores, |m| m.min(by_cores));
    // A training run leaves the page's thread little to do but draw its progress: one per core.
    let all_cores = cores.unwrap_or(1).clamp(1, MAX_WORKERS);
    let trainers = by_memory.map_or(all_cores, |m| m.min(all_cores)).max(workers);
    let cores_said = cores.map_or("the browser does not say how many cores".to_string(), |c| format!("{c} core{}", if c == 1 { "" } else { "s" }));
    let why = match by_memory {
        Some(m) if m < by_cores => format!("one per {GIB_PER_WORKER} GiB of the {} GiB the browser reports", memory_gib.unwrap_or_default()),
        _ => format!("one per core but one, left to the page ({cores_said}), at most {MAX_WORKERS}"),
    };
    let why = if trainers > workers { format!("{why}; {trainers} share a training run") } else { why };
    Size { workers, trainers, why }
}

/// `?workers=N` in the page's address.
pub fn asked_in(query: &str) -> Option<usize> {
    query.trim_start_matches('?').split('&').find_map(|kv| kv.strip_prefix("workers="))?.parse().ok()
}

/// What to post to one worker, in this order: images to forget, images to give it (the page
/// holds them), then a chunk to analyse (an `Analyse`, replacing any earlier one there).
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    pub worker: usize,
    pub forget: Vec<ItemId>,
    pub restore: Vec<ItemId>,
    pub analyse: Option<WorkerInput>,
}

#[derive(Clone, Debug, Default)]
struct Worker {
    /// Started and not lost: it can take work (its messages wait in the link until it listens).
    live: bool,
    /// Images it was given (helpers only: the main worker decoded them all).
    holds: BTreeSet<ItemId>,
    /// The chunk it is analysing, and for which generation.
    chunk: Option<(u64, Vec<ItemId>)>,
}

#[derive(Clone, Debug)]
struct Round {
    generation: u64,
    model: ModelId,
    method: CamMethod,
    block: usize,
    backend: Backend,
    queue: VecDeque<ItemId>,
    total: usize,
    answered: BTreeSet<ItemId>,
    started_ms: f64,
}

/// The workers and the analysis they share.
#[derive(Clone, Debug)]
pub struct Pool {
    workers: Vec<Worker>,
    round: Option<Round>,
}

/// What the page asks the pool to analyse.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub generation: u64,
    pub model: ModelId,
    pub method: CamMethod,
    pub block: usize,
    pub backend: Backend,
    /// In the order the page wants them (the image on screen first).
    pub items: Vec<ItemId>,
}

impl Pool {
    /// A pool of `workers` (at least one); the main worker is live, helpers once they [`join`](Pool::join).
    pub fn new(workers: usize) -> Self {
        let mut workers = vec![Worker::default(); workers.max(1)];
        workers[0].live = true;
        Self { workers, round: None }
    }

    pub fn size(&self) -> usize {
        self.workers.len()
    }

    /// Workers that take work now.
    pub fn live(&self) -> usize {
        self.workers.iter().filter(|w| w.live).count()
    }

    /// Whether an analysis is under way (the workers' own progress notes are then the pool's).
    pub fn analysing(&self) -> bool {
        self.round.is_some()
    }

    /// A new analysis replaces the old: every free worker, and every worker still on an older
    /// one, gets a chunk. Helpers forget images the page no longer shows (`shown`). Asked again
    /// for the same generation, the images already out in chunks are not given twice.
    pub fn start(&mut self, request: Request, shown: &BTreeSet<ItemId>, now_ms: f64) -> Vec<Order> {
        let forgets: Vec<Vec<ItemId>> = self.workers.iter_mut().enumerate().map(|(k, w)| if k == 0 { Vec::new() } else { prune(w, shown) }).collect();
        let Request { generation, model, method, block, backend, items } = request;
        let out: BTreeSet<ItemId> = self.workers.iter().filter_map(|w| w.chunk.as_ref()).filter(|(g, _)| *g == generation).flat_map(|(_, c)| c.iter().copied()).collect();
        let queue: VecDeque<ItemId> = items.into_iter().filter(|id| !out.contains(id)).collect();
        let (answered, started_ms) = match self.round.take().filter(|r| r.generation == generation) {
            Some(r) => (r.answered, r.started_ms),
            None => (BTreeSet::new(), now_ms),
        };
        let total = answered.len() + out.len() + queue.len();
        self.round = (total > answered.len()).then_some(Round { generation, model, method, block, backend, queue, total, answered, started_ms });
        let mut orders = Vec::new();
        for (k, forget) in forgets.into_iter().enumerate() {
            let w = &self.workers[k];
            if !w.live {
                continue;
            }
            let wants_work = w.chunk.as_ref().is_none_or(|(g, _)| *g != generation);
            orders.extend(if wants_work { self.give(k, forget) } else { only_forget(k, forget) });
        }
        orders
    }

    /// One image's result arrived: the page's progress line, while the analysis runs.
    pub fn analysed(&mut self, generation: u64, item: ItemId) -> Option<Busy> {
        let workers = self.live();
        let round = self.round.as_mut().filter(|r| r.generation == generation)?;
        round.answered.insert(item);
        let what = format!("analysing on {} with {workers} worker{}", round.backend.label(), if workers == 1 { "" } else { "s" });
        Some(Busy { what, done: round.answered.len(), total: round.total })
    }

    /// Worker `k` finished a chunk: it gets the next one; once every chunk of the analysis is
    /// done, the pool's one `AnalysisDone` (images answered, time since the request).
    pub fn done(&mut self, k: usize, generation: u64, now_ms: f64) -> (Vec<Order>, Option<WorkerOutput>) {
        let Some(worker) = self.workers.get_mut(k) else { return (Vec::new(), None) };
        if worker.chunk.as_ref().is_some_and(|(g, _)| *g == generation) {
            worker.chunk = None;
        }
        let Some(round) = &self.round else { return (Vec::new(), None) };
        if worker.chunk.is_some() || !worker.live {
            return (Vec::new(), None);
        }
        let finished = round.queue.is_empty() && !self.workers.iter().any(|w| w.chunk.as_ref().is_some_and(|(g, _)| *g == round.generation));
        if finished {
            let round = self.round.take().expect("checked above");
            let done = WorkerOutput::AnalysisDone { generation: round.generation, images: round.answered.len(), millis: now_ms - round.started_ms, backend: round.backend };
            return (Vec::new(), Some(done));
        }
        (self.give(k, Vec::new()).into_iter().collect(), None)
    }

    /// A worker was started (or restarted) and has its device: it takes work at once. A worker
    /// already live is left as it is.
    pub fn join(&mut self, k: usize) -> Vec<Order> {
        let Some(worker) = self.workers.get_mut(k).filter(|w| !w.live) else { return Vec::new() };
        *worker = Worker { live: true, ..Worker::default() };
        self.give(k, Vec::new()).into_iter().collect()
    }

    /// Worker `k` died: its unanswered images go back to the front of the queue for the
    /// others (and for its replacement), and what it held is gone with it.
    pub fn lose(&mut self, k: usize) -> Vec<Order> {
        let Some(worker) = self.workers.get_mut(k) else { return Vec::new() };
        let chunk = std::mem::take(worker).chunk;
        if let (Some(round), Some((generation, items))) = (self.round.as_mut(), chunk) {
            if generation == round.generation {
                for id in items.into_iter().rev().filter(|id| !round.answered.contains(id)) {
                    round.queue.push_front(id);
                }
            }
        }
        // Idle live workers take what came back.
        let idle: Vec<usize> = (0..self.workers.len()).filter(|&j| self.workers[j].live && self.workers[j].chunk.is_none()).collect();
        idle.into_iter().filter_map(|j| self.give(j, Vec::new())).collect()
    }

    /// The page forgot these images (Clear): nobody analyses or holds them any more.
    pub fn forget(&mut self, items: &[ItemId]) {
        if let Some(round) = &mut self.round {
            round.queue.retain(|id| !items.contains(id));
        }
        for w in &mut self.workers {
            w.holds.retain(|id| !items.contains(id));
        }
    }

    /// The next chunk for worker `k`, with the images it must be given first; none when the
    /// queue is empty and it has nothing to forget.
    fn give(&mut self, k: usize, forget: Vec<ItemId>) -> Option<Order> {
        let Some(round) = self.round.as_mut() else { return only_forget(k, forget) };
        // Alone, a worker takes the whole queue at once (no round trips); in company, chunks.
        let live = self.workers.iter().filter(|w| w.live).count();
        let size = if live <= 1 { round.queue.len() } else { round.queue.len().div_ceil(2 * live).clamp(1, MAX_CHUNK) };
        let chunk: Vec<ItemId> = (0..size).filter_map(|_| round.queue.pop_front()).collect();
        if chunk.is_empty() {
            return only_forget(k, forget);
        }
        let worker = &mut self.workers[k];
        let restore = if k == 0 { Vec::new() } else { chunk.iter().filter(|id| worker.holds.insert(**id)).copied().collect() };
        worker.chunk = Some((round.generation, chunk.clone()));
        let analyse = WorkerInput::Analyse { generation: round.generation, model: round.model, method: round.method, block: round.block, items: chunk };
        Some(Order { worker: k, forget, restore, analyse: Some(analyse) })
    }
}

/// What a worker's holds lose because the page no longer shows them.
fn prune(worker: &mut Worker, shown: &BTreeSet<ItemId>) -> Vec<ItemId> {
    let gone: Vec<ItemId> = worker.holds.difference(shown).copied().collect();
    worker.holds.retain(|id| shown.contains(id));
    gone
}

/// An order of forgets alone, if there are any.
fn only_forget(worker: usize, forget: Vec<ItemId>) -> Option<Order> {
    (!forget.is_empty()).then_some(Order { worker, forget, restore: Vec::new(), analyse: None })
}

#[cfg(test)]
mod tests;
