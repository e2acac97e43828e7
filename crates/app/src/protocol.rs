//! The messages between the page and its engine worker ([`crate::worker`]), in one place.
//!
//! Each message is an [`Envelope`]: the protocol's version and a request or a reply, as postcard
//! bytes, with its large arrays (a file's bytes, audio samples, a WAV for playback) beside it as
//! `ArrayBuffer`s that are transferred, not copied. Both sides are built from this module, so
//! they agree on the shapes; the version tells a page and a worker of different builds apart
//! (a cached worker beside a new page, say) before either misreads the other.

use std::fmt;

use serde::{Deserialize, Serialize};
use timnet::adapt::Take;
use timnet::analysis::{Analysis, ClipInspection};
use wasm_bindgen::prelude::*;

use crate::voice::Personal;

/// Raised whenever a message changes shape.
pub const VERSION: u32 = 3;

/// What the page asks of the worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// Start (or restart) the engine with the shipped model of this name; records not compiled
    /// in are fetched from `base`, the page's address.
    Start { model: String, preference: Preference, base: String },
    /// Prepare audio and use it for `purpose`.
    Prepare { audio: Audio, purpose: Purpose },
    /// The inner workings of another window of an analysed entry.
    Inspect { entry: u32, window: usize },
    /// A microphone recording at `rate` begins; with `live`, its newest window is analysed as
    /// it grows.
    RecordingStarted { recording: u32, rate: u32, live: bool },
    /// More of a recording: its samples ride along.
    RecordingChunk { recording: u32 },
    /// Adapt the running model's base to a person's takes, each with the number the worker
    /// keeps its recording by (a per-speaker model learns the voice from the recordings).
    Adapt { takes: Vec<(u32, Take)> },
    /// Run this adapted model (checked against the base), or the base when `None`.
    Personalise { personal: Option<Personal> },
    /// Time one clip's analysis, stage by stage (the page's `?bench`).
    Benchmark,
}

/// Audio for the engine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Audio {
    /// A file's bytes ride along, for the Rust decoder.
    File,
    /// Samples the browser decoded ride along, one array a channel.
    Decoded { rate: u32 },
    /// A finished recording the worker holds (its chunks came before).
    Recording { recording: u32 },
}

/// What prepared audio is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Purpose {
    /// An entry in the results list, analysed whole.
    Entry(u32),
    /// A take for teaching the model a voice, of emotion `label`.
    Take { take: u32, label: usize },
}

/// What the worker tells the page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Reply {
    /// The worker reads messages now: those posted before it could were lost, so the page
    /// holds its requests until this comes.
    Listening,
    /// A stage of starting, in words.
    Starting(String),
    /// The engine runs these weights on `backend`, built with WebAssembly SIMD or not.
    Started {
        backend: Backend,
        note: Option<String>,
        sidecar_json: String,
        simd: bool,
    },
    StartFailed(String),
    /// The running weights changed (adapted, or back to the base).
    Running {
        sidecar_json: String,
    },
    /// The Rust decoder cannot read this file: the browser's decoder may (the bytes come back
    /// beside this). `if_not` is the message should it fail too.
    Undecodable {
        purpose: Purpose,
        if_not: String,
    },
    /// A recording prepared for analysis: its WAV, at the model's rate, rides along for playback.
    Recorded {
        purpose: Purpose,
    },
    /// How far an entry's analysis has gone, in seconds of the recording.
    Progress {
        entry: u32,
        done: f32,
        total: f32,
    },
    /// An entry's answer, with the workings of its first window and the worker's memory then.
    Analysed {
        entry: u32,
        analysis: Analysis,
        inspection: Option<ClipInspection>,
        memory: f64,
    },
    Inspected {
        entry: u32,
        window: usize,
        inspection: ClipInspection,
    },
    /// A take's features, ready for adapting.
    TakeReady {
        take: u32,
        label: usize,
        features: Take,
    },
    /// The newest window of a live recording, ending `seconds` into it.
    Live {
        seconds: f32,
        probabilities: Vec<f32>,
        speech: bool,
    },
    /// Adapting finished: the adapted model (none where the guard kept the model as it was),
    /// and the share of takes right before and after.
    Adapted {
        personal: Option<Personal>,
        before: f32,
        after: f32,
    },
    /// Something asked for `purpose` failed, in words.
    Failed {
        purpose: Purpose,
        message: String,
    },
    /// Teaching the voice went wrong, in words.
    VoiceFailed(String),
    Benchmark(Stages),
}

