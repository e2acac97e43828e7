//! The page's state, one context per concern, so that a component takes only what it uses:
//! [`Model`] (the model the engine runs and its readiness), [`Results`] (the recordings
//! analysed, each with its own signal, so finishing one redraws only that one), [`Live`] (the
//! live timeline), [`Alert`] (the message shown to the person) and [`Voice`] (teaching it the
//! person's voice). [`Page::receive`] is where the engine worker's replies change them.

use std::collections::HashMap;
use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use timnet::adapt::Take;
use timnet::analysis::{Analysis, ClipInspection};
use timnet::audio::MODEL_RATE;
use timnet::features::Normalisation;
use timnet::weights::Sidecar;

use crate::audio_in::browser_decode;
use crate::client::EngineWorker;
use crate::error::PageError;
use crate::playback::buffer_url;
use crate::protocol::{Audio, Backend, Purpose, Reply, Request};
use crate::voice::{self, Personal};

/// The model the engine runs, as the page knows it: its sidecar (labels, clip length) and
/// readiness. The engine itself lives in the worker.
#[derive(Clone, Copy)]
pub struct Model {
    /// The shipped model picked, by name.
    pub picked: RwSignal<&'static str>,
    /// The sidecar of the weights running now (an adapted copy, or the model as started).
    pub running: RwSignal<Option<Arc<Sidecar>>>,
    /// The sidecar of the model as started: adapted copies belong to it.
    pub base: RwSignal<Option<Arc<Sidecar>>>,
    pub ready: RwSignal<bool>,
    /// What the model is doing, in words ("Starting WebGPU…", "Ready.").
    pub status: RwSignal<String>,
    pub backend: RwSignal<Option<Backend>>,
    /// Which build of the engine runs, in words ("the SIMD build").
    pub build: RwSignal<&'static str>,
    /// Why that backend runs.
    pub note: RwSignal<Option<String>>,
    /// The engine's one-clip benchmark, in words (`?bench`).
    pub bench: RwSignal<Option<String>>,
}

impl Model {
    pub fn new(picked: &'static str) -> Self {
        Model {
            picked: RwSignal::new(picked),
            running: RwSignal::new(None),
            base: RwSignal::new(None),
            ready: RwSignal::new(false),
            status: RwSignal::new("Starting…".into()),
            backend: RwSignal::new(None),
            build: RwSignal::new(""),
            note: RwSignal::new(None),
            bench: RwSignal::new(None),
        }
    }

    /// The running model's emotions, or none while it loads.
    pub fn labels(&self) -> Vec<String> {
        self.running.with(|s| s.as_ref().map(|s| s.labels.clone()).unwrap_or_default())
    }

    /// What the weights running now were trained on, in one line.
    pub fn weights(&self) -> String {
        self.running.with(|s| s.as_deref().map(describe).unwrap_or_default())
    }
}

/// What a model was trained on, in one line.
fn describe(s: &Sidecar) -> String {
    let interim = if s.provenance.interim { " — interim weights, not the final model" } else { "" };
    let trained = format!("on {} ({} emotions: {}){interim}", s.provenance.corpus, s.labels.len(), s.labels.join(", "));
    match &s.personalised {
        Some(p) => format!(
            "Adapted to your voice ({} takes), from the model trained {trained}.",
            p.takes.values().sum::<usize>()
        ),
        None if s.normalisation == Normalisation::PerSpeaker => format!(
            "Trained {trained}, each speaker heard beside their own other recordings: teach it your voice (two takes of each emotion) before trusting its answers."
        ),
        None => format!("Trained {trained}."),
    }
}

/// One recording in the results list. Cloning it clones handles, not the analysis. (Arc, not
/// Rc: leptos' signals and callbacks hold only what could cross threads.)
#[derive(Clone)]
pub struct Entry {
    pub id: usize,
    pub name: Arc<str>,
    /// A blob: URL for playback (a recording's comes once the engine has prepared it).
    pub url: RwSignal<Option<Arc<str>>>,
    pub state: RwSignal<EntryState>,
}

