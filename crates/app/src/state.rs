//! The page's state, one context per concern, so that a component takes only what it uses:
//! [`Model`] (the loaded engine and its readiness), [`Results`] (the recordings analysed, each
//! with its own signal, so finishing one redraws only that one), [`Live`] (the live timeline)
//! [`Alert`] (the message shown to the person) and [`Voice`] (teaching it the person's voice).

use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use timnet::adapt::Take;
use timnet::analysis::{Analysis, ClipInspection};
use timnet::audio::{MODEL_RATE, Prepared};
use timnet::weights::Sidecar;

use crate::engine::Engine;
use crate::error::PageError;
use crate::timer::pause;
use crate::voice::{self, Personal};

/// The model that analyses: restarted when another is picked, and switched to a copy adapted
/// to the person's voice and back.
#[derive(Clone, Copy)]
pub struct Model {
    engine: StoredValue<Option<Rc<Engine>>, LocalStorage>,
    /// The engine as it was started, before any adaptation.
    base: StoredValue<Option<Rc<Engine>>, LocalStorage>,
    pub ready: RwSignal<bool>,
    /// What the model is doing, in words ("Starting WebGPU…", "Ready.").
    pub status: RwSignal<String>,
    /// What the weights running now were trained on, in one line.
    pub weights: RwSignal<String>,
}

impl Model {
    pub fn new() -> Self {
        Model {
            engine: StoredValue::new_local(None),
            base: StoredValue::new_local(None),
            ready: RwSignal::new(false),
            status: RwSignal::new("Starting…".into()),
            weights: RwSignal::new(String::new()),
        }
    }

    pub fn engine(&self) -> Option<Rc<Engine>> {
        self.engine.get_value()
    }

    /// The engine as started, whatever runs now.
    pub fn base(&self) -> Option<Rc<Engine>> {
        self.base.get_value()
    }

    /// A freshly started engine: it runs, and it is the base that adapted copies belong to.
    pub fn set_engine(&self, engine: Engine) {
        let engine = Rc::new(engine);
        self.base.set_value(Some(engine.clone()));
        self.run(engine);
        self.ready.set(true);
    }

    /// Run this engine (an adapted copy, or the base again).
    pub fn run(&self, engine: Rc<Engine>) {
        self.weights.set(describe(engine.sidecar()));
        self.engine.set_value(Some(engine));
    }

    /// The loaded model's emotions, or none while it loads. Tracked: a view that reads them is
    /// drawn again when another model runs (the engine itself is not a signal).
    pub fn labels(&self) -> Vec<String> {
        self.weights.track();
        self.engine.with_value(|e| e.as_ref().map(|e| e.sidecar().labels.clone()).unwrap_or_default())
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
        None => format!("Trained {trained}."),
    }
}

impl Default for Model {
    fn default() -> Self {
        Self::new()
    }
}

/// One recording in the results list. Cloning it clones handles, not the analysis. (Arc, not
/// Rc: leptos' signals and callbacks hold only what could cross threads.)
#[derive(Clone)]
pub struct Entry {
    pub id: usize,
    pub name: Arc<str>,
    /// A blob: URL for playback.
    pub url: Option<Arc<str>>,
    pub state: RwSignal<EntryState>,
    /// The prepared audio, for inspecting other windows.
    audio: StoredValue<Option<Rc<Prepared>>, LocalStorage>,
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
    pub fn fail(&self, error: PageError) {
        self.state.set(EntryState::Failed(error.to_string().into()));
    }

    /// Analyse prepared audio: probabilities over all windows, and the inner workings of the
    /// first window.
    pub fn analyse(&self, model: Model, prepared: Prepared) {
        let Some(engine) = model.engine() else {
            self.state.set(EntryState::Failed("the model is not loaded yet".into()));
            return;
        };
        let prepared = Rc::new(prepared);
        self.audio.set_value(Some(prepared.clone()));
        let state = self.state;
        spawn_local(async move {
            // A long recording takes a while: the entry shows how far it has gone, and the page
            // draws between batches.
            let total = prepared.samples.len() as f32 / MODEL_RATE as f32;
            let progress = move |done: usize| {
                state.set(EntryState::Working(Some(Progress { done: done as f32 / MODEL_RATE as f32, total })));
                pause(0)
            };
            state.set(match engine.analyzer.analyse_with(&prepared, progress).await {
                Ok(analysis) => {
                    let inspection = match engine.analyzer.window(&prepared.samples, 0) {
                        Some(first) => engine.analyzer.inspect(&first).await.ok(),
                        None => None,
                    };
                    let timing = Timing::of(engine.sidecar());
                    EntryState::Done(Arc::new(Done { analysis: Arc::new(analysis), inspection, window: 0, timing }))
                }
                Err(e) => EntryState::Failed(PageError::from(e).to_string().into()),
            });
        });
    }

    /// Show the inner workings of another window (by the model loaded now).
    pub fn inspect_window(&self, model: Model, window: usize) {
        let (Some(engine), Some(prepared)) = (model.engine(), self.audio.get_value()) else { return };
        let state = self.state;
        spawn_local(async move {
            let Some(clip) = engine.analyzer.window(&prepared.samples, window) else { return };
            let Ok(inspection) = engine.analyzer.inspect(&clip).await else { return };
            state.update(|state| {
                if let EntryState::Done(done) = state {
                    let (analysis, timing) = (done.analysis.clone(), done.timing);
                    *done = Arc::new(Done { analysis, inspection: Some(inspection), window, timing });
                }
            });
        });
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
            url: url.map(Into::into),
            state: RwSignal::new(EntryState::Working(None)),
            audio: StoredValue::new_local(None),
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
}

impl Live {
    pub fn new() -> Self {
        Live { points: RwSignal::new(Vec::new()), rate: RwSignal::new(0.0) }
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

/// One take of "Teach it your voice": its emotion (an index into the model's labels), where it
/// came from, and the per-scale features the adaptation reads.
#[derive(Clone)]
pub struct VoiceTake {
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
        }
    }

    /// After an engine has started: takes recorded for another model are dropped (their
    /// features were that model's), and the stored adapted model runs if it is switched on.
    pub fn restore(&self, model: Model) {
        self.takes.set(Vec::new());
        self.apply(model);
    }

    /// Run the adapted model while it is switched on, else the model it came from.
    pub fn apply(&self, model: Model) {
        let Some(base) = model.base() else { return };
        let personal = self.personal.get_untracked().filter(|_| self.enabled.get_untracked());
        match personal.map(|p| p.engine(&base)) {
            Some(Ok(engine)) => model.run(Rc::new(engine)),
            Some(Err(e)) => {
                self.message.set(Some(e.to_string()));
                model.run(base);
            }
            None => model.run(base),
        }
    }

    /// Keep a new adapted model (made here or imported), switched on.
    pub fn keep(&self, model: Model, personal: Personal) {
        self.message.set(voice::storage::save(&personal).err().map(|e| e.to_string()));
        self.personal.set(Some(personal));
        self.switch(model, true);
    }

    pub fn switch(&self, model: Model, on: bool) {
        voice::storage::set_enabled(on);
        self.enabled.set(on);
        self.apply(model);
    }

    /// Forget the takes and the adapted model, here and in the browser's storage.
    pub fn reset(&self, model: Model) {
        voice::storage::clear();
        self.takes.set(Vec::new());
        self.personal.set(None);
        self.outcome.set(None);
        self.message.set(None);
        self.enabled.set(true);
        self.apply(model);
    }
}

impl Default for Voice {
    fn default() -> Self {
        Self::new()
    }
}
