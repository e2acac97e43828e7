//! TIM-Net speech emotion recognition, from audio to emotion: the part of the pipeline that
//! runs everywhere, natively and in the browser.
//!
//! The data flows one way, and the modules say so: [`audio`] turns a file's bytes into mono
//! samples at 22,050 Hz; [`features`] computes librosa-exact MFCCs; [`model`] is the network on
//! any burn device (CPU natively and in the browser, WebGPU where there is one); [`weights`]
//! saves and loads trained models with a JSON sidecar that says what they are; [`analysis`]
//! ties these together for one recording; [`adapt`] fits a model to one person's voice from a
//! few labelled takes. Training lives in `timnet-train`, the programs in
//! `timnet-cli`, the page in `timnet-app`.

pub mod adapt;
pub mod analysis;
pub mod audio;
pub mod features;
#[cfg(not(target_arch = "wasm32"))]
pub mod files;
pub mod model;
pub mod weights;

pub use burn;
