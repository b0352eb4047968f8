//! The page's end of the worker: spawning it and exchanging [`crate::protocol`] messages, each
//! one bincode buffer transferred (not copied) across threads (from the worker, the outputs of
//! one step together).
//!
//! A worker's script starts before its wasm is compiled, and a message that arrives before the
//! worker listens is lost, so messages wait here until the worker says [`WorkerOutput::Ready`].

use crate::protocol::{self, WorkerInput, WorkerOutput};
use js_sys::{Array, Uint8Array};
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, MessagePort, Worker};

/// Trunk's loaders for the worker's two builds (`data-type="worker"` with `data-loader-shim`):
/// without WebGPU (a third of the size) and with it. The page's main worker starts as the
/// first at once and is replaced by the second, before it is told anything, where the page's
/// probe of WebGPU asks for it.
const CPU_WORKER: &str = "./camseg-worker_loader.js";
const WEBGPU_WORKER: &str = "./camseg-worker-webgpu_loader.js";
/// The build without WebGPU again, with wasm's relaxed SIMD: its convolutions multiply and
/// add in one fused instruction (`scripts/build-relaxed-worker.sh`).
const RELAXED_WORKER: &str = "./camseg-worker-relaxed_loader.js";

/// A module whose one function returns `f32x4.relaxed_madd` of three zero vectors: valid
/// exactly where the browser runs relaxed SIMD.
const RELAXED_PROBE: [u8; 82] = [
    0, 97, 115, 109, 1, 0, 0, 0, // magic, version
    1, 5, 1, 96, 0, 1, 123, // a type: () -> v128
    3, 2, 1, 0, // one function of that type
    10, 61, 1, 59, 0, // its code: 59 bytes, no locals
    253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // v128.const 0
    253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    253, 133, 2, 11, // f32x4.relaxed_madd, end
];

/// The CPU build this browser runs: the relaxed SIMD one where it validates, unless the
/// address (`query`) asks for the plain one (`?simd=plain`, to time one against the other).
pub fn cpu_build(query: &str) -> &'static str {
    let plain = query.split(['?', '&']).any(|kv| kv == "simd=plain");
    let relaxed = js_sys::WebAssembly::validate(&Uint8Array::from(&RELAXED_PROBE[..])).unwrap_or(false);
    if relaxed && !plain { RELAXED_WORKER } else { CPU_WORKER }
}

/// Whether `build` (from [`cpu_build`]) multiplies with fused multiply-adds.
pub fn fused(build: &str) -> bool {
    build == RELAXED_WORKER
}

struct Port {
    /// The running build; None before the first launch.
    worker: RefCell<Option<Worker>>,
    /// Messages not yet posted, each with the channel it hands over if any; `None` once they
    /// have been.
    waiting: RefCell<Option<Vec<(Uint8Array, Option<MessagePort>)>>>,
    /// The running build has said it listens.
    listening: Cell<bool>,
    /// Which build runs is settled, and the first message leads `waiting`.
    settled: Cell<bool>,
    // Given to each build launched; they hold the port weakly.
    on_message: Closure<dyn FnMut(MessageEvent)>,
    on_error: Closure<dyn FnMut(ErrorEvent)>,
}

impl Port {
    fn post(&self, bytes: &Uint8Array, port: Option<&MessagePort>) {
        let Some(worker) = &*self.worker.borrow() else { return };
        let transfer = Array::of1(&bytes.buffer());
        if let Some(port) = port {
            transfer.push(port);
        }
        if let Err(e) = worker.post_message_with_transfer(bytes, &transfer) {
            web_sys::console::error_2(&"camseg: cannot post to the worker".into(), &e);
        }
    }

    fn flush_if_due(&self) {
        if self.listening.get() && self.settled.get() {
            for (bytes, port) in self.waiting.borrow_mut().take().unwrap_or_default() {
                self.post(&bytes, port.as_ref());
            }
        }
    }

    fn ready(&self) {
        super::timeline::mark("worker-ready");
        self.listening.set(true);
        self.flush_if_due();
    }

