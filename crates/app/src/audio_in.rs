//! Audio into the engine: dropped or picked files, and the microphone.
//!
//! Files go through the same Rust decoder as the CLI (WAV, FLAC, MP3, Ogg Vorbis, AIFF), in the
//! engine worker, so the page's MFCCs equal `timnet mfcc`'s; only what it cannot read
//! (WebM/Opus, AAC…: the core crate's `formats` feature, which the page leaves off for its size)
//! is decoded by the browser, on the page, at the browser's rate, before the shared Rust
//! resampler in the worker. The microphone's audio goes from its worklet through the page to the
//! worker without being read on the way.

use std::cell::Cell;

use timnet::audio::{AudioError, Prepared, prepare_samples, prepare_with};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AudioContext, AudioWorkletNode, AudioWorkletNodeOptions, MediaStream, MediaStreamConstraints,
    MediaTrackConstraints, MessageEvent, OfflineAudioContext,
};

use crate::client::EngineWorker;
use crate::error::{Microphone, PageError};
use crate::protocol::Request;
use crate::scope::yield_now;

/// The rate the browser decodes at when our decoder cannot read a file.
const BROWSER_DECODE_RATE: f32 = 48_000.0;

/// A file's bytes, in the browser's memory (the page hands them to the engine unread).
pub async fn file_buffer(file: &web_sys::File) -> Result<js_sys::ArrayBuffer, PageError> {
    JsFuture::from(file.array_buffer()).await.map_err(PageError::browser)?.dyn_into().map_err(PageError::browser)
}

