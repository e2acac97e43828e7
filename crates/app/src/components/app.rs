use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use timnet::analysis::{Analysis, ClipInspection};
use timnet::audio::{MODEL_RATE, Prepared};
use timnet::weights::shipped;

use super::charts::{Probabilities, Timeline};
use super::detail::Detail;
use super::input::{DropZone, RecordButton};
use crate::engine::{Backend, Engine, Preference};

/// One analysed (or failed) recording in the results list.
#[derive(Clone, Debug)]
pub struct Entry {
    pub id: usize,
    pub name: String,
    /// A blob: URL for playback.
    pub url: Option<String>,
    pub state: EntryState,
}

#[derive(Clone, Debug)]
pub enum EntryState {
    Working,
    Done { analysis: Analysis, inspection: Option<ClipInspection>, window: usize, timing: Timing },
    Failed(String),
}

/// The clip and frame lengths of the model that made an analysis (read from its sidecar, so an
/// entry keeps them when another model is picked).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    pub clip_seconds: f32,
    pub frame_seconds: f32,
}

impl Timing {
    fn of(sidecar: &timnet::weights::Sidecar) -> Self {
        let rate = MODEL_RATE as f32;
        Timing {
            clip_seconds: sidecar.clip_samples as f32 / rate,
            frame_seconds: sidecar.features.hop_length as f32 / rate,
        }
    }
}

/// What the components share.
#[derive(Clone, Copy)]
pub struct Shared {
    pub engine: StoredValue<Option<Rc<Engine>>, LocalStorage>,
    /// Prepared audio of each entry, for inspecting other windows.
    pub audio: StoredValue<Vec<Option<Rc<Prepared>>>, LocalStorage>,
    pub entries: RwSignal<Vec<Entry>>,
    pub selected: RwSignal<Option<usize>>,
    pub status: RwSignal<String>,
    pub ready: RwSignal<bool>,
    pub error: RwSignal<Option<String>>,
    /// (seconds, probabilities) of the live recording's windows.
    pub live: RwSignal<Vec<(f32, Vec<f32>)>>,
    pub live_rate: RwSignal<f32>,
}

impl Shared {
    pub fn labels(&self) -> Vec<String> {
        self.engine.with_value(|e| e.as_ref().map(|e| e.sidecar().labels.clone()).unwrap_or_default())
    }

    /// Add an entry in the Working state; returns its id.
    pub fn add(&self, name: String, url: Option<String>) -> usize {
        let id = self.entries.with_untracked(|e| e.len());
        self.entries.update(|e| e.push(Entry { id, name, url, state: EntryState::Working }));
        self.audio.update_value(|a| a.push(None));
        if self.selected.get_untracked().is_none() {
            self.selected.set(Some(id));
        }
        id
    }

    pub fn finish(&self, id: usize, state: EntryState) {
        self.entries.update(|e| {
            if let Some(entry) = e.get_mut(id) {
                entry.state = state;
            }
        });
    }

    /// Analyse prepared audio as entry `id`: probabilities over all windows, and the inner
    /// workings on the first window.
    pub fn analyse(self, id: usize, prepared: Prepared) {
        let Some(engine) = self.engine.get_value() else {
            self.finish(id, EntryState::Failed("the model is not loaded yet".into()));
            return;
        };
        let prepared = Rc::new(prepared);
        self.audio.update_value(|a| a[id] = Some(prepared.clone()));
        spawn_local(async move {
            let state = match engine.analyzer.analyse(&prepared).await {
                Ok(analysis) => {
                    let first = engine.analyzer.windows(&prepared.samples).swap_remove(0);
                    let inspection = engine.analyzer.inspect(&first).await.ok();
                    EntryState::Done { analysis, inspection, window: 0, timing: Timing::of(engine.sidecar()) }
                }
                Err(e) => EntryState::Failed(e.to_string()),
            };
            self.finish(id, state);
        });
    }

