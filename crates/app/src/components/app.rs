use leptos::prelude::*;
use leptos::task::spawn_local;
use timnet::weights::shipped;

use super::charts::{Probabilities, Timeline};
use super::detail::Detail;
use super::input::{DropZone, RecordButton};
use super::teach::TeachPanel;
use crate::client::{Build, EngineWorker};
use crate::error::PageError;
use crate::protocol::{Preference, Request};
use crate::state::{Alert, Entry, EntryState, Live, Model, Page, Progress, Results, Voice};

#[component]
pub fn App() -> impl IntoView {
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
    let page = Page {
        engine: EngineWorker::new(),
        model: Model::new(asked.unwrap_or(shipped::DEFAULT).name),
        results: Results::new(),
        live: Live::new(),
        alert: Alert::new(),
        voice: Voice::new(),
        benchmark: query.contains("bench"),
    };
    let Page { engine, model, results, live, alert, voice, .. } = page;
    provide_context(engine);
    provide_context(model);
    provide_context(results);
    provide_context(live);
    provide_context(alert);
    provide_context(voice);
    // The engine (decoding, features, the model) runs in its own worker; the page only draws.
    let broken = move |error: PageError| {
        if model.ready.get_untracked() {
            alert.show(error);
        } else {
            model.status.set(error.to_string());
        }
    };
    let build = Build::pick(&query);
    if let Err(error) = engine.start(build, move |reply, data| page.receive(reply, data), broken) {
        broken(error);
    }
    // The worker fetches other models' records from the page's own address (its own is another
    // folder's for the SIMD build).
    let base =
        web_sys::window().and_then(|w| w.document()).and_then(|d| d.base_uri().ok().flatten()).unwrap_or_default();
    // (Re)start the engine whenever the model changes; entries analysed before keep their answers.
    Effect::new(move |_| {
        let picked = model.picked.get();
        model.ready.set(false);
        engine.send(&Request::Start { model: picked.to_string(), preference, base: base.clone() }, Vec::new());
    });
    // Whether the page's files are kept for visits without a network, in words: once, after
    // the first model has loaded (its files are then in the list).
    let offline = RwSignal::new(String::new());
    Effect::new(move |_| {
        if model.ready.get() && offline.get_untracked().is_empty() {
            offline.set("Saving the page for offline use…".into());
            spawn_local(async move {
                offline.set(match crate::offline::make_available_offline(build).await {
                    Ok(n) => format!("Saved on this device ({n} files): the page works offline from now on."),
                    Err(e) => format!("The page could not be saved for offline use: {e}"),
                });
            });
        }
    });

    view! {
        <header>
            <h1>"What does TIM-Net hear?"</h1>
            <p class="lede">
                "Speak, or drop a recording, and a speech-emotion model (TIM-Net, ICASSP 2023) tells which emotion it hears — and shows what it listened to."
            </p>
            <p class="privacy" data-testid="privacy">
                "Private by design: your audio never leaves this page. Decoding, features and the model all run on your device; after it has loaded, the page asks only its own server, and only for another model's weights when you pick one."
            </p>
        </header>
        <section class="status" aria-live="polite">
            <p data-testid="status">{move || model.status.get()}</p>
            <p data-testid="backend">
                {move || model.backend.get().map(|b| format!("Running on {b}, {}.", model.build.get())).unwrap_or_default()}
                " "
                {move || model.note.get().unwrap_or_default()}
            </p>
            {move || model.bench.get().map(|b| view! { <p class="hint" data-testid="bench">{b}</p> })}
            <ModelPicker/>
            <p class="weights" data-testid="weights">{move || model.weights()}</p>
            {move || alert.0.get().map(|e| view! { <p class="error" role="alert" data-testid="error">{e}</p> })}
        </section>
        <section class="inputs">
            <RecordButton/>
            <DropZone/>
        </section>
        <Show when=move || !live.points.with(Vec::is_empty)>
            <section class="live" aria-label="Live analysis">
                <h2>"Live"</h2>
                <p class="hint" data-testid="live-rate">
                    {move || format!("{:.1} updates per second", live.rate.get())}
                </p>
                <Timeline points={Signal::derive(move || live.points.get())} labels={Signal::derive(move || model.labels())} testid="live-timeline"/>
            </section>
        </Show>
        <section class="results" aria-label="Results">
            <ul class="entries">
                <For each=move || results.entries.get() key=|e| e.id let:entry>
                    <EntryRow entry=entry/>
                </For>
            </ul>
        </section>
        {move || results.selected_entry().map(|entry| view! { <Detail entry=entry/> })}
        <TeachPanel/>
        <footer>
            <p data-testid="offline">{move || offline.get()}</p>
            <p>
                "Model: TIM-Net (Ye et al., ICASSP 2023), re-implemented in Rust with burn. The default model has heard acted speech in five languages and is right about two times in five on a corpus it has never heard (five emotions, where chance is one in five); the paper's EmoDB model knows only ten German actors. Expect mistakes on everyday speech and noisy recordings."
            </p>
        </footer>
    }
}

