//! "Teach it your voice": emotion by emotion, a sentence to say and takes recorded or chosen;
//! then the model adapted to them, with its accuracy on the person's own takes before and after;
//! switched on or off, reset, exported and imported.

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::audio_in::{Recorder, file_buffer, file_bytes};
use crate::client::EngineWorker;
use crate::error::PageError;
use crate::playback::blob_url;
use crate::protocol::{Audio, Request};
use crate::state::{Model, Voice};
use crate::voice;

/// Sentences with no emotion of their own, said in each emotion in turn (as the acted corpora
/// do), one per take.
const SENTENCES: [&str; 3] = [
    "The bag is lying on the kitchen table.",
    "I will be there at seven o'clock tomorrow.",
    "Those papers are still in the blue folder.",
];

/// How to say a sentence in an emotion.
fn manner(emotion: &str) -> String {
    match emotion {
        "angry" => "as if you were angry".into(),
        "fear" => "as if you were afraid".into(),
        "happy" => "as if you were happy".into(),
        "neutral" => "plainly, feeling nothing in particular".into(),
        "sad" => "as if you were sad".into(),
        "boredom" => "as if you were bored".into(),
        "disgust" => "as if you were disgusted".into(),
        other => format!("as if you felt {other}"),
    }
}

#[component]
pub fn TeachPanel() -> impl IntoView {
    let (engine, model, voice) =
        (expect_context::<EngineWorker>(), expect_context::<Model>(), expect_context::<Voice>());
    // Which emotion is being recorded, if any, and its recorder.
    let recording = RwSignal::new(None::<usize>);
    let recorder = StoredValue::new_local(None::<Rc<Recorder>>);
    let emotions_with_takes = move || {
        let mut labels: Vec<usize> = voice.takes.with(|t| t.iter().map(|t| t.label).collect());
        labels.sort_unstable();
        labels.dedup();
        labels.len()
    };
    // Takes are read by the engine; they join the list when it has their features.
    let record = move |label: usize| {
        voice.message.set(None);
        if recording.get_untracked() == Some(label) {
            recording.set(None);
            let Some(r) = recorder.get_value() else { return };
            recorder.set_value(None);
            r.stop();
            let name = format!("recorded take {}", voice.takes.with_untracked(|t| t.len()) + 1);
            let purpose = voice.new_take(label, name);
            engine.send(&Request::Prepare { audio: Audio::Recording { recording: r.id }, purpose }, Vec::new());
            return;
        }
        if recording.get_untracked().is_some() {
            return;
        }
        spawn_local(async move {
            match Recorder::start(engine, false).await {
                Ok(r) => {
                    recorder.set_value(Some(Rc::new(r)));
                    recording.set(Some(label));
                }
                Err(e) => voice.message.set(Some(e.to_string())),
            }
        });
    };
    let choose = move |label: usize, files: web_sys::FileList| {
        voice.message.set(None);
        for i in 0..files.length() {
            let Some(file) = files.get(i) else { continue };
            spawn_local(async move {
                let name = file.name();
                match file_buffer(&file).await {
                    Ok(bytes) => {
                        let purpose = voice.new_take(label, name);
                        engine.send(&Request::Prepare { audio: Audio::File, purpose }, vec![bytes]);
                    }
                    Err(e) => voice.message.set(Some(format!("{name}: {e}"))),
                }
            });
        }
    };
    let adapt = move || voice.adapt(engine);
    let export = move || {
        let Some(personal) = voice.personal.get_untracked() else { return };
        for (name, bytes, mime) in [
            ("model.json", personal.sidecar_json.as_bytes(), "application/json"),
            ("model.bpk", &personal.record[..], "application/octet-stream"),
        ] {
            if let Err(e) = download(name, bytes, mime) {
                voice.message.set(Some(e.to_string()));
            }
        }
    };
    let import = move |files: web_sys::FileList| {
        voice.message.set(None);
        // Taken out of the list now: the input is cleared (and its list emptied) right after.
        let files: Vec<web_sys::File> = (0..files.length()).filter_map(|i| files.get(i)).collect();
        spawn_local(async move {
            let mut contents = Vec::new();
            for file in files {
                match file_bytes(&file).await {
                    Ok(bytes) => contents.push(bytes),
                    Err(e) => return voice.message.set(Some(e.to_string())),
                }
            }
            let checked = voice::from_files(contents).and_then(|p| {
                let base =
                    model.base.get_untracked().ok_or_else(|| PageError::Voice("the model is not loaded yet".into()))?;
                p.check(&base, model.picked.get_untracked()).map(|_| p)
            });
            match checked {
                Ok(personal) => {
                    voice.outcome.set(Some(format!("Imported a model {}.", personal.describe())));
                    voice.keep(engine, personal);
                }
                Err(e) => voice.message.set(Some(e.to_string())),
            }
        });
    };

    let rows = move || {
        model
            .labels()
            .into_iter()
            .enumerate()
            .map(|(label, emotion)| {
                let count = move || voice.takes.with(|t| t.iter().filter(|t| t.label == label).count());
                let sentence = move || SENTENCES[count() % SENTENCES.len()];
                let prompt = manner(&emotion);
                view! {
                    <li class="teach-row" data-testid=format!("teach-{emotion}")>
                        <span class="teach-emotion">{emotion.clone()}</span>
                        <span class="teach-prompt">"Say, " {prompt} ": “" {sentence} "”"</span>
                        <span class="teach-count" data-testid=format!("count-{emotion}")>
                            {move || match count() { 1 => "1 take".to_string(), n => format!("{n} takes") }}
                        </span>
                        <button
                            class="teach-record"
                            data-testid=format!("take-record-{emotion}")
                            disabled=move || !model.ready.get() || recording.get().is_some_and(|r| r != label)
                            aria-pressed=move || (recording.get() == Some(label)).to_string()
                            on:click=move |_| record(label)
                        >
                            {move || if recording.get() == Some(label) { "■ Stop" } else { "● Record a take" }}
                        </button>
                        <label class="teach-files">
                            "or choose files"
                            <input type="file" multiple accept="audio/*,.wav,.flac,.mp3,.ogg,.webm,.aif,.aiff"
                                data-testid=format!("take-input-{emotion}")
                                disabled=move || !model.ready.get()
                                on:change:target=move |ev| {
                                    if let Some(files) = ev.target().files() {
                                        choose(label, files);
                                    }
                                    ev.target().set_value("");
                                }/>
                        </label>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <section class="teach" aria-label="Teach it your voice" data-testid="teach">
            <h2>"Teach it your voice"</h2>
            <p class="hint">
                "Every voice is different. Say each sentence in the emotion asked for — two takes of each are enough to start — and the model adapts to you. Your takes and the adapted model stay on this device."
            </p>
            <ul class="teach-rows">{rows}</ul>
            <div class="teach-actions">
                <button data-testid="adapt" disabled=move || !model.ready.get() || emotions_with_takes() < 2 || voice.progress.get().is_some()
                    on:click=move |_| adapt()>"Adapt to my voice"</button>
                <label class="teach-switch">
                    <input type="checkbox" data-testid="personal-on"
                        prop:checked=move || voice.enabled.get() && voice.personal.with(Option::is_some)
                        disabled=move || voice.personal.with(Option::is_none)
                        on:change:target=move |ev| voice.switch(engine, ev.target().checked())/>
                    " Use my adapted model"
                </label>
                <button data-testid="personal-reset" on:click=move |_| voice.reset(engine)>"Reset"</button>
                <button data-testid="personal-export" disabled=move || voice.personal.with(Option::is_none)
                    on:click=move |_| export()>"Export"</button>
                <label class="teach-files">
                    "Import"
                    <input type="file" multiple data-testid="personal-import"
                        on:change:target=move |ev| {
                            if let Some(files) = ev.target().files() {
                                import(files);
                            }
                            ev.target().set_value("");
                        }/>
                </label>
            </div>
            <p class="hint" data-testid="adapt-progress" aria-live="polite">{move || voice.progress.get()}</p>
            <p data-testid="adapt-outcome">{move || voice.outcome.get()}</p>
            <p data-testid="personal-state">
                {move || voice.personal.get().map(|p| {
                    let on = if voice.enabled.get() { "in use" } else { "switched off" };
                    format!("Your model: {}, {on}.", p.describe())
                })}
            </p>
            {move || voice.message.get().map(|m| view! { <p class="error" role="alert" data-testid="teach-error">{m}</p> })}
        </section>
    }
}

/// Offer bytes as a download named `name` (a blob: URL: nothing leaves the device).
fn download(name: &str, bytes: &[u8], mime: &str) -> Result<(), PageError> {
    use wasm_bindgen::JsCast;
    let url = blob_url(bytes, mime).ok_or_else(|| PageError::Voice("the browser could not make the file".into()))?;
    let document =
        web_sys::window().and_then(|w| w.document()).ok_or_else(|| PageError::Voice("no document".into()))?;
    let anchor: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(PageError::browser)?
        .dyn_into()
        .map_err(|e| PageError::browser(e.into()))?;
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.set_attribute("data-testid", &format!("download-{name}")).map_err(PageError::browser)?;
    anchor.click();
    Ok(())
}