/// A 4.35 s recording from 16 kHz through the running engine, stage by stage, and one clip of
/// its model (medians of five runs after a warm-up, in ms), and a live update's features beside
/// its clip's computed whole.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stages {
    /// Whether the engine is the WebAssembly SIMD build.
    pub simd: bool,
    /// Resampling to the model's rate (with the speech check: `prepare_samples`).
    pub resample: f64,
    /// The MFCCs of the clip's windows.
    pub mfcc: f64,
    /// The network and reading its answer back: the whole analysis less its MFCCs.
    pub network: f64,
    /// The running model's clip, in seconds: 4.35 s are two clips of a 3 s model.
    pub clip_seconds: f64,
    /// One clip of the running model from 16 kHz, all stages.
    pub one_clip: f64,
    /// A live update's features and speech check after one microphone chunk (1,024 samples at
    /// 48 kHz): resampling the chunk, the frames it completes and the clip's edge frames (a
    /// mean).
    pub live_features: f64,
    /// The same clip's features and speech check computed whole, as each live update did
    /// before (a mean).
    pub clip_features: f64,
}

impl Stages {
    pub fn total(&self) -> f64 {
        self.resample + self.mfcc + self.network
    }
}

/// Where the engine runs the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Backend {
    WebGpu,
    Cpu,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::WebGpu => "WebGPU",
            Backend::Cpu => "CPU (WebAssembly)",
        })
    }
}

/// Which device the page asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Preference {
    /// WebGPU when the browser offers an adapter that is faster here than the CPU: a software
    /// adapter (SwiftShader, on machines without a GPU) can be 80 times slower.
    Auto,
    /// WebGPU whenever the browser offers an adapter (`?gpu`: for comparison and tests).
    Gpu,
    /// The CPU backend (`?cpu`).
    Cpu,
}

/// One message on the wire: the version, and a request or a reply.
#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub version: u32,
    pub body: T,
}

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("the page and its engine come from different builds (protocol {theirs}, not {VERSION}); reload the page")]
    Version { theirs: u32 },
    #[error("a message could not be read: {0}")]
    Malformed(String),
}

/// A message as posted: `{ body: Uint8Array, data: [ArrayBuffer…] }`, and the list of what it
/// transfers.
pub fn pack<T: Serialize>(body: &T, data: Vec<js_sys::ArrayBuffer>) -> Result<(JsValue, js_sys::Array), ProtocolError> {
    let bytes = postcard::to_allocvec(&Envelope { version: VERSION, body })
        .map_err(|e| ProtocolError::Malformed(e.to_string()))?;
    let body = js_sys::Uint8Array::from(&bytes[..]);
    let transfer = js_sys::Array::of1(&body.buffer());
    let arrays = js_sys::Array::new();
    for buffer in data {
        transfer.push(&buffer);
        arrays.push(&buffer);
    }
    let message = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&message, &"body".into(), &body);
    let _ = js_sys::Reflect::set(&message, &"data".into(), &arrays);
    Ok((message.into(), transfer))
}

/// A posted message's body and the arrays beside it.
pub fn unpack<T: for<'de> Deserialize<'de>>(message: &JsValue) -> Result<(T, Vec<js_sys::ArrayBuffer>), ProtocolError> {
    let field = |name: &str| js_sys::Reflect::get(message, &name.into()).unwrap_or(JsValue::UNDEFINED);
    let body: js_sys::Uint8Array = field("body").dyn_into().map_err(|_| ProtocolError::Malformed("no body".into()))?;
    let bytes = body.to_vec();
    let theirs = version(&bytes)?;
    if theirs != VERSION {
        return Err(ProtocolError::Version { theirs });
    }
    let envelope: Envelope<T> = postcard::from_bytes(&bytes).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
    let data = field("data")
        .dyn_into::<js_sys::Array>()
        .map(|a| a.iter().filter_map(|b| b.dyn_into().ok()).collect())
        .unwrap_or_default();
    Ok((envelope.body, data))
}

/// The version alone (it comes first): readable whatever the body of another build holds.
fn version(bytes: &[u8]) -> Result<u32, ProtocolError> {
    let (version, _) = postcard::take_from_bytes::<u32>(bytes).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
    Ok(version)
}

/// Bytes as an `ArrayBuffer` to transfer.
pub fn bytes_buffer(bytes: &[u8]) -> js_sys::ArrayBuffer {
    js_sys::Uint8Array::from(bytes).buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn a_request_survives_the_round_trip_and_another_version_is_told_apart() {
        let request =
            Request::Prepare { audio: Audio::Recording { recording: 3 }, purpose: Purpose::Take { take: 7, label: 2 } };
        let bytes = postcard::to_allocvec(&Envelope { version: VERSION, body: &request }).unwrap();
        let back: Envelope<Request> = postcard::from_bytes(&bytes).unwrap();
        assert!(matches!(
            back.body,
            Request::Prepare { audio: Audio::Recording { recording: 3 }, purpose: Purpose::Take { take: 7, label: 2 } }
        ));
        let other = postcard::to_allocvec(&Envelope { version: VERSION + 1, body: 0u8 }).unwrap();
        assert_eq!(version(&other).unwrap(), VERSION + 1);
    }
}
