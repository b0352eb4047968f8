//! The page's end of the worker: spawning it and exchanging [`crate::protocol`] messages, each
//! one bincode buffer transferred (not copied) across threads (from the worker, the outputs of
//! one step together).
//!
//! A worker's script starts before its wasm is compiled, and a message that arrives before the
//! worker listens is lost, so messages wait here until the worker says [`WorkerOutput::Ready`].

use crate::protocol::{self, WorkerInput, WorkerOutput};
use js_sys::{Array, Uint8Array};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker};

/// Trunk's loader for the worker binary (`data-type="worker"` with `data-loader-shim`).
const WORKER_SCRIPT: &str = "./camseg-worker_loader.js";

struct Port {
    worker: Worker,
    /// Messages written before the worker listens; `None` once it does.
    waiting: RefCell<Option<Vec<Uint8Array>>>,
}

impl Port {
    fn post(&self, bytes: &Uint8Array) {
        if let Err(e) = self.worker.post_message_with_transfer(bytes, &Array::of1(&bytes.buffer())) {
            web_sys::console::error_2(&"camseg: cannot post to the worker".into(), &e);
        }
    }

    fn ready(&self) {
        super::timeline::mark("worker-ready");
        for bytes in self.waiting.borrow_mut().take().unwrap_or_default() {
            self.post(&bytes);
        }
    }
}

pub struct Link {
    port: Rc<Port>,
    // Kept alive as long as the worker: the browser calls them.
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

impl Link {
    /// Starts the worker. `on_output` gets every message (what one step of the worker said);
    /// `on_crash` a description when the worker dies (a wasm abort), after which it answers
    /// nothing more.
    pub fn spawn(on_output: impl Fn(Vec<WorkerOutput>) + 'static, on_crash: impl Fn(String) + 'static) -> Result<Link, String> {
        let worker = Worker::new(WORKER_SCRIPT).map_err(|e| format!("cannot start the page's worker ({e:?})"))?;
        let port = Rc::new(Port { worker, waiting: RefCell::new(Some(Vec::new())) });
        let on_crash = Rc::new(on_crash);
        let (crashed, listener) = (on_crash.clone(), port.clone());
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            match protocol::decode::<Vec<WorkerOutput>>(&Uint8Array::new(&event.data()).to_vec()) {
                Ok(outputs) if outputs == [WorkerOutput::Ready] => listener.ready(),
                Ok(outputs) => on_output(outputs),
                Err(message) => on_crash(message),
            }
        });
        port.worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
            crashed(format!("the page's worker stopped ({})", event.message()));
        });
        port.worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Link { port, _on_message: on_message, _on_error: on_error })
    }

    pub fn send(&self, input: &WorkerInput) {
        self.send_encoded(&protocol::encode(input));
    }

    /// A message already encoded (one encoding serves every worker of the pool; each post
    /// transfers a copy of its own).
    pub fn send_encoded(&self, encoded: &[u8]) {
        let bytes = Uint8Array::from(encoded);
        match self.port.waiting.borrow_mut().as_mut() {
            Some(queue) => queue.push(bytes),
            None => self.port.post(&bytes),
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.port.worker.terminate();
    }
}