/// A small file's bytes (an adapted model's), read into the page.
pub async fn file_bytes(file: &web_sys::File) -> Result<Vec<u8>, PageError> {
    let buffer: JsValue = file_buffer(file).await?.into();
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// What the Rust decoder (in the engine worker) made of a file.
pub enum FileRead {
    Prepared(Prepared),
    /// Not audio to our decoder, or a format it names but does not read here (Opus, AAC…):
    /// the browser may read it. If it cannot either, this refusal stands (one that names the
    /// container and codec, where there is one).
    ForTheBrowser(AudioError),
}

/// Decode and prepare a file's bytes with the Rust decoder.
pub async fn prepare_file(bytes: &[u8]) -> Result<FileRead, PageError> {
    // In stretches, reading messages between them: a long file's preparation does not hold up
    // a live recording's updates.
    match prepare_with(bytes, yield_now).await {
        Ok(prepared) => Ok(FileRead::Prepared(prepared)),
        Err(AudioError::Unsupported(what)) => Ok(FileRead::ForTheBrowser(AudioError::Unsupported(what))),
        Err(AudioError::NotAudio(_)) => {
            Ok(FileRead::ForTheBrowser(AudioError::NotAudio("the browser cannot decode it either".into())))
        }
        Err(e) => Err(e.into()),
    }
}

/// Prepare what the browser's decoder made of a file (one array a channel, downmixed by the
/// channel mean), with a note that says so.
pub fn prepare_decoded(channels: &[Vec<f32>], rate: u32) -> Result<Prepared, PageError> {
    let length = channels.iter().map(Vec::len).min().unwrap_or(0);
    let mono: Vec<f32> =
        (0..length).map(|i| channels.iter().map(|c| c[i]).sum::<f32>() / channels.len() as f32).collect();
    let mut prepared = prepare_samples(&mono, 1, rate)?;
    prepared.notes.push("Decoded by the browser (a format our decoder does not read).".into());
    Ok(prepared)
}

/// The browser's decoder (decodeAudioData, on the page: workers have no audio contexts): one
/// array a channel, each its own buffer to hand to the engine, and the rate.
pub async fn browser_decode(bytes: &js_sys::ArrayBuffer) -> Result<(Vec<js_sys::ArrayBuffer>, u32), JsValue> {
    let context =
        OfflineAudioContext::new_with_number_of_channels_and_length_and_sample_rate(1, 1, BROWSER_DECODE_RATE)?;
    let decoded: web_sys::AudioBuffer = JsFuture::from(context.decode_audio_data(bytes)?).await?.dyn_into()?;
    // getChannelData's view on the buffer's own memory, copied by the browser (web-sys's copies
    // into WebAssembly's, which the page would only pass on).
    let view: js_sys::Function = js_sys::Reflect::get(&decoded, &"getChannelData".into())?.dyn_into()?;
    let mut channels = Vec::new();
    for c in 0..decoded.number_of_channels().max(1) {
        let samples: js_sys::Float32Array = view.call1(&decoded, &c.into())?.dyn_into()?;
        channels.push(samples.slice(0, decoded.length()).buffer());
    }
    Ok((channels, decoded.sample_rate() as u32))
}

/// A microphone capture: raw samples (no echo cancellation, noise suppression or gain control)
/// collected by an AudioWorklet and passed on to the engine worker as they come, unread.
pub struct Recorder {
    context: AudioContext,
    stream: MediaStream,
    node: AudioWorkletNode,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    /// The engine's name for it.
    pub id: u32,
}

impl Recorder {
    /// Open the microphone and start passing its audio to `engine` (which follows its newest
    /// window when `live`).
    pub async fn start(engine: EngineWorker, live: bool) -> Result<Recorder, PageError> {
        let unavailable = PageError::Microphone(Microphone::Unavailable);
        let window = web_sys::window().ok_or(unavailable)?;
        let devices = window.navigator().media_devices().map_err(|_| PageError::Microphone(Microphone::Unavailable))?;
        let track = MediaTrackConstraints::new();
        track.set_echo_cancellation_bool(false);
        track.set_noise_suppression_bool(false);
        track.set_auto_gain_control_bool(false);
        track.set_channel_count_i32(1);
        let constraints = MediaStreamConstraints::new();
        constraints.set_audio_media_track_constraints(&track);
        constraints.set_video_bool(false);
        let request = devices.get_user_media_with_constraints(&constraints).map_err(PageError::browser)?;
        let stream: MediaStream =
            JsFuture::from(request).await.map_err(PageError::microphone)?.dyn_into().map_err(PageError::browser)?;

        let context = AudioContext::new().map_err(PageError::browser)?;
        JsFuture::from(context.resume().map_err(PageError::browser)?).await.map_err(PageError::browser)?;
        let worklet = context.audio_worklet().map_err(PageError::browser)?;
        JsFuture::from(worklet.add_module("capture-worklet.js").map_err(PageError::browser)?)
            .await
            .map_err(PageError::browser)?;
        let source = context.create_media_stream_source(&stream).map_err(PageError::browser)?;
        let options = AudioWorkletNodeOptions::new();
        options.set_number_of_inputs(1);
        options.set_number_of_outputs(1);
        let node =
            AudioWorkletNode::new_with_options(&context, "capture-processor", &options).map_err(PageError::browser)?;
        let id = NEXT_RECORDING.with(|n| n.replace(n.get() + 1));
        let rate = context.sample_rate() as u32;
        engine.send(&Request::RecordingStarted { recording: id, rate, live }, Vec::new());
        // Each chunk's buffer, which the worklet handed over, is handed on.
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Ok(chunk) = event.data().dyn_into::<js_sys::Float32Array>() {
                engine.send(&Request::RecordingChunk { recording: id }, vec![chunk.buffer()]);
            }
        });
        node.port().map_err(PageError::browser)?.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        source.connect_with_audio_node(&node).map_err(PageError::browser)?;
        // The worklet must be pulled by the graph; a muted gain keeps it running without echo.
        let mute = context.create_gain().map_err(PageError::browser)?;
        mute.gain().set_value(0.0);
        node.connect_with_audio_node(&mute).map_err(PageError::browser)?;
        mute.connect_with_audio_node(&context.destination()).map_err(PageError::browser)?;
        Ok(Recorder { context, stream, node, _on_message: on_message, id })
    }

    /// Stop capturing and release the microphone. The engine holds what was recorded, as
    /// recording [`Recorder::id`].
    pub fn stop(&self) {
        if let Ok(port) = self.node.port() {
            port.set_onmessage(None);
        }
        for track in self.stream.get_tracks().iter() {
            track.unchecked_into::<web_sys::MediaStreamTrack>().stop();
        }
        let _ = self.context.close();
    }
}

thread_local! {
    static NEXT_RECORDING: Cell<u32> = const { Cell::new(0) };
}
