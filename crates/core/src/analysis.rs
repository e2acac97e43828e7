//! One recording, start to finish, the same for the CLI and the page: prepared audio → clip
//! windows → MFCC → network → class probabilities, and on request what the network looked at.
//!
//! Reads from the device are async so that the browser's WebGPU backend can answer; natively
//! [`block_on`] drives them (they are ready at once on the CPU backend).

use burn::prelude::*;
use burn::tensor::TensorData;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::audio::speech::{Frames, Verdict};
use crate::audio::{MODEL_RATE, Prepared, fit_length_placed, place};
use crate::features::{Clip, Features, FrontEnd, Mfcc, Normalisation};
use crate::weights::{Sidecar, Weights};

/// Windows analysed per forward pass unless told otherwise: bounds memory on long recordings.
pub const WINDOWS_PER_BATCH: usize = 16;

#[derive(Debug, Error)]
pub enum AnalysisError {
    #[error("the device could not return a result: {0}")]
    Device(String),
    /// The audio itself, when it is decoded as it is analysed.
    #[error(transparent)]
    Audio(#[from] crate::audio::AudioError),
}

/// One clip-length window of a recording and what the model heard in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WindowResult {
    pub start_seconds: f32,
    pub end_seconds: f32,
    pub probabilities: Vec<f32>,
    /// Whether the window holds speech (audio::speech); the answer leaves out windows without.
    pub speech: bool,
}

/// The answer for a whole recording.
#[derive(Debug, Clone, Serialize, Deserialize)]
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

/// Below this probability the top emotion does not stand out (the models have 5 or 7 classes,
/// so chance is 14 to 20%).
pub const UNSURE_BELOW: f32 = 0.4;
/// Two emotions closer than this are both said.
pub const CLOSE_WITHIN: f32 = 0.1;

/// The start of the note a recording without speech gets.
pub const NO_SPEECH: &str = "No speech detected";

/// The note every answer of a model trained with per-speaker normalisation gets until it is
/// taught a voice: one recording on its own is normalised by itself, which such a model never
/// saw in training.
pub const ONE_RECORDING_OF_A_SPEAKER: &str = "This model was trained with each speaker's statistics taken over \
    several recordings; this recording was normalised on its own, so the answer may be off. Teach it \
    your voice (ten takes or more) to give it your statistics.";

impl Analysis {
    /// The most probable label and its probability (of a recording with speech: see `speech`).
    pub fn top(&self) -> (&str, f32) {
        let best = argmax(&self.probabilities);
        (&self.labels[best], self.probabilities[best])
    }

    /// Why the answer is doubtful, in words to show beside it, when the top emotion is weak or
    /// another is close behind; `None` when it stands out. The CLI and the page both say it.
    pub fn doubt(&self) -> Option<String> {
        if !self.speech {
            // No answer to doubt: the notes say there is no speech.
            return None;
        }
        let mut order: Vec<usize> = (0..self.probabilities.len()).collect();
        order.sort_by(|&a, &b| self.probabilities[b].total_cmp(&self.probabilities[a]));
        let (first, second) = (order[0], *order.get(1)?);
        let (p, q) = (self.probabilities[first], self.probabilities[second]);
        let percent = |x: f32| format!("{:.0}%", 100.0 * x);
        if p - q < CLOSE_WITHIN {
            Some(format!(
                "Unsure: {} ({}) and {} ({}) are close.",
                self.labels[first],
                percent(p),
                self.labels[second],
                percent(q)
            ))
        } else if p < UNSURE_BELOW {
            Some(format!("Unsure: no emotion stands out; {} leads with only {}.", self.labels[first], percent(p)))
        } else {
            None
        }
    }
}

/// What the network did with one clip, as plain numbers for drawing.
#[derive(Debug, Clone, Serialize, Deserialize)]
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

/// Clip-length windows over a recording as it arrives: [`Analyzer::windows`] one chunk at a
/// time, keeping only the samples from the next window's start on.
pub struct Windower {
    clip: usize,
    hop: usize,
    /// Samples from `start` on.
    buffer: Vec<f32>,
    /// Where the next window starts in the recording.
    start: usize,
    received: usize,
    /// Whether a window was given yet: a recording no longer than a clip gets one, centred.
    given: bool,
}

