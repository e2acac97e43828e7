//! One recording, start to finish, the same for the CLI and the page: prepared audio → clip
//! windows → MFCC → network → class probabilities, and on request what the network looked at.
//!
//! Reads from the device are async so that the browser's WebGPU backend can answer; natively
//! [`block_on`] drives them (they are ready at once on the CPU backend).

use burn::prelude::*;
use burn::tensor::TensorData;
use serde::Serialize;
use thiserror::Error;

use crate::audio::speech::{Frames, Verdict};
use crate::audio::{MODEL_RATE, Prepared, fit_length_placed, place};
use crate::features::{Features, FrontEnd, Mfcc};
use crate::weights::{Sidecar, Weights};

/// Windows analysed per forward pass: bounds memory on long recordings.
const WINDOWS_PER_BATCH: usize = 16;

#[derive(Debug, Error)]
pub enum AnalysisError {
    #[error("the device could not return a result: {0}")]
    Device(String),
}

/// One clip-length window of a recording and what the model heard in it.
#[derive(Debug, Clone, Serialize)]
pub struct WindowResult {
    pub start_seconds: f32,
    pub end_seconds: f32,
    pub probabilities: Vec<f32>,
    /// Whether the window holds speech (audio::speech); the answer leaves out windows without.
    pub speech: bool,
}

/// The answer for a whole recording.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub labels: Vec<String>,
    /// Mean of the probabilities of the windows with speech, or of every window when none has
    /// any (then they mean nothing: see `speech`).
    pub probabilities: Vec<f32>,
    pub windows: Vec<WindowResult>,
    pub seconds: f32,
    pub notes: Vec<String>,
    /// Whether any window holds speech. Without, the recording has no emotion to tell, and
    /// `notes` says so ("No speech detected: ...").
    pub speech: bool,
}

/// The start of the note a recording without speech gets.
pub const NO_SPEECH: &str = "No speech detected";

impl Analysis {
    /// The most probable label and its probability (of a recording with speech: see `speech`).
    pub fn top(&self) -> (&str, f32) {
        let best = argmax(&self.probabilities);
        (&self.labels[best], self.probabilities[best])
    }
}

/// What the network did with one clip, as plain numbers for drawing.
#[derive(Debug, Clone, Serialize)]
pub struct ClipInspection {
    /// The clip's MFCCs, [frames, coefficients].
    pub mfcc: Vec<f32>,
    pub frames: usize,
    pub filters: usize,
    /// Per block: the forward gate, [frames, filters], and the backward gate flipped back into
    /// forward time so both line up with the clip.
    pub gates: Vec<(Vec<f32>, Option<Vec<f32>>)>,
    /// The fusion weight of each scale.
    pub fusion: Vec<f32>,
    /// contributions[j][k]: scale j's share of class k's logit, W·(w_j g_j).
    pub contributions: Vec<Vec<f32>>,
    pub bias: Vec<f32>,
    pub logits: Vec<f32>,
    pub probabilities: Vec<f32>,
}

/// One clip-length window of a recording: its samples and where the recording's own samples
/// lie in it (the rest is padding).
#[derive(Debug, Clone)]
pub struct Window {
    /// Where the window starts in the recording, in samples at the model rate.
    pub start: usize,
    pub samples: Vec<f32>,
    pub own: std::ops::Range<usize>,
}

/// A loaded model ready to analyse recordings on one device.
pub struct Analyzer {
    weights: Weights,
    front_end: FrontEnd,
    device: Device,
}

impl Analyzer {
    pub fn new(weights: Weights, device: Device) -> Self {
        let front_end = weights.sidecar.front_end();
        let model = weights.model.valid();
        Self { weights: Weights { model, ..weights }, front_end, device }
    }

    pub fn sidecar(&self) -> &Sidecar {
        &self.weights.sidecar
    }

