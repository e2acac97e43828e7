//! The page's side of the engine worker: starts it, sends it [`Request`]s and hands its
//! [`Reply`]s to one handler ([`crate::state::Page::receive`]). The page itself never decodes,
//! resamples or runs the model.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::error::PageError;
use crate::protocol::{self, Reply, Request};

/// The worker's loader, as trunk writes it beside the page (workers keep unhashed names).
const WORKER_SCRIPT: &str = "timnet-worker_loader.js";

/// The worker's script and WebAssembly, for keeping the page offline.
pub const WORKER_FILES: [&str; 3] = [WORKER_SCRIPT, "timnet-worker.js", "timnet-worker_bg.wasm"];

/// A handle on the engine worker, to share among components (a copy is the same worker).
#[derive(Clone, Copy)]
pub struct EngineWorker(StoredValue<Option<Rc<Running>>, LocalStorage>);

struct Running {
    worker: Worker,
    /// Requests posted before the worker listened, in order (see [`Reply::Listening`]).
    waiting: RefCell<Option<Vec<(JsValue, js_sys::Array)>>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl EngineWorker {
    /// A handle on no worker yet (messages sent before [`EngineWorker::start`] are dropped).
    pub fn new() -> Self {
        EngineWorker(StoredValue::new_local(None))
    }

    /// Start the worker. Its replies go to `receive`; a reply that cannot be read, or the
    /// worker failing (its script or WebAssembly not loading, a crash), to `broken`, in words.
    pub fn start(
        &self,
        receive: impl Fn(Reply, Vec<js_sys::ArrayBuffer>) + 'static,
        broken: impl Fn(PageError) + Clone + 'static,
    ) -> Result<(), PageError> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        options.set_name("timnet-engine");
        let worker = Worker::new_with_options(WORKER_SCRIPT, &options).map_err(PageError::browser)?;
        let unreadable = broken.clone();
        let handle = *self;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            match protocol::unpack::<Reply>(&event.data()) {
                Ok((Reply::Listening, _)) => handle.listening(),
                Ok((reply, data)) => receive(reply, data),
                Err(e) => unreadable(PageError::Engine(e.to_string())),
            }
        });
        // An ErrorEvent with a message when the worker threw; a plain Event when its script
        // could not be fetched.
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let why = event.dyn_ref::<ErrorEvent>().map(ErrorEvent::message).filter(|m| !m.is_empty());
            broken(PageError::Engine(why.unwrap_or_else(|| "its script or WebAssembly could not be loaded".into())));
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let running =
            Running { worker, waiting: RefCell::new(Some(Vec::new())), _on_message: on_message, _on_error: on_error };
        self.0.set_value(Some(Rc::new(running)));
        Ok(())
    }

    /// Send a request, handing over `data` (the worker takes the buffers: they are empty here
    /// after).
    pub fn send(&self, request: &Request, data: Vec<js_sys::ArrayBuffer>) {
        let Some(running) = self.0.get_value() else { return };
        let (message, transfer) = protocol::pack(request, data);
        match running.waiting.borrow_mut().as_mut() {
            Some(waiting) => waiting.push((message, transfer)),
            None => running.post(&message, &transfer),
        }
    }

    /// The worker listens: send what waited.
    fn listening(&self) {
        let Some(running) = self.0.get_value() else { return };
        let waiting = running.waiting.borrow_mut().take().unwrap_or_default();
        for (message, transfer) in waiting {
            running.post(&message, &transfer);
        }
    }
}

impl Running {
    fn post(&self, message: &JsValue, transfer: &js_sys::Array) {
        if let Err(e) = self.worker.post_message_with_transfer(message, transfer) {
            web_sys::console::error_2(&"the page could not reach its engine".into(), &e);
        }
    }
}

impl Default for EngineWorker {
    fn default() -> Self {
        Self::new()
    }
}
