//! Teach it your voice: a loaded model adapted to one person from a few labelled takes, on the
//! person's own device, the same natively (`timnet adapt`) and in the page.
//!
//! The Temporal-Aware Blocks stay frozen. Each take's per-scale features g_j are computed once
//! ([`Analyzer::take`]); then only what reads them changes ([`head`]): a label-free shift of the
//! head's bias that evens the person's mean logits ([`Head::centred`]), and a fit of the fusion
//! weights and the dense head with a penalty that keeps them near the model's ([`Head::fitted`]).
//! Optionally, before the takes' features are computed, the network's BatchNorm statistics are
//! re-estimated on the person's takes ([`Analyzer::renormalised`], label-free). A model trained
//! with per-speaker normalisation first learns the voice's statistics from all the takes
//! ([`Analyzer::voiced`], label-free), which it then normalises every recording by.

pub mod head;

use std::collections::BTreeMap;

use burn::module::Param;
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use head::{FitSettings, Head, Take};

use crate::analysis::{AnalysisError, Analyzer, read};
use crate::audio::Prepared;
use crate::features::{FrontEnd, Normalisation, Standardiser};
use crate::model::TimNet;
use crate::weights::Weights;

/// Everything an adaptation does, recorded in the adapted model's sidecar.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Even the person's mean logits first (label-free).
    pub centre: bool,
    /// Then fit the fusion weights and the head on the labels.
    pub fit: FitSettings,
    /// Keep the model as it was where adapting gets more than this many more of the person's
    /// takes wrong than the model did, each take scored by a model adapted without it
    /// ([`leave_one_out`]); none: always adapt. A voice whose own takes say that adapting
    /// hurts keeps the answers it had. None in sidecars written before it existed.
    #[serde(default)]
    pub guard: Option<usize>,
    /// The share of the person's own statistics in every BatchNorm's (0: the model's alone),
    /// applied to the network by [`Analyzer::renormalised`] before the takes' features are
    /// computed; [`adapt`] itself refits only the head. Absent where 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub batch_norm: f32,
}

fn is_zero(share: &f32) -> bool {
    *share == 0.0
}

impl Default for Settings {
    /// The settings that did best at two takes per emotion on the shipped model's validation
    /// speakers (held out of its six training corpora): `timnet adapt-eval --run runs/mix-final
    /// --weights model-weights/mix --set validation --grid` (docs/results.md, "Teach it your
    /// voice").
    fn default() -> Self {
        Settings {
            centre: true,
            fit: FitSettings { steps: 300, learning_rate: 0.03, penalty: 0.01 },
            guard: None,
            batch_norm: 0.0,
        }
    }
}

impl Settings {
    /// The same settings, guarded: the model is kept where adapting gets more than `takes`
    /// more takes wrong.
    pub fn guarded(self, takes: usize) -> Self {
        Settings { guard: Some(takes), ..self }
    }
}

/// What the sidecar of a personalised model says about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Personalisation {
    /// What the model adapted from was trained on, and its record's SHA-256.
    pub from_corpus: String,
    pub from_sha256: String,
    /// How many takes of each emotion it was adapted on.
    pub takes: BTreeMap<String, usize>,
    pub settings: Settings,
}

#[derive(Debug, Error)]
pub enum AdaptError {
    #[error("no takes: record or give at least one take of each of two emotions")]
    NoTakes,
    #[error("takes of only one emotion ({0}): adapting needs at least two emotions to tell apart")]
    OneEmotion(String),
    #[error("the model has no emotion {emotion:?}; it knows {}", known.join(", "))]
    UnknownEmotion { emotion: String, known: Vec<String> },
    #[error("this model was already adapted to a voice; adapt the model it came from ({0}) instead")]
    AlreadyPersonal(String),
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
}

