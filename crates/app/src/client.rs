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

/// Which build of the engine worker runs: the WebAssembly SIMD one where the browser has SIMD,
/// else the scalar one (both are built beside the page: scripts/engine-builds.sh, www/index.html).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    Simd,
    Scalar,
}

/// The smallest module with a SIMD instruction (wasm-feature-detect's probe:
/// `i8x16.popcnt(i8x16.splat(0))`): a browser without SIMD refuses it.
const SIMD_PROBE: [u8; 31] =
    [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11];

impl Build {
    /// SIMD where the browser validates the probe, unless `?scalar` asks for the scalar build.
    pub fn pick(query: &str) -> Build {
        let probe = js_sys::Uint8Array::from(&SIMD_PROBE[..]);
        let simd = js_sys::WebAssembly::validate(&probe).unwrap_or(false);
        if simd && !query.contains("scalar") { Build::Simd } else { Build::Scalar }
    }

    /// The worker's loader, script and WebAssembly, as trunk and the SIMD build's script write
    /// them beside the page (workers keep unhashed names); the loader first.
    pub fn files(self) -> [String; 3] {
        let dir = match self {
            Build::Simd => "simd/",
            Build::Scalar => "",
        };
        ["timnet-worker_loader.js", "timnet-worker.js", "timnet-worker_bg.wasm"].map(|f| format!("{dir}{f}"))
    }
}

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
        build: Build,
        receive: impl Fn(Reply, Vec<js_sys::ArrayBuffer>) + 'static,
        broken: impl Fn(PageError) + Clone + 'static,
    ) -> Result<(), PageError> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        options.set_name("timnet-engine");
        let [loader, ..] = build.files();
        let worker = Worker::new_with_options(&loader, &options).map_err(PageError::browser)?;
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
        let (message, transfer) = match protocol::pack(request, data) {
            Ok(packed) => packed,
            Err(e) => return web_sys::console::error_1(&format!("a request could not be sent: {e}").into()),
        };
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

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;

    /// Chromium has SIMD: the probe validates, and only `?scalar` asks for the other build.
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn the_simd_build_is_picked_where_the_probe_validates_unless_scalar_is_asked_for() {
        assert_eq!(Build::pick("?cpu"), Build::Simd);
        assert_eq!(Build::pick("?cpu&scalar"), Build::Scalar);
        assert_eq!(Build::Simd.files()[0], "simd/timnet-worker_loader.js");
        assert_eq!(Build::Scalar.files()[2], "timnet-worker_bg.wasm");
        // One byte off (the vector type's code made i32's), the probe is no longer SIMD.
        let mut scalar = SIMD_PROBE;
        scalar[13] = 0x7f;
        assert!(!js_sys::WebAssembly::validate(&js_sys::Uint8Array::from(&scalar[..])).unwrap());
    }
}
