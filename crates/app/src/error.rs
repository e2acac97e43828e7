//! What can go wrong in the page, in words a person understands. Each variant says where it
//! came from, so a message can be tested by kind, not by its wording.

use thiserror::Error;
use timnet::adapt::AdaptError;
use timnet::analysis::AnalysisError;
use timnet::audio::AudioError;
use timnet::weights::WeightsError;
use wasm_bindgen::{JsCast, JsValue};

#[derive(Debug, Error)]
pub enum PageError {
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error(transparent)]
    Adapt(#[from] AdaptError),
    /// Teaching the model a voice: a file of another model, storage full.
    #[error("{0}")]
    Voice(String),
    #[error("{0}")]
    Microphone(Microphone),
    /// WebGPU is missing or has no adapter: the page runs on the CPU instead.
    #[error("{0}")]
    NoWebGpu(&'static str),
    #[error("WebGPU could not start: {0}")]
    Gpu(String),
    /// A shipped model's record could not be fetched from the page's origin.
    #[error("the {model} model's weights could not be loaded from {path}: {why}")]
    ModelFile { model: &'static str, path: String, why: String },
    /// The engine worker could not start, or stopped answering.
    #[error("The analysis engine failed: {0}. Reload the page to try again.")]
    Engine(String),
    #[error("the device returned non-finite numbers")]
    NonFinite,
    /// Something the browser refused, in its own words.
    #[error("{0}")]
    Browser(String),
}

/// Why the microphone could not be opened.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum Microphone {
    #[error("This browser gives no access to a microphone (the page must be served over https or localhost).")]
    Unavailable,
    #[error("Microphone access was denied. Allow it in the browser's site settings, or drop a file instead.")]
    Denied,
    #[error("No microphone was found. Connect one, or drop a file instead.")]
    NotFound,
    #[error("The microphone is busy in another program.")]
    Busy,
}

impl PageError {
    /// A browser exception, by its message.
    pub fn browser(error: JsValue) -> Self {
        PageError::Browser(describe(&error))
    }

    /// A `getUserMedia` refusal, by the DOMException's name.
    pub fn microphone(error: JsValue) -> Self {
        let name = error.dyn_ref::<web_sys::DomException>().map(|e| e.name()).unwrap_or_default();
        match name.as_str() {
            "NotAllowedError" | "SecurityError" => PageError::Microphone(Microphone::Denied),
            "NotFoundError" | "OverconstrainedError" => PageError::Microphone(Microphone::NotFound),
            "NotReadableError" => PageError::Microphone(Microphone::Busy),
            _ => PageError::Browser(format!("The microphone could not be opened: {}", describe(&error))),
        }
    }
}

/// A JavaScript value thrown by the browser, as text.
fn describe(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}