    /// The device it runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn mfcc(&self) -> &Mfcc {
        &self.front_end.mfcc
    }

    /// The weights it runs, with their sidecar.
    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    pub fn front_end(&self) -> &FrontEnd {
        &self.front_end
    }

    /// Clip-length windows over `samples` (at the model rate): one centre-padded clip when the
    /// recording is shorter, else windows every half clip, the last one padded at its end.
    pub fn windows(&self, samples: &[f32]) -> Vec<Window> {
        let clip = self.weights.sidecar.clip_samples;
        if samples.len() <= clip {
            let (samples, own) = fit_length_placed(samples, clip);
            return vec![Window { start: 0, samples, own }];
        }
        let hop = (clip / 2).max(1);
        let mut out = Vec::new();
        let mut start = 0;
        loop {
            let end = (start + clip).min(samples.len());
            let (window, own) = place(&samples[start..end], clip, 0);
            out.push(Window { start, samples: window, own });
            if end == samples.len() {
                return out;
            }
            start += hop;
        }
    }

    /// Probabilities for the whole recording and for each window, each window judged speech
    /// or not.
    pub async fn analyse(&self, prepared: &Prepared) -> Result<Analysis, AnalysisError> {
        let windows = self.windows(&prepared.samples);
        let frames = Frames::of(&prepared.samples);
        let rate = MODEL_RATE as f32;
        let clip = self.weights.sidecar.clip_samples as f32;
        let mut results = Vec::with_capacity(windows.len());
        let mut verdicts = Vec::with_capacity(windows.len());
        for batch in windows.chunks(WINDOWS_PER_BATCH) {
            let features: Vec<Features> =
                batch.iter().map(|w| self.front_end.placed(&w.samples, w.own.clone())).collect();
            let logits = self.weights.model.forward(self.batch(&features));
            let logits = read(logits.into_data_async().await)?;
            let classes = self.weights.sidecar.labels.len();
            for (window, row) in batch.iter().zip(logits.chunks_exact(classes)) {
                let start_seconds = window.start as f32 / rate;
                let end_seconds = (start_seconds + clip / rate).min(prepared.seconds().max(clip / rate));
                let verdict = frames.judge(window.start..window.start + window.own.len());
                verdicts.push(verdict);
                let (probabilities, speech) = (softmax(row), verdict.speech);
                results.push(WindowResult { start_seconds, end_seconds, probabilities, speech });
            }
        }
        let speech = results.iter().any(|w| w.speech);
        // The answer is heard from the windows with speech; without any, from all of them.
        let heard: Vec<&WindowResult> = results.iter().filter(|w| w.speech || !speech).collect();
        let mut mean = vec![0.0f32; self.weights.sidecar.labels.len()];
        for w in &heard {
            mean.iter_mut().zip(&w.probabilities).for_each(|(m, p)| *m += p / heard.len() as f32);
        }
        let mut notes = prepared.notes.clone();
        if let Some(note) = speech_note(&verdicts, heard.len(), results.len(), &notes) {
            notes.push(note);
        }
        Ok(Analysis {
            labels: self.weights.sidecar.labels.clone(),
            probabilities: mean,
            windows: results,
            seconds: prepared.seconds(),
            notes,
            speech,
        })
    }

    /// The network's inner workings on one window of [`Analyzer::windows`].
    pub async fn inspect(&self, window: &Window) -> Result<ClipInspection, AnalysisError> {
        let features = self.front_end.placed(&window.samples, window.own.clone());
        let (logits, inspection) = self.weights.model.inspect(self.batch(std::slice::from_ref(&features)));
        let model = &self.weights.model;
        let (filters, frames) = (model.config().filters, features.frames);
        let mut gates = Vec::new();
        for (forward, backward) in inspection.gates {
            let forward = to_time_major(read(forward.into_data_async().await)?, filters, frames, false);
            let backward = match backward {
                Some(b) => Some(to_time_major(read(b.into_data_async().await)?, filters, frames, true)),
                None => None,
            };
            gates.push((forward, backward));
        }
        let scales = read(inspection.scales.into_data_async().await)?; // [tabs, filters]
        let fusion = read(inspection.fusion.into_data_async().await)?;
        let head = read(model.head.weight.val().into_data_async().await)?; // [filters, classes]
        let bias = match &model.head.bias {
            Some(b) => read(b.val().into_data_async().await)?,
            None => vec![0.0; self.weights.sidecar.labels.len()],
        };
        let classes = bias.len();
        let contributions = fusion
            .iter()
            .zip(scales.chunks_exact(filters))
            .map(|(w, g)| (0..classes).map(|k| (0..filters).map(|c| w * g[c] * head[c * classes + k]).sum()).collect())
            .collect();
        let logits = read(logits.into_data_async().await)?;
        Ok(ClipInspection {
            mfcc: features.data,
            frames,
            filters,
            gates,
            fusion,
            contributions,
            bias,
            probabilities: softmax(&logits),
            logits,
        })
    }

    pub(crate) fn batch(&self, features: &[Features]) -> Tensor<3> {
        let (frames, coeffs) = (features[0].frames, features[0].coeffs);
        let data: Vec<f32> = features.iter().flat_map(|f| f.data.iter().copied()).collect();
        Tensor::from_data(TensorData::new(data, [features.len(), frames, coeffs]), &self.device)
    }
}

/// What a person should know about the speech in a recording: none at all (unless a note says
/// so already, as for silence), or windows without it that the answer leaves out.
fn speech_note(verdicts: &[Verdict], heard: usize, windows: usize, notes: &[String]) -> Option<String> {
    if verdicts.iter().all(|v| !v.speech) {
        if notes.iter().any(|n| n.starts_with(NO_SPEECH)) {
            return None;
        }
        // The reason of the window closest to speech: the most voiced sound.
        let closest = verdicts.iter().max_by(|a, b| a.voiced_seconds.total_cmp(&b.voiced_seconds))?;
        return Some(format!("{NO_SPEECH}: {}; the emotion shown means nothing.", closest.reason()));
    }
    (heard < windows).then(|| {
        format!("{} of {windows} windows hold no speech; the answer is the mean of the other {heard}.", windows - heard)
    })
}

pub(crate) fn read(data: Result<TensorData, impl std::fmt::Display>) -> Result<Vec<f32>, AnalysisError> {
    data.map_err(|e| AnalysisError::Device(e.to_string()))?
        .try_to_vec::<f32>()
        .map_err(|e| AnalysisError::Device(format!("{e:?}")))
}

/// [1, filters, frames] → [frames, filters], optionally reversing time.
fn to_time_major(data: Vec<f32>, filters: usize, frames: usize, reverse: bool) -> Vec<f32> {
    let mut out = vec![0.0; frames * filters];
    for c in 0..filters {
        for t in 0..frames {
            let source = if reverse { frames - 1 - t } else { t };
            out[t * filters + c] = data[c * frames + source];
        }
    }
    out
}

pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    let exp: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

pub fn argmax(values: &[f32]) -> usize {
    values.iter().enumerate().fold(0, |best, (i, v)| if *v > values[best] { i } else { best })
}

/// Drive an analysis future to completion natively.
#[cfg(not(target_arch = "wasm32"))]
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    futures_lite::future::block_on(future)
}