    /// Show the inner workings of another window of entry `id`.
    pub fn inspect_window(self, id: usize, window: usize) {
        let (Some(engine), Some(Some(prepared))) =
            (self.engine.get_value(), self.audio.with_value(|a| a.get(id).cloned()))
        else {
            return;
        };
        spawn_local(async move {
            let windows = engine.analyzer.windows(&prepared.samples);
            let Some(clip) = windows.get(window) else { return };
            if let Ok(inspection) = engine.analyzer.inspect(clip).await {
                self.entries.update(|e| {
                    if let Some(Entry { state: EntryState::Done { inspection: slot, window: w, .. }, .. }) =
                        e.get_mut(id)
                    {
                        *slot = Some(inspection);
                        *w = window;
                    }
                });
            }
        });
    }
}

#[component]
pub fn App() -> impl IntoView {
    let shared = Shared {
        engine: StoredValue::new_local(None),
        audio: StoredValue::new_local(Vec::new()),
        entries: RwSignal::new(Vec::new()),
        selected: RwSignal::new(None),
        status: RwSignal::new("Starting…".into()),
        ready: RwSignal::new(false),
        error: RwSignal::new(None),
        live: RwSignal::new(Vec::new()),
        live_rate: RwSignal::new(0.0),
    };
    provide_context(shared);
    let backend = RwSignal::new(None::<Backend>);
    let note = RwSignal::new(None::<String>);
    let weights = RwSignal::new(String::new());
    // `?cpu` or `?gpu` in the address forces a backend (for comparison and tests); `?model=NAME`
    // picks a shipped model.
    let query = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
    let preference = if query.contains("cpu") {
        Preference::Cpu
    } else if query.contains("gpu") {
        Preference::Gpu
    } else {
        Preference::Auto
    };
    let asked = query.split(['?', '&']).find_map(|pair| pair.strip_prefix("model=")).and_then(shipped::named);
    let model = RwSignal::new(asked.unwrap_or(shipped::DEFAULT).name);
    // (Re)start the engine whenever the model changes; entries analysed before keep their answers.
    Effect::new(move |_| {
        let Some(chosen) = shipped::named(&model.get()) else { return };
        shared.ready.set(false);
        spawn_local(async move {
            let status = shared.status;
            match Engine::start(chosen, preference, move |stage| status.set(stage.to_string())).await {
                Ok(engine) => {
                    backend.set(Some(engine.backend));
                    note.set(engine.note.clone());
                    weights.set(describe(engine.sidecar()));
                    shared.engine.set_value(Some(Rc::new(engine)));
                    shared.status.set("Ready. Speak or drop a file.".into());
                    shared.ready.set(true);
                }
                Err(e) => shared.status.set(format!("The model could not start: {e}")),
            }
        });
    });

    let selected_entry = move || shared.selected.get().and_then(|id| shared.entries.with(|e| e.get(id).cloned()));
    view! {
        <header>
            <h1>"What does TIM-Net hear?"</h1>
            <p class="lede">
                "Speak, or drop a recording, and a speech-emotion model (TIM-Net, ICASSP 2023) tells which emotion it hears — and shows what it listened to."
            </p>
            <p class="privacy" data-testid="privacy">
                "Private by design: your audio never leaves this page. Decoding, features and the model all run on your device; the page makes no request after it has loaded."
            </p>
        </header>
        <section class="status" aria-live="polite">
            <p data-testid="status">{move || shared.status.get()}</p>
            <p data-testid="backend">
                {move || backend.get().map(|b| format!("Running on {b}.")).unwrap_or_default()}
                " "
                {move || note.get().unwrap_or_default()}
            </p>
            <ModelPicker model=model/>
            <p class="weights" data-testid="weights">{move || weights.get()}</p>
            {move || shared.error.get().map(|e| view! { <p class="error" role="alert" data-testid="error">{e}</p> })}
        </section>
        <section class="inputs">
            <RecordButton/>
            <DropZone/>
        </section>
        <Show when=move || !shared.live.with(|l| l.is_empty())>
            <section class="live" aria-label="Live analysis">
                <h2>"Live"</h2>
                <p class="hint" data-testid="live-rate">
                    {move || format!("{:.1} updates per second", shared.live_rate.get())}
                </p>
                <Timeline points={Signal::derive(move || shared.live.get())} labels={Signal::derive(move || shared.labels())} testid="live-timeline"/>
            </section>
        </Show>
        <section class="results" aria-label="Results">
            <ul class="entries">
                <For each=move || shared.entries.get() key=|e| (e.id, matches!(e.state, EntryState::Working)) let:entry>
                    <EntryRow entry=entry/>
                </For>
            </ul>
        </section>
        {move || selected_entry().map(|entry| view! { <Detail entry=entry/> })}
        <footer>
            <p>
                "Model: TIM-Net (Ye et al., ICASSP 2023), re-implemented in Rust with burn. The default model has heard acted speech in six languages and is right about two times in five on a corpus it has never heard (five emotions, where chance is one in five); the paper's EmoDB model knows only ten German actors. Expect mistakes on everyday speech and noisy recordings."
            </p>
        </footer>
    }
}

