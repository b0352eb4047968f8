use super::*;
use std::collections::BTreeMap;

fn ids(range: std::ops::Range<u64>) -> Vec<ItemId> {
    range.map(ItemId).collect()
}

fn request(generation: u64, items: Vec<ItemId>) -> Request {
    Request { generation, model: ModelId(0), method: CamMethod::parse("gradcam").expect("a method"), block: 3, backend: Backend::Cpu, items }
}

/// Workers as the page sees them: each holds what it was given and runs its latest chunk.
#[derive(Default)]
struct Fake {
    holds: BTreeMap<usize, BTreeSet<ItemId>>,
    chunks: BTreeMap<usize, (u64, Vec<ItemId>)>,
    /// Every (worker, item) analysed, in order.
    analysed: Vec<(usize, ItemId)>,
    done: Vec<WorkerOutput>,
}

impl Fake {
    fn post(&mut self, orders: Vec<Order>) {
        for o in orders {
            let holds = self.holds.entry(o.worker).or_default();
            for id in &o.forget {
                holds.remove(id);
            }
            holds.extend(o.restore.iter().copied());
            if let Some(WorkerInput::Analyse { generation, items, .. }) = o.analyse {
                self.chunks.insert(o.worker, (generation, items));
            }
        }
    }

    /// Worker `k` finishes its chunk: a result per image it holds, then its done.
    fn finish(&mut self, pool: &mut Pool, k: usize, now: f64) {
        let Some((generation, items)) = self.chunks.remove(&k) else { return };
        for id in items {
            if k == 0 || self.holds.get(&k).is_some_and(|h| h.contains(&id)) {
                self.analysed.push((k, id));
                pool.analysed(generation, id);
            }
        }
        let (orders, done) = pool.done(k, generation, now);
        self.post(orders);
        self.done.extend(done);
    }

    /// Runs the workers in turn, a chunk each, until none has work.
    fn drain(&mut self, pool: &mut Pool) {
        let (mut now, mut last) = (10.0, None);
        while let Some(k) = self.next_after(last) {
            now += 1.0;
            self.finish(pool, k, now);
            last = Some(k);
        }
    }

    /// The next worker with a chunk after `last`, wrapping round.
    fn next_after(&self, last: Option<usize>) -> Option<usize> {
        let after = last.map_or(0, |k| k + 1);
        self.chunks.range(after..).next().or_else(|| self.chunks.iter().next()).map(|(k, _)| *k)
    }
}

#[test]
fn a_pool_leaves_a_core_to_the_page_is_capped_and_bounded_by_memory() {
    assert_eq!(size(Some(2), None, None).workers, 1);
    // Training takes every core: the page's thread only draws its progress then.
    assert_eq!((size(Some(2), None, None).trainers, size(Some(16), Some(8.0), None).trainers), (2, MAX_WORKERS));
    assert_eq!(size(Some(16), Some(2.0), None).trainers, 2, "and one per GiB");
    assert_eq!(size(Some(2), None, Some(1)).trainers, 1, "an address that asks for N gets N for both");
    assert!(size(Some(2), None, None).why.ends_with("2 share a training run"));
    assert_eq!(size(Some(3), None, None).workers, 2);
    assert_eq!(size(Some(16), Some(8.0), None).workers, MAX_WORKERS);
    let tight = size(Some(16), Some(2.0), None);
    assert_eq!(tight.workers, 2);
    assert!(tight.why.contains("GiB"), "{}", tight.why);
    assert_eq!(size(None, None, None).workers, 1);
    assert_eq!(size(Some(0), Some(0.25), None).workers, 1);
    assert_eq!(size(Some(2), None, Some(3)).workers, 3);
    assert_eq!(size(Some(2), None, Some(100)).workers, MAX_ASKED);
    assert_eq!(size(Some(2), None, Some(0)).workers, 1);
    assert!(size(Some(2), None, None).why.contains("2 cores"));
    assert_eq!(asked_in("?backend=cpu&workers=2"), Some(2));
    assert_eq!(asked_in("?workers=x"), None);
    assert_eq!(asked_in(""), None);
}

