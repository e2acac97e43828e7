//! Audio into the page: dropped or picked files, and the microphone.
//!
//! Files go through the same Rust decoder as the CLI (WAV, FLAC, MP3, Ogg Vorbis, AIFF), so the
//! page's MFCCs equal `timnet mfcc`'s; only what it cannot read (WebM/Opus, AAC…: the core
//! crate's `formats` feature, which the page leaves off for its size) is decoded by the browser,
//! at the browser's rate, before the shared Rust resampler.

use std::cell::RefCell;
use std::rc::Rc;

use timnet::audio::{AudioError, Prepared, prepare_samples, prepare_with};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AudioContext, AudioWorkletNode, AudioWorkletNodeOptions, MediaStream, MediaStreamConstraints,
    MediaTrackConstraints, MessageEvent, OfflineAudioContext,
};

use crate::error::{Microphone, PageError};
use crate::timer::pause;

/// The rate the browser decodes at when our decoder cannot read a file.
const BROWSER_DECODE_RATE: f32 = 48_000.0;

pub async fn file_bytes(file: &web_sys::File) -> Result<Vec<u8>, PageError> {
    let buffer = JsFuture::from(file.array_buffer()).await.map_err(PageError::browser)?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Decode and prepare a file's bytes; the decoder used is named in the notes when it was the
/// browser's.
pub async fn prepare_file(bytes: &[u8]) -> Result<Prepared, PageError> {
    // In stretches, drawing between them: the whole file at once held the page for 100 ms
    // and more.
    match prepare_with(bytes, || pause(0)).await {
        Ok(prepared) => Ok(prepared),
        // Not audio to our decoder, or a format it names but does not read here (Opus, AAC...):
        // the browser may read it. If it cannot either, a refusal that names the container and
        // codec stands.
        Err(refusal @ (AudioError::NotAudio(_) | AudioError::Unsupported(_))) => {
            let (samples, rate) = browser_decode(bytes).await.map_err(|_| match refusal {
                AudioError::Unsupported(what) => AudioError::Unsupported(what),
                _ => AudioError::NotAudio("the browser cannot decode it either".into()),
            })?;
            let mut prepared = prepare_samples(&samples, 1, rate)?;
            prepared.notes.push("Decoded by the browser (a format our decoder does not read).".into());
            Ok(prepared)
        }
        Err(e) => Err(e.into()),
    }
}

/// The browser's decoder (decodeAudioData), downmixed by the channel mean.
async fn browser_decode(bytes: &[u8]) -> Result<(Vec<f32>, u32), JsValue> {
    let buffer = js_sys::Uint8Array::from(bytes).buffer();
    let context =
        OfflineAudioContext::new_with_number_of_channels_and_length_and_sample_rate(1, 1, BROWSER_DECODE_RATE)?;
    let decoded: web_sys::AudioBuffer = JsFuture::from(context.decode_audio_data(&buffer)?).await?.dyn_into()?;
    let channels = decoded.number_of_channels().max(1);
    let mut mono = decoded.get_channel_data(0)?;
    for c in 1..channels {
        for (m, x) in mono.iter_mut().zip(decoded.get_channel_data(c)?) {
            *m += x;
        }
    }
    if channels > 1 {
        mono.iter_mut().for_each(|m| *m /= channels as f32);
    }
    Ok((mono, decoded.sample_rate() as u32))
}

/// A live microphone capture: raw samples (no echo cancellation, noise suppression or gain
/// control) pushed by an AudioWorklet into `samples`.
pub struct Recorder {
    context: AudioContext,
    stream: MediaStream,
    node: AudioWorkletNode,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    pub samples: Rc<RefCell<Vec<f32>>>,
    pub rate: u32,
}

impl Recorder {
    pub async fn start() -> Result<Recorder, PageError> {
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
        let samples = Rc::new(RefCell::new(Vec::new()));
        let sink = samples.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            sink.borrow_mut().extend(js_sys::Float32Array::new(&event.data()).to_vec());
        });
        node.port().map_err(PageError::browser)?.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        source.connect_with_audio_node(&node).map_err(PageError::browser)?;
        // The worklet must be pulled by the graph; a muted gain keeps it running without echo.
        let mute = context.create_gain().map_err(PageError::browser)?;
        mute.gain().set_value(0.0);
        node.connect_with_audio_node(&mute).map_err(PageError::browser)?;
        mute.connect_with_audio_node(&context.destination()).map_err(PageError::browser)?;
        let rate = context.sample_rate() as u32;
        Ok(Recorder { context, stream, node, _on_message: on_message, samples, rate })
    }

    /// Stop capturing and release the microphone; returns everything recorded.
    pub fn stop(&self) -> Vec<f32> {
        if let Ok(port) = self.node.port() {
            port.set_onmessage(None);
        }
        for track in self.stream.get_tracks().iter() {
            track.unchecked_into::<web_sys::MediaStreamTrack>().stop();
        }
        let _ = self.context.close();
        self.samples.take()
    }
}