impl Analyzer {
    /// A labelled take: the per-scale features of each window of the recording.
    pub async fn take(&self, prepared: &Prepared, label: usize) -> Result<Take, AnalysisError> {
        let tabs_filters = self.weights().model.config().tabs * self.weights().model.config().filters;
        let windows = self.windows(&prepared.samples);
        let features: Vec<_> = windows.iter().map(|w| self.front_end().placed(&w.samples, w.own.clone())).collect();
        let scales = read(self.weights().model.scales(self.batch(&features)).into_data_async().await)?;
        Ok(Take { label, windows: scales.chunks_exact(tabs_filters).map(<[f32]>::to_vec).collect() })
    }

    /// For a model trained with per-speaker normalisation, the loaded weights taught the voice
    /// of these recordings: each MFCC's mean and spread over their windows' own frames, by
    /// which every recording is then normalised (label-free, as training pooled a speaker's
    /// utterances). None for other models, which normalise each recording on its own.
    pub fn voiced(&self, recordings: &[Prepared]) -> Result<Option<Weights>, AdaptError> {
        let sidecar = &self.weights().sidecar;
        if sidecar.normalisation != Normalisation::PerSpeaker {
            return Ok(None);
        }
        if sidecar.personalised.is_some() || sidecar.voice.is_some() {
            return Err(AdaptError::AlreadyPersonal(sidecar.provenance.corpus.clone()));
        }
        let raw = FrontEnd::new(sidecar.features.clone(), sidecar.clip_samples, Normalisation::None);
        let features: Vec<_> = recordings
            .iter()
            .flat_map(|p| self.windows(&p.samples))
            .map(|w| raw.placed_and_own(&w.samples, w.own.clone()))
            .collect();
        if features.is_empty() {
            return Err(AdaptError::NoTakes);
        }
        let coeffs = sidecar.features.n_mfcc;
        let voice = Standardiser::fit(features.iter().map(|(f, own)| (&f.data[..], own.clone())), coeffs, false);
        let mut weights = self.weights().clone();
        weights.sidecar.voice = Some(voice);
        Ok(Some(weights))
    }

    /// The loaded weights with every BatchNorm's statistics re-estimated on the windows of these
    /// recordings, blended with the trained ones by `share` ([`TimNet::renormalised`]).
    pub fn renormalised(&self, recordings: &[Prepared], share: f32) -> Weights {
        let features: Vec<_> = recordings
            .iter()
            .flat_map(|p| self.windows(&p.samples))
            .map(|w| self.front_end().placed(&w.samples, w.own.clone()))
            .collect();
        let weights = self.weights();
        if features.is_empty() || share == 0.0 {
            return weights.clone();
        }
        Weights { model: weights.model.renormalised(self.batch(&features), f64::from(share)), ..weights.clone() }
    }

    /// The fusion weights and the head of the loaded model, as numbers.
    pub async fn head(&self) -> Result<Head, AnalysisError> {
        let model = &self.weights().model;
        let config = model.config();
        let device = model.head.weight.device();
        let weight = read(model.head.weight.val().into_data_async().await)?;
        let bias = match &model.head.bias {
            Some(b) => read(b.val().into_data_async().await)?,
            None => vec![0.0; config.classes],
        };
        Ok(Head {
            tabs: config.tabs,
            filters: config.filters,
            classes: config.classes,
            fusion: read(model.fusion_weights(&device).into_data_async().await)?,
            fusion_learned: model.fusion.is_some(),
            weight,
            bias,
        })
    }
}