#[test]
fn every_image_is_analysed_once_by_some_worker_and_the_batch_ends_once() {
    let mut pool = Pool::new(3);
    let mut fake = Fake::default();
    fake.post(pool.join(1));
    fake.post(pool.join(2));
    let items = ids(0..50);
    let shown: BTreeSet<ItemId> = items.iter().copied().collect();
    fake.post(pool.start(request(1, items.clone()), &shown, 5.0));
    assert_eq!(fake.chunks.len(), 3, "every worker starts at once");
    assert!(pool.analysing());
    fake.drain(&mut pool);
    let mut seen: Vec<ItemId> = fake.analysed.iter().map(|a| a.1).collect();
    seen.sort();
    assert_eq!(seen, items, "each image once");
    for k in 0..3 {
        assert!(fake.analysed.iter().any(|a| a.0 == k), "worker {k} took a share");
    }
    assert_eq!(fake.done.len(), 1);
    let WorkerOutput::AnalysisDone { generation, images, millis, .. } = &fake.done[0] else { panic!("{:?}", fake.done) };
    assert_eq!((*generation, *images), (1, 50));
    assert!(*millis > 0.0);
    assert!(!pool.analysing());
    // A helper was given exactly the images of its chunks, never the main worker.
    assert!(fake.holds.get(&0).is_none_or(|h| h.is_empty()));
    for k in 1..3 {
        let took: BTreeSet<ItemId> = fake.analysed.iter().filter(|a| a.0 == k).map(|a| a.1).collect();
        assert_eq!(fake.holds[&k], took);
    }
}

#[test]
fn chunks_shrink_as_the_queue_empties() {
    let mut pool = Pool::new(2);
    pool.join(1);
    let items = ids(0..40);
    let shown = items.iter().copied().collect();
    let orders = pool.start(request(1, items), &shown, 0.0);
    let first = |o: &Order| match &o.analyse {
        Some(WorkerInput::Analyse { items, .. }) => items.len(),
        _ => 0,
    };
    assert_eq!(orders.iter().map(first).collect::<Vec<_>>(), vec![MAX_CHUNK, MAX_CHUNK]);
    let mut fake = Fake::default();
    fake.post(orders);
    let (mut last, mut k) = (0, None);
    while let Some(next) = fake.next_after(k) {
        last = fake.chunks[&next].1.len();
        fake.finish(&mut pool, next, 1.0);
        k = Some(next);
    }
    assert_eq!(last, 1, "the last chunks are single images");
}

#[test]
fn a_lost_helpers_images_go_to_the_others_and_nothing_is_lost() {
    let mut pool = Pool::new(2);
    let mut fake = Fake::default();
    fake.post(pool.join(1));
    let items = ids(0..12);
    let shown = items.iter().copied().collect();
    fake.post(pool.start(request(7, items.clone()), &shown, 0.0));
    let lost = fake.chunks.remove(&1).expect("the helper had a chunk").1;
    fake.holds.remove(&1);
    fake.post(pool.lose(1));
    fake.drain(&mut pool);
    // Its replacement joins and takes work from what is left (possibly nothing).
    fake.post(pool.join(1));
    fake.drain(&mut pool);
    let seen: BTreeSet<ItemId> = fake.analysed.iter().map(|a| a.1).collect();
    assert_eq!(seen, items.iter().copied().collect(), "the lost chunk {lost:?} was analysed elsewhere");
    assert_eq!(fake.analysed.len(), 12, "and only once");
    assert_eq!(fake.done.len(), 1);
}

#[test]
fn a_new_generation_replaces_chunks_and_a_stale_done_ends_nothing() {
    let mut pool = Pool::new(2);
    let mut fake = Fake::default();
    fake.post(pool.join(1));
    let items = ids(0..10);
    let shown = items.iter().copied().collect();
    fake.post(pool.start(request(1, items.clone()), &shown, 0.0));
    // The setting changes while both work: both get chunks of generation 2.
    let orders = pool.start(request(2, items.clone()), &shown, 1.0);
    assert_eq!(orders.len(), 2);
    assert!(orders.iter().all(|o| matches!(o.analyse, Some(WorkerInput::Analyse { generation: 2, .. }))));
    // A done of generation 1 already on its way changes nothing.
    assert_eq!(pool.done(0, 1, 2.0), (Vec::new(), None));
    fake.post(orders);
    fake.drain(&mut pool);
    assert_eq!(fake.done.len(), 1);
    assert!(matches!(fake.done[0], WorkerOutput::AnalysisDone { generation: 2, images: 10, .. }));
}