impl Windower {
    pub fn new(clip: usize) -> Self {
        Self { clip, hop: (clip / 2).max(1), buffer: Vec::new(), start: 0, received: 0, given: false }
    }

    /// The next samples; appends the windows now whole to `out`.
    pub fn push(&mut self, samples: &[f32], out: &mut Vec<Window>) {
        self.buffer.extend_from_slice(samples);
        self.received += samples.len();
        // A window is whole once its clip has arrived; the first also needs one sample more,
        // which tells a recording longer than a clip (windows every hop) from one that is not
        // (one centred window).
        while self.buffer.len() >= self.clip && (self.given || self.received > self.clip) {
            out.push(Window { start: self.start, samples: self.buffer[..self.clip].to_vec(), own: 0..self.clip });
            self.given = true;
            self.buffer.drain(..self.hop.min(self.buffer.len()));
            self.start += self.hop;
        }
    }

    /// The recording has ended: the last window, padded at its end (or the only one, centred).
    pub fn finish(self, out: &mut Vec<Window>) {
        if !self.given {
            let (samples, own) = fit_length_placed(&self.buffer, self.clip);
            out.push(Window { start: 0, samples, own });
        } else if self.start + self.clip - self.hop < self.received {
            // Samples past the last whole window's end remain.
            let (samples, own) = place(&self.buffer, self.clip, 0);
            out.push(Window { start: self.start, samples, own });
        }
    }
}

/// Windows cut from a recording as it arrives and scored a batch at a time: the one way both
/// [`Analyzer::analyse`] and [`Analyzer::analyse_bytes`] go.
struct Scoring {
    windower: Windower,
    /// The speech check's frames, made as the audio arrives.
    frames: Frames,
    pending: Vec<Window>,
    scored: Vec<Scored>,
}

/// A window scored: where its own samples lie in the recording, and what the network heard.
struct Scored {
    start: usize,
    own: usize,
    probabilities: Vec<f32>,
}

impl Scoring {
    fn new(analyzer: &Analyzer) -> Self {
        Self {
            windower: Windower::new(analyzer.weights.sidecar.clip_samples),
            frames: Frames::new(),
            pending: Vec::new(),
            scored: Vec::new(),
        }
    }

    async fn push(&mut self, analyzer: &Analyzer, samples: &[f32]) -> Result<(), AnalysisError> {
        self.frames.push(samples);
        self.windower.push(samples, &mut self.pending);
        while self.pending.len() >= analyzer.windows_per_pass {
            let batch: Vec<Window> = self.pending.drain(..analyzer.windows_per_pass).collect();
            self.scored.extend(analyzer.score(&batch).await?);
        }
        Ok(())
    }

    async fn finish(mut self, analyzer: &Analyzer, notes: Vec<String>) -> Result<Analysis, AnalysisError> {
        let samples = self.windower.received;
        self.windower.finish(&mut self.pending);
        for batch in self.pending.chunks(analyzer.windows_per_pass) {
            self.scored.extend(analyzer.score(batch).await?);
        }
        self.frames.finish();
        let verdicts: Vec<Verdict> = self.scored.iter().map(|w| self.frames.judge(w.start..w.start + w.own)).collect();
        Ok(analyzer.summary(self.scored, &verdicts, samples, notes))
    }
}

/// A loaded model ready to analyse recordings on one device.
pub struct Analyzer {
    weights: Weights,
    front_end: FrontEnd,
    device: Device,
    windows_per_pass: usize,
}

impl Analyzer {
    pub fn new(weights: Weights, device: Device) -> Self {
        let front_end = weights.sidecar.front_end();
        let model = weights.model.valid();
        Self { weights: Weights { model, ..weights }, front_end, device, windows_per_pass: WINDOWS_PER_BATCH }
    }

    /// Score `windows` windows per forward pass (at least one; [`WINDOWS_PER_BATCH`] unless
    /// told). The answer is the same; fewer keeps each pass short where a pass holds the
    /// thread it runs on (a browser's, on the CPU backend), more amortises a pass's overhead.
    pub fn with_windows_per_pass(self, windows: usize) -> Self {
        Self { windows_per_pass: windows.max(1), ..self }
    }

