use std::cell::Cell;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use timnet::audio::prepare_samples;

use super::app::{EntryState, Shared, blob_url, wav_bytes};
use crate::audio_in::{Recorder, file_bytes, prepare_file};
use crate::live::{latest_input, latest_window, seconds};

/// How often the live window may be analysed: more often than the 10 a second aimed for, so
/// that the analysis's own time, not the timer, sets the rate (a tick that finds the previous
/// analysis still running is skipped).
const LIVE_INTERVAL_MS: u64 = 40;

#[component]
pub fn RecordButton() -> impl IntoView {
    let shared = expect_context::<Shared>();
    let recorder = StoredValue::new_local(None::<Rc<Recorder>>);
    let recording = RwSignal::new(false);
    let takes = StoredValue::new(0usize);
    let interval = StoredValue::new_local(None::<IntervalHandle>);

    let start = move || {
        shared.error.set(None);
        spawn_local(async move {
            match Recorder::start().await {
                Ok(r) => {
                    let r = Rc::new(r);
                    recorder.set_value(Some(r.clone()));
                    recording.set(true);
                    shared.live.set(Vec::new());
                    let busy = Rc::new(Cell::new(false));
                    let started = js_sys::Date::now();
                    let updates = Rc::new(Cell::new(0u32));
                    let handle = set_interval_with_handle(
                        move || {
                            if busy.get() {
                                return;
                            }
                            let Some(engine) = shared.engine.get_value() else { return };
                            let clip = engine.sidecar().clip_samples;
                            let rate = r.rate;
                            // Copy only the newest clip's worth: the take grows without bound.
                            let (input, total) = {
                                let recorded = r.samples.borrow();
                                (latest_input(&recorded, rate, clip).to_vec(), recorded.len())
                            };
                            if input.len() < 2 {
                                return;
                            }
                            busy.set(true);
                            let (busy, updates) = (busy.clone(), updates.clone());
                            spawn_local(async move {
                                let window = latest_window(&input, rate, clip);
                                if let Ok(prepared) = prepare_samples(&window, 1, timnet::audio::MODEL_RATE) {
                                    if let Ok(analysis) = engine.analyzer.analyse(&prepared).await {
                                        let now = seconds(total, rate);
                                        shared.live.update(|l| l.push((now, analysis.probabilities)));
                                        updates.set(updates.get() + 1);
                                        let elapsed = (js_sys::Date::now() - started) / 1000.0;
                                        shared.live_rate.set((updates.get() as f64 / elapsed.max(1e-3)) as f32);
                                    }
                                }
                                busy.set(false);
                            });
                        },
                        std::time::Duration::from_millis(LIVE_INTERVAL_MS),
                    );
                    interval.set_value(handle.ok());
                }
                Err(message) => shared.error.set(Some(message)),
            }
        });
    };
    let stop = move || {
        if let Some(handle) = interval.get_value() {
            handle.clear();
        }
        recording.set(false);
        let Some(r) = recorder.get_value() else { return };
        recorder.set_value(None);
        let rate = r.rate;
        let samples = r.stop();
        takes.update_value(|t| *t += 1);
        let name = format!("Recording {}", takes.get_value());
        match prepare_samples(&samples, 1, rate) {
            Ok(prepared) => {
                let url = blob_url(&wav_bytes(&prepared.samples), "audio/wav");
                let id = shared.add(name, url);
                shared.analyse(id, prepared);
            }
            Err(e) => {
                let id = shared.add(name, None);
                shared.finish(id, EntryState::Failed(e.to_string()));
            }
        }
    };
    view! {
        <button
            class="record"
            class:recording=move || recording.get()
            data-testid="record"
            disabled=move || !shared.ready.get()
            aria-pressed=move || recording.get().to_string()
            on:click=move |_| if recording.get_untracked() { stop() } else { start() }
        >
            {move || if recording.get() { "■ Stop and analyse" } else { "● Record" }}
        </button>
    }
}

#[component]
pub fn DropZone() -> impl IntoView {
    let shared = expect_context::<Shared>();
    let hover = RwSignal::new(false);
    let take = move |files: web_sys::FileList| {
        for i in 0..files.length() {
            let Some(file) = files.get(i) else { continue };
            spawn_local(async move {
                let name = file.name();
                let bytes = match file_bytes(&file).await {
                    Ok(b) => b,
                    Err(e) => {
                        let id = shared.add(name, None);
                        shared.finish(id, EntryState::Failed(e));
                        return;
                    }
                };
                let mime = if file.type_().is_empty() { "audio/wav".to_string() } else { file.type_() };
                let id = shared.add(name, blob_url(&bytes, &mime));
                match prepare_file(&bytes).await {
                    Ok(prepared) => shared.analyse(id, prepared),
                    Err(message) => shared.finish(id, EntryState::Failed(message)),
                }
            });
        }
    };
    view! {
        <label
            class="dropzone"
            class:hover=move || hover.get()
            data-testid="dropzone"
            on:dragover=move |ev: web_sys::DragEvent| {
                ev.prevent_default();
                hover.set(true);
            }
            on:dragleave=move |_| hover.set(false)
            on:drop=move |ev: web_sys::DragEvent| {
                ev.prevent_default();
                hover.set(false);
                if let Some(files) = ev.data_transfer().and_then(|d| d.files()) {
                    take(files);
                }
            }
        >
            <span>"Drop audio files here, or choose them"</span>
            <small>"WAV, FLAC, MP3, Ogg, WebM — any rate, mono or stereo"</small>
            <input
                type="file"
                multiple
                accept="audio/*,.wav,.flac,.mp3,.ogg,.webm,.aif,.aiff"
                data-testid="file-input"
                disabled=move || !shared.ready.get()
                on:change:target=move |ev| {
                    if let Some(files) = ev.target().files() {
                        take(files);
                    }
                    ev.target().set_value("");
                }
            />
        </label>
    }
}
