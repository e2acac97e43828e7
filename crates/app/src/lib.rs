//! The page: speak or drop a file, and see which emotion TIM-Net hears and why — all computed
//! in the browser by the same Rust code as the CLI (decoder, resampler, MFCC, model).
//!
//! [`engine`] picks the device (WebGPU when the browser has an adapter, else burn's CPU backend)
//! and loads the embedded weights; [`audio_in`] turns files and the microphone into samples;
//! [`live`] keeps the sliding window of a recording; [`state`] holds what the components share,
//! one context per concern; [`voice`] teaches the model the person's voice; [`offline`] keeps
//! the page's files for visits without a network; [`timer`] lets long work pause for drawing;
//! [`components`] draws it all; [`error`] says what went wrong.

pub mod audio_in;
pub mod components;
pub mod draw;
pub mod engine;
pub mod error;
pub mod live;
pub mod offline;
pub mod playback;
pub mod state;
pub mod timer;
pub mod voice;

#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// Mount the app on the page's body.
pub fn mount() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(components::App);
}
