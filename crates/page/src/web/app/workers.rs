//! The page's workers: the main one (it decodes, holds the models and runs every job) and, on
//! the CPU, helpers that share each analysis. [`crate::ui::pool`] decides who analyses what;
//! this starts the workers, posts its orders, routes what the workers say, and replaces one
//! that dies. On WebGPU the main worker works alone: the GPU is its parallelism.

use super::{messages, now_ms, Shared};
use crate::protocol::{decide, Adapter, Backend, BackendChoice, ItemId, WorkerInput, WorkerOutput};
use crate::ui::pool::{self, Order, Request, Size};
use crate::ui::state::{Action, Item};
use crate::web::{adapter, link::Link};
use crate::web::remembered;
use std::collections::BTreeSet;
use std::rc::Rc;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::spawn_local;

/// Restarts of crashed workers before the page gives up (a loop of crashes helps nobody).
const MAX_RESTARTS: u32 = 3;

/// The pool's size for this browser: its cores and memory, or `?workers=N`.
pub(super) fn size(query: &str) -> Size {
    let navigator = web_sys::window().map(|w| w.navigator());
    let cores = navigator.as_ref().map(|n| n.hardware_concurrency() as usize);
    let memory = navigator.and_then(|n| js_sys::Reflect::get(&n, &JsValue::from_str("deviceMemory")).ok()).and_then(|m| m.as_f64());
    pool::size(cores, memory, pool::asked_in(query))
}

/// Starts worker `k` on `choice`; what it says goes to [`route`] (the page's side is held
/// weakly: a worker must not keep it alive). Every worker starts on the build without WebGPU;
/// the main one (unless `?backend=cpu`) waits, told nothing, for the page's probe of WebGPU,
/// and is replaced by the WebGPU build where [`decide`] needs it.
pub(super) fn connect(shared: &Rc<Shared>, k: usize, choice: BackendChoice) -> Result<Link, String> {
    let (out, crash) = (Rc::downgrade(shared), Rc::downgrade(shared));
    let on_output = move |outputs| {
        if let Some(shared) = out.upgrade() {
            route_all(k, outputs, &shared);
        }
    };
    let on_crash = move |why| {
        if let Some(shared) = crash.upgrade() {
            // Not from inside the dying link's own handler: the link is replaced.
            spawn_local(async move { recover(shared, k, why) });
        }
    };
    if choice == BackendChoice::Cpu {
        let start = WorkerInput::Start { choice, known: Vec::new(), adapter: Adapter::NotProbed };
        return Link::spawn_cpu(shared.cpu_build, &start, on_output, on_crash);
    }
    let (link, starter) = Link::speculative(shared.cpu_build, on_output, on_crash)?;
    let dispatch = shared.dispatch.clone();
    spawn_local(async move {
        let adapter = adapter::probe().await;
        let known = remembered::measured();
        let webgpu = decide(choice, &adapter, &known).needs_webgpu();
        super::mark(if webgpu { "webgpu-build-chosen" } else { "cpu-build-kept" });
        if let Err(why) = starter.settle(webgpu, &WorkerInput::Start { choice, known, adapter }) {
            dispatch.dispatch(Action::Failed(why));
        }
    });
    Ok(link)
}

/// What one step of worker `k` said. The pool hears it first, so a worker that is free gets its
/// next chunk before the page draws anything; then the page's state, with the pool's progress
/// and, when the whole batch is done, its one `AnalysisDone`.
fn route_all(k: usize, outputs: Vec<WorkerOutput>, shared: &Rc<Shared>) {
    let (mut busy, mut finished) = (None, None);
    for output in &outputs {
        match output {
            WorkerOutput::Analysed { generation, item, .. } => busy = shared.pool.borrow_mut().analysed(*generation, *item).or(busy),
            WorkerOutput::AnalysisDone { generation, .. } => {
                let (orders, done) = shared.pool.borrow_mut().done(k, *generation, now_ms());
                post(shared, orders);
                finished = done.or(finished);
            }
            _ => {}
        }
    }
    for output in outputs {
        route(k, output, shared);
    }
    if let Some(busy) = busy.filter(|_| finished.is_none()) {
        shared.dispatch.dispatch(Action::Working(Some(busy)));
    }
    if let Some(done) = finished {
        messages::on_output(done, shared);
    }
}