#[derive(Clone)]
pub enum EntryState {
    /// Being read and decoded (no figures yet), then analysed.
    Working(Option<Progress>),
    Done(Arc<Done>),
    Failed(Arc<str>),
}

/// How far an analysis has gone, in seconds of the recording.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    pub done: f32,
    pub total: f32,
}

/// A finished analysis, with the inner workings of one of its windows.
pub struct Done {
    pub analysis: Arc<Analysis>,
    pub inspection: Option<ClipInspection>,
    /// Which window `inspection` shows.
    pub window: usize,
    pub timing: Timing,
    /// The engine worker's WebAssembly memory when it finished, in bytes.
    pub engine_memory: f64,
}

/// The clip and frame lengths of the model that made an analysis (read from its sidecar, so an
/// entry keeps them when another model is picked).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    pub clip_seconds: f32,
    pub frame_seconds: f32,
}

impl Timing {
    pub fn of(sidecar: &Sidecar) -> Self {
        let rate = MODEL_RATE as f32;
        Timing {
            clip_seconds: sidecar.clip_samples as f32 / rate,
            frame_seconds: sidecar.features.hop_length as f32 / rate,
        }
    }
}

impl Entry {
    pub fn fail(&self, error: impl ToString) {
        self.state.set(EntryState::Failed(error.to_string().into()));
    }

    /// The engine's name for it.
    pub fn purpose(&self) -> Purpose {
        Purpose::Entry(self.id as u32)
    }

    /// Show the inner workings of another window (by the model loaded now).
    pub fn inspect_window(&self, engine: EngineWorker, window: usize) {
        engine.send(&Request::Inspect { entry: self.id as u32, window }, Vec::new());
    }
}

/// The recordings analysed, in the order they came, and the one shown in detail.
#[derive(Clone, Copy)]
pub struct Results {
    pub entries: RwSignal<Vec<Entry>>,
    pub selected: RwSignal<Option<usize>>,
}

impl Results {
    pub fn new() -> Self {
        Results { entries: RwSignal::new(Vec::new()), selected: RwSignal::new(None) }
    }

    /// Add an entry in the Working state (selected if none is).
    pub fn add(&self, name: impl Into<Arc<str>>, url: Option<String>) -> Entry {
        let id = self.entries.with_untracked(Vec::len);
        let entry = Entry {
            id,
            name: name.into(),
            url: RwSignal::new(url.map(Into::into)),
            state: RwSignal::new(EntryState::Working(None)),
        };
        self.entries.update(|e| e.push(entry.clone()));
        if self.selected.get_untracked().is_none() {
            self.selected.set(Some(id));
        }
        entry
    }

    /// The selected entry. Only the selection is tracked: an entry, once added, never changes
    /// (its state is its own signal), so adding others need not redraw the detail.
    pub fn selected_entry(&self) -> Option<Entry> {
        let id = self.selected.get()?;
        self.entry(id)
    }

    pub fn entry(&self, id: usize) -> Option<Entry> {
        self.entries.with_untracked(|e| e.get(id).cloned())
    }
}

impl Default for Results {
    fn default() -> Self {
        Self::new()
    }
}

/// One moment of a timeline: a window's middle, what the model heard in it, and whether it held
/// speech.
#[derive(Debug, Clone, PartialEq)]
pub struct TimePoint {
    pub seconds: f32,
    pub probabilities: Vec<f32>,
    pub speech: bool,
}

/// The live recording's timeline: each window analysed, at its time.
#[derive(Clone, Copy)]
pub struct Live {
    pub points: RwSignal<Vec<TimePoint>>,
    /// Updates per second so far.
    pub rate: RwSignal<f32>,
    /// When the recording started (ms, `Date.now()`).
    started: StoredValue<f64>,
}

impl Live {
    pub fn new() -> Self {
        Live { points: RwSignal::new(Vec::new()), rate: RwSignal::new(0.0), started: StoredValue::new(0.0) }
    }

