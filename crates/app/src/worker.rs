//! The engine worker: a dedicated Web Worker that owns everything heavy, so that the page's
//! thread only draws. It decodes and resamples audio, computes the MFCCs, runs the network on
//! WebGPU or the CPU ([`crate::engine`]), keeps each entry's prepared audio for inspecting its
//! windows, follows live recordings, and adapts the model to a voice. It answers the page's
//! [`Request`]s with [`Reply`]s ([`crate::protocol`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use timnet::adapt::Take;
use timnet::audio::{MODEL_RATE, Prepared, encode_wav, prepare_samples};
use timnet::weights::shipped;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::audio_in::{FileRead, prepare_decoded, prepare_file};
use crate::engine::{Engine, Preference, record};
use crate::error::PageError;
use crate::live::{LiveWindow, Newest, seconds};
use crate::protocol::{self, Audio, Purpose, Reply, Request, Stages};
use crate::scope::yield_now;
use crate::voice::{self, Personal};

/// Start answering the page's messages (the worker binary's `main`).
pub fn run() {
    console_error_panic_hook::set_once();
    let worker = Rc::new(Worker::default());
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        match protocol::unpack::<Request>(&event.data()) {
            Ok((request, data)) => spawn_local(worker.clone().handle(request, data)),
            // A page of another build: it reads the version of this reply before its body.
            Err(e) => post(&Reply::StartFailed(e.to_string())),
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The worker lives as long as the page: so does its handler.
    on_message.forget();
    post(&Reply::Listening);
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// Send the page a reply, with arrays it takes over.
fn post_with(reply: &Reply, data: Vec<js_sys::ArrayBuffer>) {
    let sent = protocol::pack(reply, data)
        .map_err(|e| JsValue::from(e.to_string()))
        .and_then(|(message, transfer)| scope().post_message_with_transfer(&message, &transfer));
    if let Err(e) = sent {
        web_sys::console::error_2(&"the engine could not answer the page".into(), &e);
    }
}

fn post(reply: &Reply) {
    post_with(reply, Vec::new())
}

fn fail(purpose: Purpose, error: impl std::fmt::Display) {
    post(&Reply::Failed { purpose, message: error.to_string() });
}

/// A microphone recording as it arrives.
struct Recording {
    rate: u32,
    samples: Vec<f32>,
    /// Its newest window, for a live recording.
    live: Option<LiveWindow>,
    is_live: bool,
    /// Whether its newest window is being analysed (chunks that come meanwhile wait for the next).
    busy: bool,
}

#[derive(Default)]
struct Worker {
    /// The engine that analyses: the base, or a copy adapted to a voice.
    running: RefCell<Option<Rc<Engine>>>,
    /// The engine as started: takes are read, and adapted copies made, from it.
    base: RefCell<Option<Rc<Engine>>>,
    /// Each analysed entry's audio, for inspecting its other windows.
    entries: RefCell<HashMap<u32, Rc<Prepared>>>,
    /// Each take's audio, by its number, for a per-speaker model to learn the voice from.
    takes: RefCell<HashMap<u32, Rc<Prepared>>>,
    recordings: RefCell<HashMap<u32, Recording>>,
}

impl Worker {
    async fn handle(self: Rc<Self>, request: Request, data: Vec<js_sys::ArrayBuffer>) {
        match request {
            Request::Start { model, preference, base } => self.start(&model, preference, &base).await,
            Request::Prepare { audio, purpose } => {
                if let Some(prepared) = self.prepare(audio, purpose, data).await {
                    match purpose {
                        Purpose::Entry(entry) => self.analyse(entry, prepared).await,
                        Purpose::Take { take, label } => self.take(take, label, prepared).await,
                    }
                }
            }
            Request::Inspect { entry, window } => self.inspect(entry, window).await,
            Request::RecordingStarted { recording, rate, live } => {
                let started = Recording { rate, samples: Vec::new(), live: None, is_live: live, busy: false };
                self.recordings.borrow_mut().insert(recording, started);
            }
            Request::RecordingChunk { recording } => {
                let follow = match self.recordings.borrow_mut().get_mut(&recording) {
                    Some(r) => {
                        // Copied once, from the handed-over buffer straight onto the recording.
                        for buffer in &data {
                            let chunk = js_sys::Float32Array::new(buffer);
                            let at = r.samples.len();
                            r.samples.resize(at + chunk.length() as usize, 0.0);
                            chunk.copy_to(&mut r.samples[at..]);
                        }
                        let follow = r.is_live && !r.busy;
                        r.busy |= follow;
                        follow
                    }
                    None => false,
                };
                if follow {
                    self.follow(recording).await;
                }
            }
            Request::Adapt { takes } => match self.base() {
                Some(base) => post(&match voice::adapt(&base, &takes, &self.take_recordings(&takes)).await {
                    Ok(outcome) => {
                        Reply::Adapted { personal: outcome.personal, before: outcome.before, after: outcome.after }
                    }
                    Err(e) => Reply::VoiceFailed(e.to_string()),
                }),
                None => post(&Reply::VoiceFailed(not_loaded().to_string())),
            },
            Request::Personalise { personal } => self.personalise(personal),
            Request::Benchmark => self.benchmark().await,
        }
    }

    fn base(&self) -> Option<Rc<Engine>> {
        self.base.borrow().clone()
    }

    fn running(&self) -> Option<Rc<Engine>> {
        self.running.borrow().clone()
    }

    async fn start(&self, name: &str, preference: Preference, base: &str) {
        let Some(model) = shipped::named(name) else {
            return post(&Reply::StartFailed(format!("this page ships no model called {name}")));
        };
        let started = async {
            if !model.embedded {
                post(&Reply::Starting(format!("Loading the {} model's weights…", model.name)));
            }
            let record = record(model, base).await?;
            Engine::start(model, record, preference, |stage| post(&Reply::Starting(stage.to_string()))).await
        };
        match started.await {
            Ok(engine) => {
                let engine = Rc::new(engine);
                let reply = Reply::Started {
                    backend: engine.backend,
                    note: engine.note.clone(),
                    sidecar_json: engine.sidecar().to_json(),
                    simd: cfg!(target_feature = "simd128"),
                };
                *self.base.borrow_mut() = Some(engine.clone());
                // The page drops the takes made for another model.
                self.takes.borrow_mut().clear();
                *self.running.borrow_mut() = Some(engine);
                post(&reply);
            }
            Err(e) => post(&Reply::StartFailed(e.to_string())),
        }
    }

    /// Audio ready for the model, or `None` when the page has been told why not (or asked to
    /// decode it in the browser first).
    async fn prepare(&self, audio: Audio, purpose: Purpose, data: Vec<js_sys::ArrayBuffer>) -> Option<Prepared> {
        let prepared = match audio {
            Audio::File => {
                let bytes = data.first().map(|b| js_sys::Uint8Array::new(b).to_vec()).unwrap_or_default();
                match prepare_file(&bytes).await {
                    Ok(FileRead::Prepared(prepared)) => Ok(prepared),
                    Ok(FileRead::ForTheBrowser(if_not)) => {
                        let reply = Reply::Undecodable { purpose, if_not: PageError::from(if_not).to_string() };
                        post_with(&reply, vec![protocol::bytes_buffer(&bytes)]);
                        return None;
                    }
                    Err(e) => Err(e),
                }
            }
            Audio::Decoded { rate } => {
                let channels: Vec<Vec<f32>> = data.iter().map(|b| js_sys::Float32Array::new(b).to_vec()).collect();
                prepare_decoded(&channels, rate)
            }
            Audio::Recording { recording } => match self.recordings.borrow_mut().remove(&recording) {
                Some(r) => prepare_samples(&r.samples, 1, r.rate).map_err(PageError::from).inspect(|prepared| {
                    let wav = encode_wav(&prepared.samples, 1, MODEL_RATE);
                    post_with(&Reply::Recorded { purpose }, vec![protocol::bytes_buffer(&wav)]);
                }),
                None => Err(PageError::Browser("the recording was lost".into())),
            },
        };
        prepared.map_err(|e| fail(purpose, e)).ok()
    }

    /// Probabilities over all windows, and the inner workings of the first.
    async fn analyse(&self, entry: u32, prepared: Prepared) {
        let purpose = Purpose::Entry(entry);
        let Some(engine) = self.running() else { return fail(purpose, not_loaded()) };
        let prepared = Rc::new(prepared);
        self.entries.borrow_mut().insert(entry, prepared.clone());
        // A long recording takes a while: the page shows how far it has gone, and the worker
        // reads its other messages (a live recording's chunks) between passes.
        let total = seconds(prepared.samples.len(), MODEL_RATE);
        let progress = move |done: usize| {
            post(&Reply::Progress { entry, done: seconds(done, MODEL_RATE), total });
            yield_now()
        };
        match engine.analyzer.analyse_with(&prepared, progress).await {
            Ok(analysis) => {
                let inspection = match engine.analyzer.window(&prepared.samples, 0) {
                    Some(first) => engine.analyzer.inspect(&first).await.ok(),
                    None => None,
                };
                post(&Reply::Analysed { entry, analysis, inspection, memory: memory_bytes() });
            }
            Err(e) => fail(purpose, PageError::from(e)),
        }
    }

    async fn inspect(&self, entry: u32, window: usize) {
        let (Some(engine), Some(prepared)) = (self.running(), self.entries.borrow().get(&entry).cloned()) else {
            return;
        };
        let Some(clip) = engine.analyzer.window(&prepared.samples, window) else { return };
        if let Ok(inspection) = engine.analyzer.inspect(&clip).await {
            post(&Reply::Inspected { entry, window, inspection });
        }
    }

    /// A take's features, read by the base model (the one adapting starts from).
    async fn take(&self, take: u32, label: usize, prepared: Prepared) {
        let purpose = Purpose::Take { take, label };
        let Some(base) = self.base() else { return fail(purpose, not_loaded()) };
        match base.analyzer.take(&prepared, label).await {
            Ok(features) => {
                self.takes.borrow_mut().insert(take, Rc::new(prepared));
                post(&Reply::TakeReady { take, label, features })
            }
            Err(e) => fail(purpose, PageError::from(e)),
        }
    }

    /// The recordings of these takes, those the worker still holds; the others' are let go.
    fn take_recordings(&self, takes: &[(u32, Take)]) -> Vec<Prepared> {
        let mut held = self.takes.borrow_mut();
        held.retain(|id, _| takes.iter().any(|(t, _)| t == id));
        takes.iter().filter_map(|(id, _)| held.get(id).map(|p| (**p).clone())).collect()
    }

    /// Analyse a live recording's newest window.
    async fn follow(&self, recording: u32) {
        // Chunks that came meanwhile are read first, so that the window is the newest.
        yield_now().await;
        let newest = self.running().and_then(|engine| {
            let mut recordings = self.recordings.borrow_mut();
            let r = recordings.get_mut(&recording)?;
            // Another model picked, with another front end, starts a window of its own.
            if r.live.as_ref().is_some_and(|w| w.front_end() != engine.analyzer.front_end()) {
                r.live = None;
            }
            let window = r.live.get_or_insert_with(|| LiveWindow::new(r.rate, engine.analyzer.front_end().clone()));
            Some((engine, window.update(&r.samples), seconds(r.samples.len(), r.rate)))
        });
        if let Some((engine, newest, seconds)) = newest {
            let analysis = match newest {
                // The network runs on the newest clip only; its features were made as it arrived.
                Newest::Clip(clip) => engine.analyzer.analyse_clip(clip).await.ok(),
                Newest::Short(samples) => match prepare_samples(&samples, 1, MODEL_RATE) {
                    Ok(prepared) => engine.analyzer.analyse(&prepared).await.ok(),
                    Err(_) => None,
                },
            };
            if let Some(analysis) = analysis {
                post(&Reply::Live { seconds, probabilities: analysis.probabilities, speech: analysis.speech });
            }
        }
        if let Some(r) = self.recordings.borrow_mut().get_mut(&recording) {
            r.busy = false;
        }
    }

    /// Run an adapted model (checked against the base), or the base.
    fn personalise(&self, personal: Option<Personal>) {
        let Some(base) = self.base() else { return post(&Reply::VoiceFailed(not_loaded().to_string())) };
        let engine = match personal.map(|p| p.engine(&base)) {
            Some(Ok(adapted)) => Rc::new(adapted),
            Some(Err(e)) => {
                post(&Reply::VoiceFailed(e.to_string()));
                base
            }
            None => base,
        };
        let reply = Reply::Running { sidecar_json: engine.sidecar().to_json() };
        *self.running.borrow_mut() = Some(engine);
        post(&reply);
    }
}

impl Worker {
    /// A 4.35 s recording from 16 kHz through the running engine, timed stage by stage; one
    /// clip of its model from 16 kHz; a live update's features beside its clip's computed whole.
    async fn benchmark(&self) {
        let Some(engine) = self.running() else { return };
        let clip = timnet::audio::gliding_tone(4.35, 16_000);
        let clip_seconds = engine.sidecar().clip_samples as f64 / MODEL_RATE as f64;
        let one = timnet::audio::gliding_tone(clip_seconds as f32, 16_000);
        let clock = || crate::scope::now().unwrap_or(0.0);
        let mut runs = Vec::new();
        for _ in 0..6 {
            let start = clock();
            let Ok(prepared) = prepare_samples(&clip, 1, 16_000) else { return };
            let resampled = clock();
            for window in engine.analyzer.windows(&prepared.samples) {
                std::hint::black_box(engine.analyzer.front_end().placed(&window.samples, window.own));
            }
            let featured = clock();
            if engine.analyzer.analyse(&prepared).await.is_err() {
                return;
            }
            let (resample, mfcc) = (resampled - start, featured - resampled);
            let network = (clock() - featured - mfcc).max(0.0);
            let start = clock();
            let Ok(prepared) = prepare_samples(&one, 1, 16_000) else { return };
            if engine.analyzer.analyse(&prepared).await.is_err() {
                return;
            }
            runs.push([resample, mfcc, network, clock() - start]);
        }
        let (live_features, clip_features) = live_updates(engine.analyzer.front_end(), clock);
        post(&Reply::Benchmark(Stages {
            simd: cfg!(target_feature = "simd128"),
            resample: median_after_the_first(runs.iter().map(|run| run[0])),
            mfcc: median_after_the_first(runs.iter().map(|run| run[1])),
            network: median_after_the_first(runs.iter().map(|run| run[2])),
            clip_seconds,
            one_clip: median_after_the_first(runs.iter().map(|run| run[3])),
            live_features,
            clip_features,
        }));
    }
}

/// A live recording at 48 kHz, one microphone chunk (1,024 samples) at a time: the time of an
/// update's features and speech check, and of the same clip's computed whole (means over the updates
/// with a whole clip, in ms; the updates before the first whole clip count in the first).
fn live_updates(front_end: &timnet::features::FrontEnd, clock: impl Fn() -> f64) -> (f64, f64) {
    let rate = 48_000;
    let recording = timnet::audio::gliding_tone(8.0, rate);
    // Timed over whole runs: the updates are shorter than the clock's tick. The second run
    // also computes each clip's features whole, so the difference is what that costs.
    let run = |whole: bool| {
        let mut live = LiveWindow::new(rate, front_end.clone());
        let (mut clips, start) = (0, clock());
        for end in (1_024..=recording.len()).step_by(1_024) {
            if let Newest::Clip(clip) = live.update(&recording[..end]) {
                clips += 1;
                if whole {
                    let length = clip.samples.len();
                    std::hint::black_box(front_end.placed(&clip.samples, 0..length));
                    std::hint::black_box(timnet::audio::speech::Frames::of(&clip.samples).judge(0..length));
                }
            }
        }
        (clock() - start, clips.max(1) as f64)
    };
    let (incremental, updates) = run(false);
    let (both, _) = run(true);
    (incremental / updates, (both - incremental).max(0.0) / updates)
}

/// The median of timings, the first left out: it warms caches (and compiles shaders on WebGPU).
fn median_after_the_first(times: impl Iterator<Item = f64>) -> f64 {
    let mut times: Vec<f64> = times.skip(1).collect();
    times.sort_by(f64::total_cmp);
    times.get(times.len() / 2).copied().unwrap_or(f64::NAN)
}

fn not_loaded() -> PageError {
    PageError::Browser("the model is not loaded yet".into())
}

/// The worker's WebAssembly memory, in bytes (it only grows, so this is its peak so far).
fn memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .unchecked_into::<js_sys::WebAssembly::Memory>()
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as f64
}