/// The shipped models, each with what it was trained on.
#[component]
fn ModelPicker() -> impl IntoView {
    let model = expect_context::<Model>();
    let picked = model.picked;
    view! {
        <label class="model-picker">
            "Model: "
            <select
                data-testid="model"
                prop:disabled=move || !model.ready.get()
                on:change=move |ev| {
                    if let Some(chosen) = shipped::named(&event_target_value(&ev)) {
                        picked.set(chosen.name);
                    }
                }
            >
                {shipped::ALL
                    .iter()
                    .map(|m| view! { <option value=m.name selected=move || picked.get() == m.name>{format!("{} — {}", m.name, m.summary)}</option> })
                    .collect_view()}
            </select>
        </label>
    }
}

#[component]
fn EntryRow(entry: Entry) -> impl IntoView {
    let results = expect_context::<Results>();
    let id = entry.id;
    let is_selected = move || results.selected.get() == Some(id);
    // Only this entry's signal is read: another entry finishing does not redraw this one.
    let state = entry.state;
    let body = move || {
        match state.get() {
        EntryState::Working(None) => view! { <span class="working">"reading…"</span> }.into_any(),
        EntryState::Working(Some(Progress { done, total })) => view! {
            <span class="working" data-testid="progress">{format!("analysing… {} of {}", clock(done), clock(total))}</span>
            <progress max=total value=done></progress>
        }
        .into_any(),
        EntryState::Failed(message) => {
            view! { <span class="error" data-testid="entry-error">{message.to_string()}</span> }.into_any()
        }
        // Without speech the network's emotion means nothing: the entry says so instead (the
        // notes in the detail say why).
        EntryState::Done(done) if !done.analysis.speech => {
            view! { <span class="top no-speech" data-testid="no-speech">"No speech detected"</span> }.into_any()
        }
        EntryState::Done(done) => {
            let (label, p) = done.analysis.top();
            let summary = format!("{label} {:.0}%", 100.0 * p);
            let doubt = done.analysis.doubt().map(|d| view! { <span class="doubt" data-testid="doubt">{d}</span> });
            view! {
                <span class="top" data-testid="top">{summary}</span>
                {doubt}
                <Probabilities labels=done.analysis.labels.clone() values=done.analysis.probabilities.clone()/>
            }
            .into_any()
        }
    }
    };
    view! {
        // The engine's memory when the entry was done, for the end-to-end test's bound.
        <li class="entry" class:selected=is_selected data-testid="entry"
            data-engine-memory=move || match state.get() { EntryState::Done(done) => Some(done.engine_memory), _ => None }>
            <button class="entry-name" on:click=move |_| results.selected.set(Some(id)) aria-pressed=move || is_selected().to_string()>
                {entry.name.to_string()}
            </button>
            {body}
        </li>
    }
}

/// Seconds as minutes and seconds ("12:05"), with hours when there are any ("1:02:05").
fn clock(seconds: f32) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s / 3600 {
        0 => format!("{}:{:02}", s / 60, s % 60),
        h => format!("{h}:{:02}:{:02}", s / 60 % 60, s % 60),
    }
}
