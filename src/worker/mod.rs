//! The page's worker (wasm32 only): a dedicated Web Worker that owns the device and runs the
//! [`Session`]. Messages from the page queue up in a channel; the loop takes every waiting
//! message before each short step of work, so the page's newest request always wins and the
//! page's own thread never computes anything heavy.

mod device;

use crate::protocol::{self, WorkerInput, WorkerOutput};
use crate::session::Session;
use futures_channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use std::cell::RefCell;
use std::collections::BTreeMap;
use futures_lite::StreamExt;
use js_sys::{Array, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, MessagePort};

thread_local! {
    /// Channels to the pool's other workers, by worker number: the page hands this worker one
    /// end with a `PeerJoined` (a shared training run's gradients never cross the page).
    static PEERS: RefCell<BTreeMap<usize, MessagePort>> = RefCell::new(BTreeMap::new());
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// Sends what one step said to the page as one message (one task there, so one render, and
/// the pool hears that this worker is free before anything is drawn), its buffer transferred
/// rather than copied.
fn post_all(messages: Vec<WorkerOutput>) {
    let (to_peers, messages): (Vec<WorkerOutput>, Vec<WorkerOutput>) = messages.into_iter().partition(|m| matches!(m, WorkerOutput::ToPeer { .. }));
    for m in to_peers {
        if let WorkerOutput::ToPeer { peer, bytes } = m {
            post_to_peer(peer, &bytes);
        }
    }
    if messages.is_empty() {
        return;
    }
    let bytes = Uint8Array::from(protocol::encode(&messages).as_slice());
    if let Err(e) = scope().post_message_with_transfer(&bytes, &Array::of1(&bytes.buffer())) {
        web_sys::console::error_2(&"camseg worker: cannot post to the page".into(), &e);
    }
}

/// Sends an encoded message over the channel to worker `peer`, its buffer transferred; a peer
/// this worker has no channel to (the page replaced it meanwhile) is not there to hear it.
fn post_to_peer(peer: usize, encoded: &[u8]) {
    let bytes = Uint8Array::from(encoded);
    PEERS.with(|peers| {
        if let Some(port) = peers.borrow().get(&peer) {
            if let Err(e) = port.post_message_with_transferable(&bytes, &Array::of1(&bytes.buffer())) {
                web_sys::console::error_2(&format!("camseg worker: cannot post to worker {peer}").into(), &e);
            }
        }
    });
}

/// Keeps the channel to worker `peer` (replacing an older one) and hands what comes over it
/// to the session, as `FromPeer`.
fn open_peer(peer: usize, port: MessagePort, sender: UnboundedSender<WorkerInput>) {
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let _ = sender.unbounded_send(WorkerInput::FromPeer { peer, bytes: Uint8Array::new(&event.data()).to_vec() });
    });
    port.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // One per introduction: a handful in a page's life.
    on_message.forget();
    if let Some(old) = PEERS.with(|peers| peers.borrow_mut().insert(peer, port)) {
        old.set_onmessage(None);
        old.close();
    }
}

fn post(message: WorkerOutput) {
    post_all(vec![message]);
}

fn now_ms() -> f64 {
    scope().performance().map(|p| p.now()).unwrap_or(0.0)
}

/// Lets the worker's event loop deliver waiting messages between steps.
async fn yield_to_messages() {
    gloo::timers::future::TimeoutFuture::new(0).await;
}

/// Entry point of the worker's binaries (`camseg-worker` without WebGPU, `camseg-worker-webgpu`
/// with it).
pub fn run() {
    // Static constructors (the registries of cubecl's WebGPU compiler, in the WebGPU build) run
    // once, here. Without this explicit call wasm-ld links the binary as a "command" and wraps
    // every export in a call to them: every allocation the JS glue makes re-ran them all, 8% of
    // an analysis in the worker's profile (docs/page-speed.md, `tests/bench/profile-worker.mjs`).
    unsafe extern "C" {
        fn __wasm_call_ctors();
    }
    unsafe { __wasm_call_ctors() };
    start();
}

fn start() {
    std::panic::set_hook(Box::new(|info| {
        let message = format!("internal error in the worker: {info}");
        web_sys::console::error_1(&message.clone().into());
        post(WorkerOutput::Failed { message });
    }));
    let (sender, receiver) = unbounded();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let bytes = Uint8Array::new(&event.data()).to_vec();
        match protocol::decode::<WorkerInput>(&bytes) {
            Ok(input) => {
                if let (WorkerInput::PeerJoined { peer }, Some(port)) = (&input, event.ports().get(0).dyn_into::<MessagePort>().ok()) {
                    open_peer(*peer, port, sender.clone());
                }
                let _ = sender.unbounded_send(input);
            }
            Err(message) => post(WorkerOutput::Failed { message }),
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    post(WorkerOutput::Ready);
    wasm_bindgen_futures::spawn_local(serve(receiver));
}

async fn serve(mut inbox: UnboundedReceiver<WorkerInput>) {
    // Everything waits for the device; messages sent meanwhile are kept, in order.
    let mut early = Vec::new();
    let (choice, known, adapter) = loop {
        match inbox.next().await {
            Some(WorkerInput::Start { choice, known, adapter }) => break (choice, known, adapter),
            Some(other) => early.push(other),
            None => return,
        }
    };
    let pick = device::pick(choice, &adapter, &known).await;
    post(WorkerOutput::BackendChosen { backend: pick.backend, note: pick.note });
    let mut session = Session::new(pick.device, pick.backend, now_ms);
    if let Some(adapter) = pick.measure {
        session.measure(adapter);
    }
    for input in early {
        post_all(session.accept(input));
    }
    loop {
        while let Ok(input) = inbox.try_recv() {
            post_all(session.accept(input));
        }
        if session.busy() {
            post_all(session.step().await);
            yield_to_messages().await;
        } else {
            match inbox.next().await {
                Some(input) => post_all(session.accept(input)),
                None => return,
            }
        }
    }
}
