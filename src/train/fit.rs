//! The training loop for one split, as the official code trains: Adam(1e-3, 0.93, 0.98, 1e-8),
//! batches of 64 in a seeded shuffle, categorical cross-entropy with label smoothing 0.1.
//!
//! Every random draw (the epoch's shuffle, the step's dropout masks) is seeded from
//! (seed, fold, epoch, step), so a run can stop after any epoch and resume to the same weights.

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::log_softmax;
use serde::{Deserialize, Serialize};

use super::data::Dataset;
use super::metrics::Scores;
use super::{mix, shuffle};
use crate::model::{TimNet, TimNetConfig};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub label_smoothing: f32,
    pub seed: u64,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self { epochs: 500, batch_size: 64, learning_rate: 1e-3, label_smoothing: 0.1, seed: 46 }
    }
}

/// What one epoch did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub loss: f64,
    pub seconds: f64,
    /// Scores on each evaluation set ("test", "validation"), after the epoch.
    pub scores: Vec<(String, Scores)>,
}

/// The state between epochs: enough to resume bit for bit.
pub struct FitState {
    pub model: TimNet,
    pub optimizer: burn::optim::ModuleOptimizer,
    pub epochs_done: usize,
}

impl FitState {
    pub fn new(config: &TimNetConfig, device: &Device, seed: u64) -> Self {
        // The initial weights are drawn from the seed too.
        device.seed(seed);
        let model = config.init(device);
        Self { model, optimizer: adam().init(), epochs_done: 0 }
    }
}

pub fn adam() -> AdamConfig {
    AdamConfig::new().with_beta_1(0.93).with_beta_2(0.98).with_epsilon(1e-8)
}

/// Train `state` for one more epoch on `train`, then score it on `evaluate`.
pub fn run_epoch(
    state: &mut FitState,
    data: &Dataset,
    train: &[usize],
    evaluate: &[(&str, &[usize])],
    options: &FitOptions,
    fold: u64,
    device: &Device,
) -> EpochLog {
    let started = seconds_now();
    let epoch = state.epochs_done;
    let mut order = train.to_vec();
    shuffle(&mut order, mix(&[options.seed, fold, epoch as u64]));
    let classes = state.model.config().classes;
    let mut total = 0.0;
    for (step, batch) in order.chunks(options.batch_size).enumerate() {
        device.seed(mix(&[options.seed, fold, epoch as u64, step as u64 + 1]));
        let x = features(data, batch, device);
        let y = smoothed_targets(data, batch, classes, options.label_smoothing, device);
        let loss = -(log_softmax(state.model.forward(x), 1) * y).sum_dim(1).mean();
        let value: f32 = loss.clone().into_scalar();
        total += value as f64 * batch.len() as f64;
        let grads = GradientsParams::from_grads(loss.backward(), &state.model);
        // Modules share their tensors, so this clone is cheap.
        state.model = state.optimizer.step(options.learning_rate, state.model.clone(), grads);
    }
    state.epochs_done += 1;
    let valid = state.model.valid();
    let scores = evaluate
        .iter()
        .filter(|(_, set)| !set.is_empty())
        .map(|(name, set)| (name.to_string(), score(&valid, data, set, device)))
        .collect();
    EpochLog { epoch: epoch + 1, loss: total / train.len().max(1) as f64, seconds: seconds_now() - started, scores }
}

/// Predicted labels of `set` by an inference-mode model.
pub fn predict(model: &TimNet, data: &Dataset, set: &[usize], device: &Device) -> Vec<usize> {
    let mut predicted = Vec::with_capacity(set.len());
    for chunk in set.chunks(128) {
        let logits = model.forward(features(data, chunk, device));
        let values = logits.into_data().try_to_vec::<f32>().unwrap_or_default();
        let classes = model.config().classes;
        predicted.extend(values.chunks_exact(classes).map(crate::analysis::argmax));
    }
    predicted
}

pub fn score(model: &TimNet, data: &Dataset, set: &[usize], device: &Device) -> Scores {
    let predicted = predict(model, data, set, device);
    let truth: Vec<usize> = set.iter().map(|&i| data.labels[i]).collect();
    Scores::new(&truth, &predicted, model.config().classes)
}

fn features(data: &Dataset, rows: &[usize], device: &Device) -> Tensor<3> {
    Tensor::from_data(TensorData::new(data.gather(rows), [rows.len(), data.frames, data.coeffs]), device)
}

/// Keras's label smoothing: y·(1-α) + α/K.
fn smoothed_targets(data: &Dataset, rows: &[usize], classes: usize, alpha: f32, device: &Device) -> Tensor<2> {
    let mut y = vec![alpha / classes as f32; rows.len() * classes];
    for (r, &i) in rows.iter().enumerate() {
        y[r * classes + data.labels[i]] += 1.0 - alpha;
    }
    Tensor::from_data(TensorData::new(y, [rows.len(), classes]), device)
}

fn seconds_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}
