//! Teach it your voice: a loaded model adapted to one person from a few labelled takes, on the
//! person's own device, the same natively (`timnet adapt`) and in the page.
//!
//! The Temporal-Aware Blocks stay frozen. Each take's per-scale features g_j are computed once
//! ([`Analyzer::take`]); then only what reads them changes ([`head`]): a label-free shift of the
//! head's bias that evens the person's mean logits ([`Head::centred`]), and a fit of the fusion
//! weights and the dense head with a penalty that keeps them near the model's ([`Head::fitted`]).

pub mod head;

use std::collections::BTreeMap;

use burn::module::Param;
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use head::{FitSettings, Head, Take};

use crate::analysis::{AnalysisError, Analyzer, read};
use crate::audio::Prepared;
use crate::model::TimNet;
use crate::weights::Weights;

/// Everything an adaptation does, recorded in the adapted model's sidecar.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Even the person's mean logits first (label-free).
    pub centre: bool,
    /// Then fit the fusion weights and the head on the labels.
    pub fit: FitSettings,
}

impl Default for Settings {
    /// The settings that did best at two takes per emotion on the shipped model's validation
    /// speakers (held out of its six training corpora): `timnet adapt-eval --run runs/mix-final
    /// --weights model-weights/mix --set validation --grid` (docs/results.md, "Teach it your
    /// voice").
    fn default() -> Self {
        Settings { centre: true, fit: FitSettings { steps: 300, learning_rate: 0.03, penalty: 0.01 } }
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

/// The head adapted to these takes by `settings`.
pub fn adapt_head(start: &Head, takes: &[Take], settings: &Settings) -> Head {
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
/// without it (so that no take is scored by a model that has seen it): (before, after), the
/// share of takes whose emotion is the top answer.
pub fn leave_one_out(start: &Head, takes: &[Take], settings: &Settings) -> (f32, f32) {
    if takes.is_empty() {
        return (0.0, 0.0);
    }
    let top = |head: &Head, take: &Take| crate::analysis::argmax(&head.probabilities(take)) == take.label;
    let (mut before, mut after) = (0, 0);
    for (i, take) in takes.iter().enumerate() {
        let others: Vec<Take> = takes.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, t)| t.clone()).collect();
        before += usize::from(top(start, take));
        after += usize::from(top(&adapt_head(start, &others, settings), take));
    }
    (before as f32 / takes.len() as f32, after as f32 / takes.len() as f32)
}