    /// Starts a build, ending the one running (nothing it still says is heard).
    fn launch(&self, script: &str) -> Result<(), String> {
        if let Some(old) = self.worker.borrow_mut().take() {
            old.set_onmessage(None);
            old.set_onerror(None);
            old.terminate();
        }
        self.listening.set(false);
        let worker = Worker::new(script).map_err(|e| format!("cannot start the page's worker ({e:?})"))?;
        worker.set_onmessage(Some(self.on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(self.on_error.as_ref().unchecked_ref()));
        *self.worker.borrow_mut() = Some(worker);
        Ok(())
    }

    fn settle(&self, first: &WorkerInput) {
        if let Some(queue) = self.waiting.borrow_mut().as_mut() {
            queue.insert(0, (Uint8Array::from(protocol::encode(first).as_slice()), None));
        }
        self.settled.set(true);
        self.flush_if_due();
    }
}

pub struct Link {
    port: Rc<Port>,
}

/// Settles which build a [`Link::speculative`] link runs; nothing once the link is gone.
pub struct Starter(Weak<Port>);

impl Starter {
    /// Keeps the build without WebGPU already started, or replaces it with the WebGPU build;
    /// `first` then reaches the worker before every message already written.
    pub fn settle(self, webgpu: bool, first: &WorkerInput) -> Result<(), String> {
        let Some(port) = self.0.upgrade() else { return Ok(()) };
        if webgpu {
            port.launch(WEBGPU_WORKER)?;
        }
        port.settle(first);
        Ok(())
    }
}

impl Link {
    /// `on_output` gets every message (what one step of the worker said); `on_crash` a
    /// description when the worker dies (a wasm abort), after which it answers nothing more.
    fn new(on_output: impl Fn(Vec<WorkerOutput>) + 'static, on_crash: impl Fn(String) + 'static) -> Link {
        let port = Rc::new_cyclic(|me: &Weak<Port>| {
            let on_crash = Rc::new(on_crash);
            let (crashed, listener) = (on_crash.clone(), me.clone());
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                match protocol::decode::<Vec<WorkerOutput>>(&Uint8Array::new(&event.data()).to_vec()) {
                    Ok(outputs) if matches!(outputs.as_slice(), [WorkerOutput::Ready]) => {
                        if let Some(port) = listener.upgrade() {
                            port.ready();
                        }
                    }
                    Ok(outputs) => on_output(outputs),
                    Err(message) => on_crash(message),
                }
            });
            let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
                crashed(format!("the page's worker stopped ({})", event.message()));
            });
            let (waiting, listening, settled) = (RefCell::new(Some(Vec::new())), Cell::new(false), Cell::new(false));
            Port { worker: RefCell::new(None), waiting, listening, settled, on_message, on_error }
        });
        Link { port }
    }

    /// A worker of the build without WebGPU, told `first` before anything else.
    pub fn spawn_cpu(build: &str, first: &WorkerInput, on_output: impl Fn(Vec<WorkerOutput>) + 'static, on_crash: impl Fn(String) + 'static) -> Result<Link, String> {
        let link = Link::new(on_output, on_crash);
        link.port.launch(build)?;
        link.port.settle(first);
        Ok(link)
    }

    /// A worker of the build without WebGPU, started before the page knows whether WebGPU is
    /// wanted (its wasm compiles meanwhile); messages wait until [`Starter::settle`].
    pub fn speculative(build: &str, on_output: impl Fn(Vec<WorkerOutput>) + 'static, on_crash: impl Fn(String) + 'static) -> Result<(Link, Starter), String> {
        let link = Link::new(on_output, on_crash);
        link.port.launch(build)?;
        let starter = Starter(Rc::downgrade(&link.port));
        Ok((link, starter))
    }

    pub fn send(&self, input: &WorkerInput) {
        self.send_encoded(&protocol::encode(input));
    }

    /// A message already encoded (one encoding serves every worker of the pool; each post
    /// transfers a copy of its own).
    pub fn send_encoded(&self, encoded: &[u8]) {
        self.post_or_keep(Uint8Array::from(encoded), None);
    }

    /// `input` with one end of a channel to another worker of the pool, transferred with it.
    pub fn send_with_port(&self, input: &WorkerInput, port: MessagePort) {
        self.post_or_keep(Uint8Array::from(protocol::encode(input).as_slice()), Some(port));
    }

    fn post_or_keep(&self, bytes: Uint8Array, port: Option<MessagePort>) {
        match self.port.waiting.borrow_mut().as_mut() {
            Some(queue) => queue.push((bytes, port)),
            None => self.port.post(&bytes, port.as_ref()),
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        if let Some(worker) = self.port.worker.borrow().as_ref() {
            worker.terminate();
        }
    }
}
