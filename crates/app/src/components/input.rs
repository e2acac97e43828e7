use std::cell::Cell;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use timnet::audio::prepare_samples;

use crate::audio_in::{Recorder, file_bytes, prepare_file};
use crate::live::{LiveWindow, seconds};
use crate::playback::{blob_url, wav_url};
use crate::state::{Alert, Live, Model, Results, TimePoint};

/// How often the live window may be analysed: more often than the 10 a second aimed for, so
/// that the analysis's own time, not the timer, sets the rate (a tick that finds the previous
/// analysis still running is skipped).
const LIVE_INTERVAL_MS: u64 = 40;

#[component]
pub fn RecordButton() -> impl IntoView {
    let (model, results, live, alert) =
        (expect_context::<Model>(), expect_context::<Results>(), expect_context::<Live>(), expect_context::<Alert>());
    let recorder = StoredValue::new_local(None::<Rc<Recorder>>);
    let recording = RwSignal::new(false);
    let takes = StoredValue::new(0usize);
    let interval = StoredValue::new_local(None::<IntervalHandle>);

    let start = move || {
        alert.clear();
        spawn_local(async move {
            match Recorder::start().await {
                Ok(r) => {
                    let r = Rc::new(r);
                    recorder.set_value(Some(r.clone()));
                    recording.set(true);
                    live.points.set(Vec::new());
                    let busy = Rc::new(Cell::new(false));
                    let window = Rc::new(std::cell::RefCell::new(None::<LiveWindow>));
                    let started = js_sys::Date::now();
                    let updates = Rc::new(Cell::new(0u32));
                    let handle = set_interval_with_handle(
                        move || {
                            if busy.get() {
                                return;
                            }
                            let Some(engine) = model.engine() else { return };
                            let clip = engine.sidecar().clip_samples;
                            let rate = r.rate;
                            // Only the audio that arrived since the last tick is resampled; a
                            // model with another clip length starts a window of its own.
                            let (clip_now, total) = {
                                let recorded = r.samples.borrow();
                                let mut window = window.borrow_mut();
                                if window.as_ref().is_some_and(|w| w.clip() != clip) {
                                    *window = None;
                                }
                                let live_window = window.get_or_insert_with(|| LiveWindow::new(rate, clip));
                                (live_window.update(&recorded).to_vec(), recorded.len())
                            };
                            if clip_now.len() < 2 {
                                return;
                            }
                            busy.set(true);
                            let (busy, updates) = (busy.clone(), updates.clone());
                            spawn_local(async move {
                                if let Ok(prepared) = prepare_samples(&clip_now, 1, timnet::audio::MODEL_RATE)
                                    && let Ok(analysis) = engine.analyzer.analyse(&prepared).await
                                {
                                    let now = seconds(total, rate);
                                    let speech = analysis.speech;
                                    live.points.update(|l| {
                                        l.push(TimePoint {
                                            seconds: now,
                                            probabilities: analysis.probabilities,
                                            speech,
                                        })
                                    });
                                    updates.set(updates.get() + 1);
                                    let elapsed = (js_sys::Date::now() - started) / 1000.0;
                                    live.rate.set((updates.get() as f64 / elapsed.max(1e-3)) as f32);
                                }
                                busy.set(false);
                            });
                        },
                        std::time::Duration::from_millis(LIVE_INTERVAL_MS),
                    );
                    interval.set_value(handle.ok());
                }
                Err(error) => alert.show(error),
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
            Ok(prepared) => results.add(name, wav_url(&prepared.samples)).analyse(model, prepared),
            Err(e) => results.add(name, None).fail(e.into()),
        }
    };
    view! {
        <button
            class="record"
            class:recording=move || recording.get()
            data-testid="record"
            disabled=move || !model.ready.get()
            aria-pressed=move || recording.get().to_string()
            on:click=move |_| if recording.get_untracked() { stop() } else { start() }
        >
            {move || if recording.get() { "■ Stop and analyse" } else { "● Record" }}
        </button>
    }
}

#[component]
pub fn DropZone() -> impl IntoView {
    let (model, results) = (expect_context::<Model>(), expect_context::<Results>());
    let hover = RwSignal::new(false);
    let take = move |files: web_sys::FileList| {
        for i in 0..files.length() {
            let Some(file) = files.get(i) else { continue };
            spawn_local(async move {
                let name = file.name();
                let bytes = match file_bytes(&file).await {
                    Ok(b) => b,
                    Err(e) => return results.add(name, None).fail(e),
                };
                let mime = if file.type_().is_empty() { "audio/wav".to_string() } else { file.type_() };
                let entry = results.add(name, blob_url(&bytes, &mime));
                match prepare_file(&bytes).await {
                    Ok(prepared) => entry.analyse(model, prepared),
                    Err(e) => entry.fail(e),
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
                disabled=move || !model.ready.get()
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