/// Which emotion each take is, by name, as indices into the model's labels; refused when the
/// takes cannot adapt this model.
pub fn label_takes<'a>(labels: &[String], names: impl IntoIterator<Item = &'a str>) -> Result<Vec<usize>, AdaptError> {
    let indices = names
        .into_iter()
        .map(|name| {
            let wanted = name.trim().to_lowercase();
            labels
                .iter()
                .position(|l| *l == wanted)
                .ok_or_else(|| AdaptError::UnknownEmotion { emotion: name.to_string(), known: labels.to_vec() })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut distinct: Vec<usize> = indices.clone();
    distinct.sort_unstable();
    distinct.dedup();
    match distinct.as_slice() {
        [] => Err(AdaptError::NoTakes),
        [one] => Err(AdaptError::OneEmotion(labels[*one].clone())),
        _ => Ok(indices),
    }
}

/// An adaptation and what the person's own takes say of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Adapted {
    /// The head to run: the fitted one, or the model's own where the guard kept it.
    pub head: Head,
    /// The share of the takes the model gets right, before and after adapting, each take
    /// scored by a model adapted without it ([`leave_one_out`]).
    pub before: f32,
    pub after: f32,
    /// The guard kept the model as it was: adapting got too many of the takes wrong.
    pub kept: bool,
}

/// Adapt `start` to these takes by `settings`, and score the adaptation on them.
pub fn adapt(start: &Head, takes: &[Take], settings: &Settings) -> Adapted {
    adapt_from(start, takes, takes, settings)
}

/// [`adapt`], for a model that first learned the voice ([`Analyzer::voiced`]): `takes` as the
/// taught model reads them, `as_it_was` as the model read them before, by which its own answers
/// ("before", and what the guard compares with) are scored.
pub fn adapt_from(start: &Head, as_it_was: &[Take], takes: &[Take], settings: &Settings) -> Adapted {
    let (_, after) = leave_one_out(start, takes, settings);
    let top = |take: &Take| crate::analysis::argmax(&start.probabilities(take)) == take.label;
    let before = as_it_was.iter().filter(|t| top(t)).count();
    let kept = settings.guard.is_some_and(|more_wrong| after + more_wrong < before);
    let head = if kept { start.clone() } else { fit(start, takes, settings) };
    let share = |right: usize| if takes.is_empty() { 0.0 } else { right as f32 / takes.len() as f32 };
    Adapted { head, before: share(before), after: share(after), kept }
}

/// The head adapted to these takes by `settings`, guard included; only the guard needs the
/// leave-one-out scores, so an unguarded fit skips them.
pub fn adapt_head(start: &Head, takes: &[Take], settings: &Settings) -> Head {
    if settings.guard.is_some() { adapt(start, takes, settings).head } else { fit(start, takes, settings) }
}

/// The label-free step and the labelled fit, without the guard.
fn fit(start: &Head, takes: &[Take], settings: &Settings) -> Head {
    let centred = if settings.centre { start.centred(takes) } else { start.clone() };
    centred.fitted(takes, &settings.fit)
}

/// `weights` with the adapted head, and a sidecar that says so.
pub fn personalised(
    weights: &Weights,
    head: &Head,
    takes: &[Take],
    settings: &Settings,
) -> Result<Weights, AdaptError> {
    let sidecar = &weights.sidecar;
    if sidecar.personalised.is_some() {
        return Err(AdaptError::AlreadyPersonal(sidecar.provenance.corpus.clone()));
    }
    let mut counts = BTreeMap::new();
    for take in takes {
        *counts.entry(sidecar.labels[take.label].clone()).or_insert(0) += 1;
    }
    let mut sidecar = sidecar.clone();
    sidecar.personalised = Some(Personalisation {
        from_corpus: sidecar.provenance.corpus.clone(),
        from_sha256: sidecar.record_sha256.clone(),
        takes: counts,
        settings: *settings,
    });
    // The recorded predictions belong to the model adapted from, not to this one.
    sidecar.recorded.clear();
    Ok(Weights { model: with_head(weights.model.clone(), head), sidecar })
}

/// The network with these fusion weights and this head.
fn with_head(mut model: TimNet, head: &Head) -> TimNet {
    let device = model.head.weight.device();
    if model.fusion.is_some() {
        model.fusion = Some(Param::from_tensor(Tensor::<1>::from_floats(head.fusion.as_slice(), &device)));
    }
    let weight = TensorData::new(head.weight.clone(), [head.filters, head.classes]);
    model.head.weight = Param::from_tensor(Tensor::from_data(weight, &device));
    model.head.bias = Some(Param::from_tensor(Tensor::<1>::from_floats(head.bias.as_slice(), &device)));
    model
}

/// How well adaptation does on the person's own takes, each take scored by a head adapted
/// without it (so that no take is scored by a model that has seen it): how many takes have
/// their emotion as the top answer, (before, after).
pub fn leave_one_out(start: &Head, takes: &[Take], settings: &Settings) -> (usize, usize) {
    let top = |head: &Head, take: &Take| crate::analysis::argmax(&head.probabilities(take)) == take.label;
    let (mut before, mut after) = (0, 0);
    for (i, take) in takes.iter().enumerate() {
        let others: Vec<Take> = takes.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, t)| t.clone()).collect();
        before += usize::from(top(start, take));
        after += usize::from(top(&fit(start, &others, settings), take));
    }
    (before, after)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A head of one scale and two filters that reads filter c as class c.
    fn head() -> Head {
        Head {
            tabs: 1,
            filters: 2,
            classes: 2,
            fusion: vec![1.0],
            fusion_learned: true,
            weight: vec![1.0, 0.0, 0.0, 1.0],
            bias: vec![0.0; 2],
        }
    }

    fn take(label: usize, window: [f32; 2]) -> Take {
        Take { label, windows: vec![window.to_vec()] }
    }

    const FIT: Settings = Settings {
        centre: false,
        fit: FitSettings { steps: 200, learning_rate: 0.1, penalty: 0.0 },
        guard: None,
        batch_norm: 0.0,
    };

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn the_guard_keeps_the_model_where_adapting_gets_the_takes_wrong() {
        // Each sound is given both labels: a model fitted without one take learns the other
        // label for its sound and gets the take wrong; the model gets one of each pair right.
        let takes = [take(0, [1.0, 0.0]), take(1, [1.0, 0.0]), take(0, [0.0, 1.0]), take(1, [0.0, 1.0])];
        let unguarded = adapt(&head(), &takes, &FIT);
        assert_eq!((unguarded.before, unguarded.after), (0.5, 0.0));
        assert!(!unguarded.kept);
        assert_ne!(unguarded.head, head());
        let guarded = adapt(&head(), &takes, &FIT.guarded(0));
        assert!(guarded.kept);
        assert_eq!(guarded.head, head());
        assert_eq!(adapt_head(&head(), &takes, &FIT.guarded(0)), head());
        assert_eq!(adapt_head(&head(), &takes, &FIT), unguarded.head);
        // Two takes more wrong: a guard that allows one more wrong keeps the model, one that
        // allows two adapts.
        assert!(adapt(&head(), &takes, &FIT.guarded(1)).kept);
        assert!(!adapt(&head(), &takes, &FIT.guarded(2)).kept);
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn the_guard_lets_a_helpful_adaptation_through() {
        // A voice that lifts filter 0 on every take: the model hears class 0 in all of them.
        let takes: Vec<Take> = (0..3)
            .flat_map(|i| {
                let wobble = 0.1 * i as f32;
                [take(0, [2.0 + wobble, 0.5]), take(1, [1.5 + wobble, 1.2])]
            })
            .collect();
        let guarded = adapt(&head(), &takes, &FIT.guarded(0));
        assert!(guarded.after > guarded.before, "{} → {}", guarded.before, guarded.after);
        assert!(!guarded.kept);
        assert_eq!(guarded.head, adapt_head(&head(), &takes, &FIT));
        // A tie adapts: the takes cannot tell the two models apart, and adapting helps on average.
        let clear = [take(0, [2.0, 0.0]), take(1, [0.0, 2.0]), take(0, [1.8, 0.1]), take(1, [0.1, 1.8])];
        let tie = adapt(&head(), &clear, &FIT.guarded(0));
        assert_eq!((tie.before, tie.after, tie.kept), (1.0, 1.0, false));
        assert_ne!(tie.head, head());
    }
}
