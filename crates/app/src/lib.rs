//! The page: speak or drop a file, and see which emotion TIM-Net hears and why — all computed
//! in the browser by the same Rust code as the CLI (decoder, resampler, MFCC, model).
//!
//! Two programs share this crate, as candle's wasm examples split theirs: the page (bin
//! `timnet-app`, built without default features), which only draws, and the engine worker (bin
//! `timnet-worker`, the `engine` feature), a Web Worker that does everything heavy, so that the
//! page never blocks. They talk in the typed messages of
//! [`protocol`], through [`client`] on the page's side and [`worker`] on the engine's.
//!
//! In the worker: [`engine`] picks the device (WebGPU when the browser has an adapter, else
//! burn's CPU backend) and loads the weights; [`live`] keeps the sliding window of a recording;
//! [`voice`] adapts the model to the person's voice. On the page: [`audio_in`] takes files and
//! the microphone; [`state`] holds what the components share, one context per concern;
//! [`offline`] keeps the page's files for visits without a network; [`components`] draws it
//! all. Both: [`scope`] (timers, fetch, the clock), [`error`] says what went wrong.

pub mod audio_in;
pub mod client;
pub mod components;
pub mod draw;
// The engine's side, behind the `engine` feature: the page's own build leaves it (and with it
// the WebGPU backend's code) out.
#[cfg(feature = "engine")]
pub mod engine;
pub mod error;
#[cfg(feature = "engine")]
pub mod live;
pub mod offline;
pub mod playback;
pub mod protocol;
pub mod scope;
pub mod state;
pub mod voice;
#[cfg(feature = "engine")]
pub mod worker;

#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

// The wasm linker treats a binary that never calls its constructors as a one-call "command"
// and wraps every export in a call to them, so each call from JavaScript (every event, timer,
// promise and message) re-ran every static constructor (cubecl's `inventory` registrations):
// more of the page's main-thread time than the network while it analysed a file. Calling them
// once, first, is the documented way out (inventory's documentation).
#[cfg(target_family = "wasm")]
unsafe extern "C" {
    fn __wasm_call_ctors();
}

/// Run the module's static constructors: once, first thing in each program's `main`.
pub fn run_constructors_once() {
    // SAFETY: called once per module (by `main`), before anything else runs in it.
    #[cfg(target_family = "wasm")]
    unsafe {
        __wasm_call_ctors();
    }
}

/// Mount the app on the page's body.
pub fn mount() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(components::App);
}