/// What a loaded model was trained on, in one line.
fn describe(s: &timnet::weights::Sidecar) -> String {
    let interim = if s.provenance.interim { " — interim weights, not the final model" } else { "" };
    format!("Trained on {} ({} emotions: {}){interim}.", s.provenance.corpus, s.labels.len(), s.labels.join(", "))
}

/// The shipped models, each with what it was trained on.
#[component]
fn ModelPicker(model: RwSignal<&'static str>) -> impl IntoView {
    let shared = expect_context::<Shared>();
    view! {
        <label class="model-picker">
            "Model: "
            <select
                data-testid="model"
                prop:disabled=move || !shared.ready.get()
                on:change=move |ev| {
                    if let Some(chosen) = shipped::named(&event_target_value(&ev)) {
                        model.set(chosen.name);
                    }
                }
            >
                {shipped::ALL
                    .iter()
                    .map(|m| view! { <option value=m.name selected=move || model.get() == m.name>{format!("{} — {}", m.name, m.summary)}</option> })
                    .collect_view()}
            </select>
        </label>
    }
}

#[component]
fn EntryRow(entry: Entry) -> impl IntoView {
    let shared = expect_context::<Shared>();
    let id = entry.id;
    let is_selected = move || shared.selected.get() == Some(id);
    let body = match entry.state.clone() {
        EntryState::Working => view! { <span class="working">"analysing…"</span> }.into_any(),
        EntryState::Failed(message) => {
            view! { <span class="error" data-testid="entry-error">{message}</span> }.into_any()
        }
        EntryState::Done { analysis, .. } => {
            let (label, p) = analysis.top();
            let summary = format!("{label} {:.0}%", 100.0 * p);
            let probabilities = analysis.probabilities.clone();
            let labels = analysis.labels.clone();
            view! {
                <span class="top" data-testid="top">{summary}</span>
                <Probabilities labels=labels values=probabilities/>
            }
            .into_any()
        }
    };
    view! {
        <li class="entry" class:selected=is_selected data-testid="entry">
            <button class="entry-name" on:click=move |_| shared.selected.set(Some(id)) aria-pressed=move || is_selected().to_string()>
                {entry.name.clone()}
            </button>
            {body}
        </li>
    }
}

/// A mono WAV of samples at the model rate, for playing a recording back.
pub fn wav_bytes(samples: &[f32]) -> Vec<u8> {
    timnet::audio::encode_wav(samples, 1, MODEL_RATE)
}

/// A blob: URL for bytes (same-origin, no request leaves the page).
pub fn blob_url(bytes: &[u8], mime: &str) -> Option<String> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}