/// One message of worker `k`, after the pool has heard it. Helpers speak to the page only of
/// their analyses and failures.
fn route(k: usize, output: WorkerOutput, shared: &Rc<Shared>) {
    if k == 0 {
        startup_mark(&output, shared);
    }
    match output {
        WorkerOutput::Analysed { item, ref finding, .. } => {
            if k != 0 {
                shared.send(&WorkerInput::Adopt { item, probability: finding.probability, heatmap: finding.heatmap.clone() });
            }
            messages::on_output(output, shared);
        }
        WorkerOutput::AnalysisDone { .. } => {}
        WorkerOutput::BackendChosen { backend, .. } if k != 0 => {
            let orders = shared.pool.borrow_mut().join(k);
            post(shared, orders);
            introduce(shared, k);
            say_size(shared, backend);
        }
        WorkerOutput::BackendChosen { backend, .. } if k == 0 => {
            main_on(shared, backend);
            messages::on_output(output, shared);
        }
        WorkerOutput::BackendMeasured(ref m) if k == 0 => {
            main_on(shared, m.faster());
            messages::on_output(output, shared);
        }
        WorkerOutput::BackendLost { .. } if k == 0 => {
            main_on(shared, Backend::Cpu);
            messages::on_output(output, shared);
        }
        // The pool says how far an analysis is; the main worker's idle note after its chunk,
        // while helpers still work, would clear that.
        WorkerOutput::Busy(ref busy) if k != 0 || (busy.is_none() && shared.pool.borrow().analysing()) => {}
        WorkerOutput::Failed { .. } => messages::on_output(output, shared),
        _ if k != 0 => {}
        _ => messages::on_output(output, shared),
    }
}

/// The steps to the first heatmap, marked once each on the page's timeline.
fn startup_mark(output: &WorkerOutput, shared: &Shared) {
    let name = match output {
        WorkerOutput::BackendChosen { .. } => "backend-chosen",
        WorkerOutput::ModelAccepted { .. } => "model-ready",
        WorkerOutput::Loaded { .. } => "demo-decoded",
        WorkerOutput::Analysed { .. } => "first-heatmap",
        _ => return,
    };
    if shared.marked.borrow_mut().insert(name) {
        super::mark(name);
        if name == "first-heatmap" {
            crate::web::register_service_worker();
        }
    }
}

/// The main worker has a device (again): it takes work, and on the CPU its helpers start.
fn main_on(shared: &Rc<Shared>, backend: Backend) {
    shared.main_backend.set(Some(backend));
    let orders = shared.pool.borrow_mut().join(0);
    post(shared, orders);
    if backend == Backend::Cpu {
        start_helpers(shared);
    }
    say_size(shared, backend);
}

/// The helpers, once the main worker is on the CPU: each gets every model the page holds.
fn start_helpers(shared: &Rc<Shared>) {
    let wanted = shared.pool.borrow().size();
    start_workers(shared, 1..wanted);
}

/// Workers for training alone, beyond the pool, once a labelled folder is given and the main
/// worker is on the CPU: a run that starts after they are introduced shares its steps with them.
pub(super) fn start_trainers(shared: &Rc<Shared>) {
    if shared.main_backend.get() == Some(Backend::Cpu) {
        let from = shared.pool.borrow().size();
        start_workers(shared, from..shared.trainers);
    }
}

fn start_workers(shared: &Rc<Shared>, range: std::ops::Range<usize>) {
    let wanted = range.end;
    for k in range {
        if shared.links.borrow().get(k).is_some_and(Option::is_some) {
            continue;
        }
        match connect(shared, k, BackendChoice::Cpu) {
            Ok(link) => {
                give_models(shared, &link);
                let mut links = shared.links.borrow_mut();
                let len = wanted.max(links.len());
                links.resize_with(len, || None);
                links[k] = Some(link);
            }
            Err(why) => web_sys::console::warn_1(&format!("camseg: helper worker {k} did not start ({why})").into()),
        }
    }
}

/// Gives the main worker and helper `k` a channel of their own, for a training run on the CPU
/// shared between them (its gradients then never cross the page's thread).
fn introduce(shared: &Shared, k: usize) {
    let links = shared.links.borrow();
    let (Some(Some(main)), Some(Some(helper))) = (links.first(), links.get(k)) else { return };
    match web_sys::MessageChannel::new() {
        Ok(channel) => {
            main.send_with_port(&WorkerInput::PeerJoined { peer: k }, channel.port1());
            helper.send_with_port(&WorkerInput::PeerJoined { peer: 0 }, channel.port2());
        }
        Err(e) => web_sys::console::warn_2(&"camseg: no channel between workers; training stays on the main worker".into(), &e),
    }
}

