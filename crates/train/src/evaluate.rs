//! A trained model on another corpus: the paper's cross-corpus test. Only the emotions both
//! share count, and the model's answer is its most probable shared emotion.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::tensor::TensorData;
use serde::Serialize;

use crate::augment::Augmentation;
use crate::corpus::Corpus;
use crate::data::{FrontEndSettings, extract, extract_for_voice};
use crate::metrics::Scores;
use crate::{Result, TrainError};
use timnet::analysis::argmax;
use timnet::features::Normalisation;
use timnet::weights::Weights;

/// The five emotions of the paper's cross-corpus setting.
pub const PAPER_SHARED: [&str; 5] = ["angry", "fear", "happy", "neutral", "sad"];

#[derive(Debug, Clone, Serialize)]
pub struct CrossCorpus {
    /// The emotions scored, in the order of the confusion matrix.
    pub classes: Vec<String>,
    pub scores: Scores,
    pub items: usize,
    /// Files of the selected emotions that could not be read, with the reason.
    pub unreadable: Vec<(PathBuf, String)>,
    /// A per-speaker model taught a voice: every recording was normalised by that voice's
    /// statistics (as `predict` and the page do), not by its corpus speaker's.
    pub by_taught_voice: bool,
}

/// Evaluate `weights` on `corpus` over `classes` (default: the paper's five, else every
/// emotion both share). Clips are fitted to the model's clip length.
pub fn evaluate(
    weights: &Weights,
    corpus: Corpus,
    classes: Option<&[String]>,
    cache: Option<&Path>,
) -> Result<CrossCorpus> {
    let model_labels = &weights.sidecar.labels;
    let shared_by_both = |name: &str| model_labels.iter().any(|l| l == name) && corpus.labels.iter().any(|l| l == name);
    let classes: Vec<String> = match classes {
        Some(wanted) => {
            for name in wanted {
                if !model_labels.contains(name) {
                    return Err(TrainError::Evaluation(format!(
                        "the model has no emotion {name:?} (it has {})",
                        model_labels.join(", ")
                    )));
                }
            }
            wanted.to_vec()
        }
        None if PAPER_SHARED.iter().all(|n| shared_by_both(n)) => PAPER_SHARED.iter().map(|s| s.to_string()).collect(),
        None => model_labels.iter().filter(|l| shared_by_both(l)).cloned().collect(),
    };
    if classes.len() < 2 {
        return Err(TrainError::Evaluation(format!(
            "the model ({}) and {} ({}) share fewer than two emotions",
            model_labels.join(", "),
            corpus.name,
            corpus.labels.join(", ")
        )));
    }
    let corpus = corpus.select(&classes)?;
    let s = &weights.sidecar;
    let front =
        FrontEndSettings { mfcc: s.features.clone(), clip_samples: s.clip_samples, normalisation: s.normalisation };
    let voice = s.voice.as_ref().filter(|_| s.normalisation == Normalisation::PerSpeaker);
    let data = match voice {
        Some(voice) => extract_for_voice(&corpus, &front, voice, cache)?,
        None => extract(&corpus, &front, &Augmentation::default(), 0, None, cache)?,
    };
    if data.is_empty() {
        return Err(TrainError::Evaluation(format!(
            "none of the {} files of {} could be read (the first: {})",
            data.unreadable.len(),
            corpus.name,
            data.unreadable.first().map_or(String::new(), |(p, why)| format!("{}: {why}", p.display()))
        )));
    }
    let mut present: Vec<usize> = data.labels.clone();
    present.sort_unstable();
    present.dedup();
    if present.len() < 2 {
        return Err(TrainError::Evaluation(format!(
            "only one emotion ({}) has readable files; a score needs at least two",
            classes[present[0]]
        )));
    }
    // Column of each scored emotion among the model's outputs.
    let columns: Vec<usize> =
        classes.iter().map(|c| model_labels.iter().position(|l| l == c).unwrap_or_default()).collect();
    let device = Device::flex();
    let model = weights.model.valid();
    let all: Vec<usize> = (0..data.len()).collect();
    let mut predicted = Vec::with_capacity(data.len());
    for chunk in all.chunks(64) {
        let x = TensorData::new(data.gather(chunk), [chunk.len(), data.frames, data.coeffs]);
        let logits = model.forward(Tensor::from_data(x, &device)).into_data();
        let logits = logits.try_to_vec::<f32>().map_err(|e| TrainError::Evaluation(format!("{e:?}")))?;
        for row in logits.chunks_exact(model_labels.len()) {
            let shared: Vec<f32> = columns.iter().map(|&c| row[c]).collect();
            predicted.push(argmax(&shared));
        }
    }
    let truth: Vec<usize> = data.labels.clone();
    Ok(CrossCorpus {
        scores: Scores::new(&truth, &predicted, classes.len()),
        classes,
        items: data.len(),
        unreadable: data.unreadable,
        by_taught_voice: voice.is_some(),
    })
}