#[test]
fn the_same_generation_asked_again_gives_no_image_twice() {
    let mut pool = Pool::new(2);
    let mut fake = Fake::default();
    fake.post(pool.join(1));
    let items = ids(0..20);
    let shown = items.iter().copied().collect();
    fake.post(pool.start(request(3, items.clone()), &shown, 0.0));
    fake.finish(&mut pool, 0, 1.0);
    let answered: BTreeSet<ItemId> = fake.analysed.iter().map(|a| a.1).collect();
    let pending: Vec<ItemId> = items.iter().filter(|id| !answered.contains(id)).copied().collect();
    fake.post(pool.start(request(3, pending), &shown, 2.0));
    fake.drain(&mut pool);
    assert_eq!(fake.analysed.len(), 20);
    assert_eq!(fake.done.len(), 1);
    assert!(matches!(fake.done[0], WorkerOutput::AnalysisDone { images: 20, .. }));
}

#[test]
fn helpers_forget_what_the_page_no_longer_shows() {
    let mut pool = Pool::new(2);
    let mut fake = Fake::default();
    fake.post(pool.join(1));
    let items = ids(0..8);
    let shown: BTreeSet<ItemId> = items.iter().copied().collect();
    fake.post(pool.start(request(1, items.clone()), &shown, 0.0));
    fake.drain(&mut pool);
    assert!(!fake.holds[&1].is_empty());
    // Cleared (the page tells every worker to forget), then new images.
    pool.forget(&items);
    fake.holds.values_mut().for_each(|h| h.retain(|id| !items.contains(id)));
    let fresh = ids(100..104);
    let shown: BTreeSet<ItemId> = fresh.iter().copied().collect();
    fake.post(pool.start(request(2, fresh.clone()), &shown, 1.0));
    fake.drain(&mut pool);
    assert!(fake.holds[&1].iter().all(|id| id.0 >= 100), "{:?}", fake.holds[&1]);
    // A page that shows something else than the helper holds (a reslice) prunes too.
    let other = ids(200..202);
    let shown: BTreeSet<ItemId> = other.iter().copied().collect();
    fake.post(pool.start(request(3, other), &shown, 2.0));
    fake.drain(&mut pool);
    assert!(fake.holds[&1].iter().all(|id| id.0 >= 200), "{:?}", fake.holds[&1]);
}

#[test]
fn forgotten_images_are_not_handed_out_and_an_empty_request_ends_at_once() {
    let mut pool = Pool::new(2);
    let mut fake = Fake::default();
    fake.post(pool.join(1));
    let items = ids(0..20);
    let shown = items.iter().copied().collect();
    fake.post(pool.start(request(1, items.clone()), &shown, 0.0));
    let handed: BTreeSet<ItemId> = fake.chunks.values().flat_map(|c| c.1.iter().copied()).collect();
    assert!(handed.len() < 20);
    let rest: Vec<ItemId> = items.iter().filter(|id| !handed.contains(id)).copied().collect();
    pool.forget(&rest);
    fake.drain(&mut pool);
    assert_eq!(fake.analysed.iter().map(|a| a.1).collect::<BTreeSet<_>>(), handed);
    assert!(matches!(fake.done[..], [WorkerOutput::AnalysisDone { images, .. }] if images == handed.len()));
    // Nothing left to show: the helper forgets what it held, and no analysis starts.
    let orders = pool.start(request(2, Vec::new()), &BTreeSet::new(), 1.0);
    assert!(orders.iter().all(|o| o.worker == 1 && o.analyse.is_none() && !o.forget.is_empty()), "{orders:?}");
    assert!(!pool.analysing());
}

#[test]
fn a_worker_alone_takes_the_whole_queue_at_once() {
    let mut pool = Pool::new(3);
    let items = ids(0..30);
    let shown = items.iter().copied().collect();
    let orders = pool.start(request(1, items.clone()), &shown, 0.0);
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].analyse, Some(WorkerInput::Analyse { generation: 1, model: ModelId(0), method: request(1, Vec::new()).method, block: 3, items }));
    // A helper that joins later finds nothing left to take; joining twice changes nothing.
    assert!(pool.join(1).is_empty());
    assert!(pool.join(0).is_empty());
    assert_eq!(pool.live(), 2);
}