fn give_models(shared: &Shared, link: &Link) {
    for (id, (card, weights)) in shared.models.borrow().iter() {
        link.send(&WorkerInput::AddModel { model: *id, card_json: card.to_json(), weights: (**weights).clone() });
    }
}

/// The pool's size in the page's words: live workers, and why that many.
fn say_size(shared: &Shared, backend: Backend) {
    let note = match backend {
        Backend::WebGpu => "1 worker (the GPU computes)".to_string(),
        Backend::Cpu => {
            let (live, size) = { let pool = shared.pool.borrow(); (pool.live(), pool.size()) };
            let started = if live < size { format!("{live} of {size} workers started") } else { format!("{size} worker{}", if size == 1 { "" } else { "s" }) };
            let fused = if crate::web::link::fused(shared.cpu_build) { "; fused multiply-add (wasm relaxed SIMD)" } else { "" };
            format!("{started}: {}{fused}", shared.sized_by)
        }
    };
    shared.dispatch.dispatch(Action::Workers(note));
}

/// Shares out an analysis: the images the page shows and still needs, in its order.
pub(super) fn analyse(shared: &Rc<Shared>, request: Request) {
    let shown: BTreeSet<ItemId> = shared.items.borrow().iter().map(|i| i.id).collect();
    let orders = shared.pool.borrow_mut().start(request, &shown, now_ms());
    post(shared, orders);
}

/// Posts the pool's orders: forgets, the images a helper needs (from the page's copies), the chunk.
fn post(shared: &Shared, orders: Vec<Order>) {
    for order in orders {
        let links = shared.links.borrow();
        let Some(link) = links.get(order.worker).and_then(Option::as_ref) else { continue };
        if !order.forget.is_empty() {
            link.send(&WorkerInput::Forget { items: order.forget });
        }
        if !order.restore.is_empty() {
            let items = shared.items.borrow();
            let restore = items.iter().filter(|i| order.restore.contains(&i.id)).map(Item::to_new).collect();
            link.send(&WorkerInput::Restore { items: restore });
        }
        if let Some(analyse) = order.analyse {
            link.send(&analyse);
        }
    }
}

/// A worker that died is replaced on the CPU. The main worker's replacement gets every model
/// and image back and the page re-analyses what it shows; a helper's gets the models, and its
/// unanswered images go to the others meanwhile.
fn recover(shared: Rc<Shared>, k: usize, why: String) {
    let orders = shared.pool.borrow_mut().lose(k);
    post(&shared, orders);
    if let Some(slot) = shared.links.borrow_mut().get_mut(k) {
        slot.take();
    }
    if k != 0 {
        // A run shared with it goes on without it.
        if let Some(Some(main)) = shared.links.borrow().first() {
            main.send(&WorkerInput::PeerLost { peer: k });
        }
    }
    if shared.restarts.get() >= MAX_RESTARTS {
        if k == 0 {
            shared.links.borrow_mut().clear();
        }
        return shared.dispatch.dispatch(Action::Failed(format!("{why}. It stopped {MAX_RESTARTS} times; reload the page to start again.")));
    }
    shared.restarts.set(shared.restarts.get() + 1);
    let link = match connect(&shared, k, BackendChoice::Cpu) {
        Ok(link) => link,
        Err(e) => return shared.dispatch.dispatch(Action::Failed(format!("{why}; {e}"))),
    };
    give_models(&shared, &link);
    if k == 0 {
        let items = shared.items.borrow().iter().map(Item::to_new).collect();
        link.send(&WorkerInput::Restore { items });
    }
    if let Some(slot) = shared.links.borrow_mut().get_mut(k) {
        *slot = Some(link);
    }
    if k == 0 {
        // The new main worker meets every helper; each helper's old channel is replaced.
        let helpers = shared.links.borrow().len();
        (1..helpers).for_each(|h| introduce(&shared, h));
        shared.dispatch.dispatch(Action::BackendLost { note: format!("{why}; it was restarted on the CPU") });
    } else {
        shared.dispatch.dispatch(Action::Status(format!("helper worker {k} stopped ({why}); a new one took over its images")));
    }
}