    /// A new recording: an empty timeline.
    pub fn restart(&self) {
        self.points.set(Vec::new());
        self.rate.set(0.0);
        self.started.set_value(js_sys::Date::now());
    }

    fn add(&self, point: TimePoint) {
        self.points.update(|p| p.push(point));
        let elapsed = (js_sys::Date::now() - self.started.get_value()) / 1000.0;
        self.rate.set((self.points.with_untracked(Vec::len) as f64 / elapsed.max(1e-3)) as f32);
    }
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}

/// The one message the page shows as an alert (a denied microphone, say).
#[derive(Clone, Copy)]
pub struct Alert(pub RwSignal<Option<String>>);

impl Alert {
    pub fn new() -> Self {
        Alert(RwSignal::new(None))
    }

    pub fn show(&self, error: PageError) {
        self.0.set(Some(error.to_string()));
    }

    pub fn clear(&self) {
        self.0.set(None);
    }
}

impl Default for Alert {
    fn default() -> Self {
        Self::new()
    }
}

/// One take of "Teach it your voice": the engine's number for it, its emotion (an index into the
/// model's labels), where it came from, and the per-scale features the adaptation reads.
#[derive(Clone)]
pub struct VoiceTake {
    pub id: u32,
    pub label: usize,
    pub name: Arc<str>,
    pub take: Arc<Take>,
}

/// "Teach it your voice": the takes so far and the adapted model, which is kept in the
/// browser's storage and runs instead of the model it came from while switched on.
#[derive(Clone, Copy)]
pub struct Voice {
    pub takes: RwSignal<Vec<VoiceTake>>,
    pub personal: RwSignal<Option<Personal>>,
    pub enabled: RwSignal<bool>,
    /// What adapting is doing now.
    pub progress: RwSignal<Option<String>>,
    /// What the last adaptation found.
    pub outcome: RwSignal<Option<String>>,
    /// A problem, in words (a file of another model, storage full).
    pub message: RwSignal<Option<String>>,
    /// Takes the engine is reading, by its number for them: their emotion and name.
    pending: StoredValue<HashMap<u32, (usize, Arc<str>)>>,
    next_take: StoredValue<u32>,
    /// When adapting was asked for (ms, `Date.now()`), to say how long it took.
    adapt_started: StoredValue<f64>,
}

impl Voice {
    pub fn new() -> Self {
        Voice {
            takes: RwSignal::new(Vec::new()),
            personal: RwSignal::new(voice::storage::load()),
            enabled: RwSignal::new(voice::storage::enabled()),
            progress: RwSignal::new(None),
            outcome: RwSignal::new(None),
            message: RwSignal::new(None),
            pending: StoredValue::new(HashMap::new()),
            next_take: StoredValue::new(0),
            adapt_started: StoredValue::new(0.0),
        }
    }

    /// After an engine has started: takes recorded for another model are dropped (their
    /// features were that model's), and the stored adapted model runs if it is switched on.
    pub fn restore(&self, engine: EngineWorker) {
        self.takes.set(Vec::new());
        self.pending.update_value(HashMap::clear);
        self.apply(engine);
    }

    /// Run the adapted model while it is switched on, else the model it came from.
    pub fn apply(&self, engine: EngineWorker) {
        let personal = self.personal.get_untracked().filter(|_| self.enabled.get_untracked());
        engine.send(&Request::Personalise { personal }, Vec::new());
    }

    /// Keep a new adapted model (made here or imported), switched on.
    pub fn keep(&self, engine: EngineWorker, personal: Personal) {
        self.message.set(voice::storage::save(&personal).err().map(|e| e.to_string()));
        self.personal.set(Some(personal));
        self.switch(engine, true);
    }

    pub fn switch(&self, engine: EngineWorker, on: bool) {
        voice::storage::set_enabled(on);
        self.enabled.set(on);
        self.apply(engine);
    }