    /// Windows scored per forward pass.
    pub fn windows_per_pass(&self) -> usize {
        self.windows_per_pass
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
        let mut windower = Windower::new(self.weights.sidecar.clip_samples);
        let mut windows = Vec::new();
        windower.push(samples, &mut windows);
        windower.finish(&mut windows);
        windows
    }

    /// Window `index` of [`Analyzer::windows`], without making the others.
    pub fn window(&self, samples: &[f32], index: usize) -> Option<Window> {
        let clip = self.weights.sidecar.clip_samples;
        if samples.len() <= clip {
            return (index == 0).then(|| {
                let (samples, own) = fit_length_placed(samples, clip);
                Window { start: 0, samples, own }
            });
        }
        let hop = (clip / 2).max(1);
        // Window i exists when the one before it ended short of the recording's end.
        if index > 0 && (index - 1) * hop + clip >= samples.len() {
            return None;
        }
        let start = index * hop;
        let (window, own) = place(&samples[start..(start + clip).min(samples.len())], clip, 0);
        Some(Window { start, samples: window, own })
    }

    /// Probabilities for the whole recording and for each window. The windows are cut and
    /// scored a batch at a time, so memory holds a batch of them, not the recording's all.
    pub async fn analyse(&self, prepared: &Prepared) -> Result<Analysis, AnalysisError> {
        self.analyse_with(prepared, |_| std::future::ready(())).await
    }

    /// [`Analyzer::analyse`], awaiting `between(samples_done)` after each batch of windows: the
    /// page's engine worker reports its progress there, and reads its other messages.
    pub async fn analyse_with<F: Future<Output = ()>>(
        &self,
        prepared: &Prepared,
        mut between: impl FnMut(usize) -> F,
    ) -> Result<Analysis, AnalysisError> {
        let mut scoring = Scoring::new(self);
        let step = self.windows_per_pass * (self.weights.sidecar.clip_samples / 2).max(1);
        let mut done = 0;
        for chunk in prepared.samples.chunks(step) {
            scoring.push(self, chunk).await?;
            done += chunk.len();
            between(done).await;
        }
        scoring.finish(self, prepared.notes.clone()).await
    }

