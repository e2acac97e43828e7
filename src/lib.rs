//! TIM-Net speech emotion recognition, from audio to emotion.
//!
//! The data flows one way, and the modules say so: [`audio`] turns a file's bytes into mono
//! samples at 22,050 Hz; [`features`] computes librosa-exact MFCCs; [`model`] is the network on
//! any burn device (CPU natively and in the browser, WebGPU where there is one); [`weights`]
//! saves and loads trained models with a JSON sidecar that says what they are; [`analysis`]
//! ties these together for one clip. The `train` and `timnet` binaries and the web app are thin
//! layers over this crate.

pub mod analysis;
pub mod audio;
#[cfg(all(feature = "cli", not(target_arch = "wasm32")))]
pub mod cli;
#[cfg(not(target_arch = "wasm32"))]
pub mod corpus;
pub mod features;
pub mod model;
#[cfg(not(target_arch = "wasm32"))]
pub mod train;
pub mod weights;

pub use burn;