    /// Forget the takes and the adapted model, here and in the browser's storage.
    pub fn reset(&self, engine: EngineWorker) {
        voice::storage::clear();
        self.takes.set(Vec::new());
        self.personal.set(None);
        self.outcome.set(None);
        self.message.set(None);
        self.enabled.set(true);
        self.apply(engine);
    }

    /// A new take of emotion `label`, called `name`: what to ask the engine to prepare it for.
    pub fn new_take(&self, label: usize, name: impl Into<Arc<str>>) -> Purpose {
        let take = self.next_take.get_value();
        self.next_take.set_value(take + 1);
        self.pending.update_value(|p| {
            p.insert(take, (label, name.into()));
        });
        Purpose::Take { take, label }
    }

    /// Ask the engine to adapt the model to the takes so far.
    pub fn adapt(&self, engine: EngineWorker) {
        let takes: Vec<(u32, Take)> =
            self.takes.with_untracked(|t| t.iter().map(|t| (t.id, (*t.take).clone())).collect());
        self.progress.set(Some(format!("Adapting to {} takes…", takes.len())));
        self.message.set(None);
        self.adapt_started.set_value(js_sys::Date::now());
        engine.send(&Request::Adapt { takes }, Vec::new());
    }

    fn take_ready(&self, take: u32, features: Take) {
        let Some((label, name)) = self.pending.try_update_value(|p| p.remove(&take)).flatten() else { return };
        self.takes.update(|t| t.push(VoiceTake { id: take, label, name, take: Arc::new(features) }));
    }

    fn take_failed(&self, take: u32, message: &str) {
        let name = self.pending.try_update_value(|p| p.remove(&take)).flatten().map(|(_, name)| name);
        let name = name.as_deref().unwrap_or("a take");
        self.message.set(Some(format!("{name}: {message}")));
    }

    fn adapted(&self, engine: EngineWorker, personal: Option<Personal>, before: f32, after: f32) {
        let seconds = (js_sys::Date::now() - self.adapt_started.get_value()) / 1000.0;
        let mut outcome = format!(
            "On your own takes, each scored by a model adapted without it: {:.0}% right before, {:.0}% after (adapted in {seconds:.1} s).",
            100.0 * before,
            100.0 * after
        );
        if personal.is_none() {
            outcome += " Adapting got fewer of them right, so the model stays as it was: record a few more takes, clearly acted, and adapt again.";
        }
        self.outcome.set(Some(outcome));
        self.progress.set(None);
        if let Some(personal) = personal {
            self.keep(engine, personal);
        }
    }
}

impl Default for Voice {
    fn default() -> Self {
        Self::new()
    }
}

/// Everything the page shares, and where the engine's replies land.
#[derive(Clone, Copy)]
pub struct Page {
    pub engine: EngineWorker,
    pub model: Model,
    pub results: Results,
    pub live: Live,
    pub alert: Alert,
    pub voice: Voice,
    /// Whether to time the engine once it has started (`?bench`).
    pub benchmark: bool,
}