    /// A file's bytes, decoded, prepared and analysed as they are decoded: memory stays at a
    /// few windows (and the bytes), however long the recording. The answer is
    /// [`Analyzer::analyse`]'s on [`crate::audio::prepare`]'s samples.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn analyse_bytes(&self, bytes: &[u8]) -> Result<Analysis, AnalysisError> {
        use crate::audio::{Preparer, decode_with};
        let mut preparer: Option<Preparer> = None;
        let mut scoring = Scoring::new(self);
        let mut resampled = Vec::new();
        let read = decode_with(bytes, |chunk, channels, rate| {
            Preparer::feed(&mut preparer, chunk, channels, rate, &mut resampled)?;
            block_on(scoring.push(self, &resampled))?;
            resampled.clear();
            Ok::<_, AnalysisError>(())
        })?;
        let preparer = preparer.ok_or(crate::audio::AudioError::TooShort { samples: 0 })?;
        let mut tail = preparer.finish(Vec::new())?;
        tail.notes.extend(read);
        block_on(scoring.push(self, &tail.samples))?;
        block_on(scoring.finish(self, tail.notes))
    }

    /// A live recording's newest clip, its features and speech check made as it arrived (a
    /// [`crate::features::FeatureStream`] with this analyzer's front end): the probabilities and speech verdict
    /// that [`Analyzer::analyse`] gives for the clip's samples (at the model rate, within full
    /// scale), without the preparation's notes. A clip of another shape is not this model's:
    /// then its samples are analysed afresh.
    pub async fn analyse_clip(&self, clip: Clip) -> Result<Analysis, AnalysisError> {
        let config = self.front_end.mfcc.config();
        let shape = (clip.samples.len(), clip.features.frames, clip.features.coeffs);
        if shape != (self.weights.sidecar.clip_samples, self.weights.sidecar.clip_frames(), config.n_mfcc) {
            let mut scoring = Scoring::new(self);
            scoring.push(self, &clip.samples).await?;
            return scoring.finish(self, Vec::new()).await;
        }
        let probabilities = self.probabilities(std::slice::from_ref(&clip.features)).await?.pop().unwrap_or_default();
        let scored = vec![Scored { start: 0, own: clip.samples.len(), probabilities }];
        Ok(self.summary(scored, &[clip.speech], clip.samples.len(), Vec::new()))
    }

    /// Each window's class probabilities, one forward pass for them all.
    async fn score(&self, batch: &[Window]) -> Result<Vec<Scored>, AnalysisError> {
        let features: Vec<Features> = batch.iter().map(|w| self.front_end.placed(&w.samples, w.own.clone())).collect();
        let probabilities = self.probabilities(&features).await?;
        Ok(batch
            .iter()
            .zip(probabilities)
            .map(|(w, probabilities)| Scored { start: w.start, own: w.own.len(), probabilities })
            .collect())
    }

    /// Class probabilities of each clip's features, one forward pass for them all.
    async fn probabilities(&self, features: &[Features]) -> Result<Vec<Vec<f32>>, AnalysisError> {
        let logits = self.weights.model.forward(self.batch(features));
        let logits = read(logits.into_data_async().await)?;
        Ok(logits.chunks_exact(self.weights.sidecar.labels.len()).map(softmax).collect())
    }

    /// The answer for a recording of `samples` samples from its scored windows, each with its
    /// verdict of speech or not (audio::speech): the answer is heard from the windows with
    /// speech, or from all of them when none has any (and then it means nothing, as a note says).
    fn summary(&self, scored: Vec<Scored>, verdicts: &[Verdict], samples: usize, mut notes: Vec<String>) -> Analysis {
        let rate = MODEL_RATE as f32;
        let clip = self.weights.sidecar.clip_samples as f32 / rate;
        let seconds = samples as f32 / rate;
        let speech = verdicts.iter().any(|v| v.speech);
        let heard: Vec<&Scored> =
            scored.iter().zip(verdicts).filter(|(_, v)| v.speech || !speech).map(|(w, _)| w).collect();
        let mut mean = vec![0.0f32; self.weights.sidecar.labels.len()];
        for w in &heard {
            mean.iter_mut().zip(&w.probabilities).for_each(|(m, p)| *m += p / heard.len() as f32);
        }
        if let Some(note) = speech_note(verdicts, heard.len(), scored.len(), &notes) {
            notes.push(note);
        }
        if self.weights.sidecar.normalisation == Normalisation::PerSpeaker && self.weights.sidecar.voice.is_none() {
            notes.push(ONE_RECORDING_OF_A_SPEAKER.to_string());
        }
        let windows = scored
            .into_iter()
            .zip(verdicts)
            .map(|(w, verdict)| {
                let start_seconds = w.start as f32 / rate;
                let end_seconds = (start_seconds + clip).min(seconds.max(clip));
                WindowResult { start_seconds, end_seconds, probabilities: w.probabilities, speech: verdict.speech }
            })
            .collect();
        Analysis { labels: self.weights.sidecar.labels.clone(), probabilities: mean, windows, seconds, notes, speech }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(probabilities: &[f32]) -> Analysis {
        Analysis {
            labels: ["angry", "fear", "happy", "neutral", "sad"].map(String::from).to_vec(),
            probabilities: probabilities.to_vec(),
            windows: Vec::new(),
            seconds: 1.0,
            notes: Vec::new(),
            speech: true,
        }
    }

    #[test]
    fn weak_or_close_answers_say_so() {
        assert_eq!(answer(&[0.7, 0.1, 0.1, 0.05, 0.05]).doubt(), None);
        assert_eq!(
            answer(&[0.45, 0.05, 0.4, 0.05, 0.05]).doubt().unwrap(),
            "Unsure: angry (45%) and happy (40%) are close."
        );
        assert_eq!(
            answer(&[0.1, 0.15, 0.35, 0.2, 0.2]).doubt().unwrap(),
            "Unsure: no emotion stands out; happy leads with only 35%."
        );
    }
}
