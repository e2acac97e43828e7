use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::audio_in::{Recorder, file_buffer};
use crate::client::EngineWorker;
use crate::playback::file_url;
use crate::protocol::{Audio, Request};
use crate::state::{Alert, Live, Model, Results};

#[component]
pub fn RecordButton() -> impl IntoView {
    let (engine, model, results, live, alert) = (
        expect_context::<EngineWorker>(),
        expect_context::<Model>(),
        expect_context::<Results>(),
        expect_context::<Live>(),
        expect_context::<Alert>(),
    );
    let recorder = StoredValue::new_local(None::<Rc<Recorder>>);
    let recording = RwSignal::new(false);
    let takes = StoredValue::new(0usize);

    // The engine follows the recording's newest window as it comes, and the page draws each.
    let start = move || {
        alert.clear();
        spawn_local(async move {
            live.restart();
            match Recorder::start(engine, true).await {
                Ok(r) => {
                    recorder.set_value(Some(Rc::new(r)));
                    recording.set(true);
                }
                Err(error) => alert.show(error),
            }
        });
    };
    let stop = move || {
        recording.set(false);
        let Some(r) = recorder.get_value() else { return };
        recorder.set_value(None);
        r.stop();
        takes.update_value(|t| *t += 1);
        let entry = results.add(format!("Recording {}", takes.get_value()), None);
        engine.send(
            &Request::Prepare { audio: Audio::Recording { recording: r.id }, purpose: entry.purpose() },
            Vec::new(),
        );
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
    let (engine, model, results) =
        (expect_context::<EngineWorker>(), expect_context::<Model>(), expect_context::<Results>());
    let hover = RwSignal::new(false);
    // The file's bytes go to the engine as they are: the page does not read them.
    let take = move |files: web_sys::FileList| {
        for i in 0..files.length() {
            let Some(file) = files.get(i) else { continue };
            spawn_local(async move {
                let entry = results.add(file.name(), file_url(&file));
                match file_buffer(&file).await {
                    Ok(bytes) => {
                        engine.send(&Request::Prepare { audio: Audio::File, purpose: entry.purpose() }, vec![bytes])
                    }
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