impl Page {
    /// Take in one of the engine's replies (and the arrays beside it).
    pub fn receive(&self, reply: Reply, data: Vec<js_sys::ArrayBuffer>) {
        let Page { engine, model, results, live, voice, .. } = *self;
        match reply {
            // Taken by the client itself.
            Reply::Listening => {}
            Reply::Starting(stage) => model.status.set(stage),
            Reply::Started { backend, note, sidecar_json, simd } => match Sidecar::from_json(&sidecar_json) {
                Ok(sidecar) => {
                    let sidecar = Arc::new(sidecar);
                    model.base.set(Some(sidecar.clone()));
                    model.running.set(Some(sidecar));
                    model.backend.set(Some(backend));
                    model.build.set(if simd { "the SIMD build" } else { "the scalar build" });
                    model.note.set(note);
                    model.ready.set(true);
                    model.status.set("Ready. Speak or drop a file.".into());
                    voice.restore(engine);
                    if self.benchmark {
                        model.bench.set(Some("Timing one clip…".into()));
                        engine.send(&Request::Benchmark, Vec::new());
                    }
                }
                Err(e) => model.status.set(format!("The model could not start: {e}")),
            },
            Reply::StartFailed(why) => model.status.set(format!("The model could not start: {why}")),
            Reply::Running { sidecar_json } => match Sidecar::from_json(&sidecar_json) {
                Ok(sidecar) => model.running.set(Some(Arc::new(sidecar))),
                Err(e) => voice.message.set(Some(e.to_string())),
            },
            Reply::Undecodable { purpose, if_not } => self.decode_in_browser(purpose, if_not, data),
            Reply::Recorded { purpose: Purpose::Entry(id) } => {
                if let (Some(entry), Some(wav)) = (results.entry(id as usize), data.first()) {
                    entry.url.set(buffer_url(wav, "audio/wav").map(Into::into));
                }
            }
            Reply::Recorded { .. } => {}
            Reply::Progress { entry, done, total } => {
                if let Some(entry) = results.entry(entry as usize) {
                    entry.state.set(EntryState::Working(Some(Progress { done, total })));
                }
            }
            Reply::Analysed { entry, analysis, inspection, memory } => {
                let timing = model.running.with_untracked(|s| s.as_deref().map(Timing::of));
                if let (Some(entry), Some(timing)) = (results.entry(entry as usize), timing) {
                    let analysis = Arc::new(analysis);
                    let done = Done { analysis, inspection, window: 0, timing, engine_memory: memory };
                    entry.state.set(EntryState::Done(Arc::new(done)));
                }
            }
            Reply::Inspected { entry, window, inspection } => {
                let Some(entry) = results.entry(entry as usize) else { return };
                entry.state.update(|state| {
                    if let EntryState::Done(done) = state {
                        let (analysis, timing, engine_memory) =
                            (done.analysis.clone(), done.timing, done.engine_memory);
                        *done =
                            Arc::new(Done { analysis, inspection: Some(inspection), window, timing, engine_memory });
                    }
                });
            }
            Reply::TakeReady { take, features, .. } => voice.take_ready(take, features),
            Reply::Live { seconds, probabilities, speech } => live.add(TimePoint { seconds, probabilities, speech }),
            Reply::Adapted { personal, before, after } => voice.adapted(engine, personal, before, after),
            Reply::Failed { purpose, message } => self.fail(purpose, &message),
            Reply::VoiceFailed(message) => {
                voice.message.set(Some(message));
                voice.progress.set(None);
            }
            Reply::Benchmark(stages) => model.bench.set(Some(format!(
                "From 16 kHz, {} build: a 4.35 s recording {:.1} ms (resampling {:.1}, MFCC {:.1}, network {:.1}); one {:.2} s clip of this model {:.1} ms. A live update's features and speech check: {:.2} ms, against {:.2} ms for the clip computed whole.",
                if stages.simd { "SIMD" } else { "scalar" },
                stages.total(),
                stages.resample,
                stages.mfcc,
                stages.network,
                stages.clip_seconds,
                stages.one_clip,
                stages.live_features,
                stages.clip_features
            ))),        }
    }

    fn fail(&self, purpose: Purpose, message: &str) {
        match purpose {
            Purpose::Entry(id) => {
                if let Some(entry) = self.results.entry(id as usize) {
                    entry.fail(message);
                }
            }
            Purpose::Take { take, .. } => self.voice.take_failed(take, message),
        }
    }

    /// A file the Rust decoder cannot read: the browser's decoder tries (on the page, since
    /// workers have no audio contexts) and hands the engine its samples.
    fn decode_in_browser(&self, purpose: Purpose, if_not: String, data: Vec<js_sys::ArrayBuffer>) {
        let page = *self;
        let Some(bytes) = data.into_iter().next() else { return page.fail(purpose, &if_not) };
        spawn_local(async move {
            match browser_decode(&bytes).await {
                Ok((channels, rate)) => {
                    page.engine.send(&Request::Prepare { audio: Audio::Decoded { rate }, purpose }, channels)
                }
                Err(_) => page.fail(purpose, &if_not),
            }
        });
    }
}
