//! What the model saw and did for the selected recording.

use std::sync::Arc;

use leptos::html;
use leptos::prelude::*;
use timnet::analysis::{Analysis, ClipInspection};

use super::charts::{Fusion, Probabilities, Timeline};
use crate::client::EngineWorker;
use crate::draw::{draw_heatmap, draw_playhead, range};
use crate::state::{Done, Entry, EntryState, TimePoint};

/// The selected entry: redrawn when its own state changes (its analysis finishes, or another
/// window is chosen for inspection).
#[component]
pub fn Detail(entry: Entry) -> impl IntoView {
    move || match entry.state.get() {
        EntryState::Done(done) => view! { <Finished entry=entry.clone() done=done/> }.into_any(),
        _ => view! { <section class="detail"></section> }.into_any(),
    }
}

#[component]
fn Finished(entry: Entry, done: Arc<Done>) -> impl IntoView {
    let engine = expect_context::<EngineWorker>();
    let Done { analysis, inspection, window, timing, .. } = &*done;
    let (window, timing) = (*window, *timing);
    let clip_seconds = timing.clip_seconds;
    let window_start = analysis.windows.get(window).map_or(0.0, |w| w.start_seconds);
    // Playback position in seconds, for the playheads.
    let position = RwSignal::new(0.0f64);
    let fraction = Signal::derive(move || ((position.get() as f32 - window_start) / clip_seconds) as f64);
    let picker = entry.clone();
    let timeline = (analysis.windows.len() > 1).then(|| {
        let points: Vec<TimePoint> = analysis
            .windows
            .iter()
            .map(|w| TimePoint {
                seconds: (w.start_seconds + w.end_seconds) / 2.0,
                probabilities: w.probabilities.clone(),
                speech: w.speech,
            })
            .collect();
        let labels = analysis.labels.clone();
        view! {
            <h3>"Over time"</h3>
            <p class="hint">{format!("{} windows of {clip_seconds:.2} s, every half window; {} Click a window to look inside it.", analysis.windows.len(), answer_from(analysis))}</p>
            <Timeline points={Signal::derive(move || points.clone())} labels={Signal::derive(move || labels.clone())} testid="timeline"
                on_pick={Callback::new(move |w| picker.inspect_window(engine, w))}/>
        }
    });
    let notes = analysis.notes.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view();
    let inside =
        inspection.clone().map(|i| view! { <Inside inspection=i fraction=fraction labels={analysis.labels.clone()} frame_seconds=timing.frame_seconds/> });
    let window_note = (analysis.windows.len() > 1).then(|| {
        let speech = if analysis.windows.get(window).is_some_and(|w| !w.speech) { ", no speech" } else { "" };
        format!(
            "Looking inside window {} ({window_start:.1}–{:.1} s{speech}).",
            window + 1,
            window_start + clip_seconds
        )
    });
    view! {
        <section class="detail" aria-label="Details" data-testid="detail">
            <h2>{entry.name.to_string()}</h2>
            <ul class="notes" data-testid="notes">{notes}</ul>
            {move || entry.url.get().map(|url| view! {
                <audio controls src=url.to_string() data-testid="player"
                    on:timeupdate=move |ev| {
                        let audio: web_sys::HtmlMediaElement = event_target(&ev);
                        position.set(audio.current_time());
                    }></audio>
            })}
            {timeline}
            <p class="hint">{window_note}</p>
            {inside}
        </section>
    }
}

/// Which windows the answer is the mean of, in words.
fn answer_from(analysis: &Analysis) -> String {
    let without = analysis.windows.iter().filter(|w| !w.speech).count();
    match without {
        0 => "the answer above is their mean.".into(),
        n if n == analysis.windows.len() => "none holds speech.".into(),
        n => format!("{n} hold no speech; the answer above is the mean of the others."),
    }
}

#[component]
fn Inside(inspection: ClipInspection, fraction: Signal<f64>, labels: Vec<String>, frame_seconds: f32) -> impl IntoView {
    let ClipInspection { mfcc, frames, filters, gates, fusion, contributions, bias, logits, probabilities } =
        inspection;
    let coeffs = mfcc.len().checked_div(frames).unwrap_or(0);
    let seconds = frames as f32 * frame_seconds;
    let mfcc_canvas = NodeRef::<html::Canvas>::new();
    let mfcc_range = range(&mfcc);
    Effect::new(move |_| {
        let at = fraction.get();
        if let Some(canvas) = mfcc_canvas.get() {
            draw_heatmap(&canvas, &mfcc, frames, coeffs, mfcc_range, seconds, "MFCC");
            draw_playhead(&canvas, at);
        }
    });
    let tabs = gates.len();
    let chosen = RwSignal::new(0usize);
    let forward_canvas = NodeRef::<html::Canvas>::new();
    let backward_canvas = NodeRef::<html::Canvas>::new();
    let has_backward = gates.iter().any(|(_, b)| b.is_some());
    Effect::new(move |_| {
        let (j, at) = (chosen.get(), fraction.get());
        let Some((forward, backward)) = gates.get(j) else { return };
        if let Some(canvas) = forward_canvas.get() {
            draw_heatmap(&canvas, forward, frames, filters, (0.0, 1.0), seconds, "channel");
            draw_playhead(&canvas, at);
        }
        if let (Some(canvas), Some(backward)) = (backward_canvas.get(), backward) {
            draw_heatmap(&canvas, backward, frames, filters, (0.0, 1.0), seconds, "channel");
            draw_playhead(&canvas, at);
        }
    });
    let selector = (0..tabs)
        .map(|j| {
            view! {
                <button class="tab" aria-pressed=move || (chosen.get() == j).to_string() on:click=move |_| chosen.set(j)>
                    {format!("TAB {} · d={}", j + 1, 1 << j)}
                </button>
            }
        })
        .collect_view();
    view! {
        <div class="inside">
            <h3>"What the model heard in this clip"</h3>
            <Probabilities labels={labels.clone()} values=probabilities/>
            <h3>"What it listened to: MFCCs"</h3>
            <p class="hint">"39 mel-frequency cepstral coefficients per 23 ms frame, the model's only input (low coefficients at the bottom)."</p>
            <canvas node_ref=mfcc_canvas width="720" height="200" class="heatmap" data-testid="mfcc" role="img"
                aria-label="MFCC heatmap"></canvas>
            <h3>"Where it attended: temporal attention"</h3>
            <p class="hint">"Each Temporal-Aware Block gates every channel at every frame (bright = passed on). Block j looks 2^(j-1) frames apart; the backward pass is flipped back into forward time."</p>
            <div class="tabs" role="group" aria-label="Choose a block">{selector}</div>
            <p class="caption">"forward"</p>
            <canvas node_ref=forward_canvas width="720" height="170" class="heatmap" data-testid="attention-forward" role="img"
                aria-label="Forward attention map"></canvas>
            {has_backward.then(|| view! {
                <p class="caption">"backward"</p>
                <canvas node_ref=backward_canvas width="720" height="170" class="heatmap" data-testid="attention-backward" role="img"
                    aria-label="Backward attention map"></canvas>
            })}
            <Fusion labels=labels weights=fusion contributions=contributions bias=bias logits=logits/>
        </div>
    }
}
