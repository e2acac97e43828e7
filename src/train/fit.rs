//! The training loop for one split, as the official code trains: Adam(1e-3, 0.93, 0.98, 1e-8),
//! batches of 64 in a seeded shuffle, categorical cross-entropy with label smoothing 0.1.
//!
//! Every random draw (the epoch's shuffle, the step's dropout masks) is seeded from
//! (seed, fold, epoch, step), so a run can stop after any epoch and resume to the same weights.

use std::path::Path;

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::log_softmax;
use serde::{Deserialize, Serialize};

use super::data::Dataset;
use super::fused::FusedTrainer;
use super::metrics::Scores;
use super::{mix, shuffle};
use crate::model::{TimNet, TimNetConfig};

/// How the training step is computed. Both give the same network; they differ in speed and
/// in their random streams (dropout masks), so a run stays on the one it started with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Backend {
    /// The fused CPU step ([`super::fused`]): the fast one.
    #[default]
    Fused,
    /// burn's autodiff on its flex CPU backend: the straightforward reference.
    Flex,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub label_smoothing: f32,
    pub seed: u64,
    #[serde(default)]
    pub backend: Backend,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            epochs: 500,
            batch_size: 64,
            learning_rate: 1e-3,
            label_smoothing: 0.1,
            seed: 46,
            backend: Backend::Fused,
        }
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

/// The weights and the optimiser, on one backend.
pub enum Learner {
    Fused(Box<FusedTrainer>),
    Flex { model: Box<TimNet>, optimizer: burn::optim::ModuleOptimizer, device: Device, learning_rate: f64 },
}

/// The state between epochs: enough to resume bit for bit.
pub struct FitState {
    pub learner: Learner,
    pub epochs_done: usize,
}

impl FitState {
    /// Fresh weights drawn from `seed` (the same on every backend) and a fresh optimiser.
    pub fn new(config: &TimNetConfig, options: &FitOptions, seed: u64) -> Self {
        let learner = match options.backend {
            Backend::Fused => {
                let device = Device::flex();
                device.seed(seed);
                Learner::Fused(Box::new(FusedTrainer::new(&config.init(&device), options.learning_rate)))
            }
            Backend::Flex => {
                let device = Device::flex().autodiff();
                device.seed(seed);
                Learner::Flex {
                    model: Box::new(config.init(&device)),
                    optimizer: adam().init(),
                    device,
                    learning_rate: options.learning_rate,
                }
            }
        };
        Self { learner, epochs_done: 0 }
    }

    /// The trained network as an inference model.
    pub fn model(&self) -> Result<TimNet, String> {
        match &self.learner {
            Learner::Fused(fused) => fused.model(&Device::flex()).map_err(|e| e.to_string()),
            Learner::Flex { model, .. } => Ok(model.valid()),
        }
    }

    fn classes(&self) -> usize {
        match &self.learner {
            Learner::Fused(fused) => fused.config().classes,
            Learner::Flex { model, .. } => model.config().classes,
        }
    }

    /// One optimisation step on a batch; returns its mean loss.
    fn step(&mut self, x: Vec<f32>, targets: Vec<f32>, batch: usize, frames: usize, seed: u64) -> f32 {
        match &mut self.learner {
            Learner::Fused(fused) => fused.step(&x, batch, &targets, seed),
            Learner::Flex { model, optimizer, device, learning_rate } => {
                device.seed(seed);
                let features = x.len() / (batch * frames).max(1);
                let x = Tensor::from_data(TensorData::new(x, [batch, frames, features]), &*device);
                let classes = targets.len() / batch.max(1);
                let y = Tensor::from_data(TensorData::new(targets, [batch, classes]), &*device);
                let loss = -(log_softmax(model.forward(x), 1) * y).sum_dim(1).mean();
                let value: f32 = loss.clone().into_scalar();
                let grads = GradientsParams::from_grads(loss.backward(), &**model);
                // Modules share their tensors, so this clone is cheap.
                **model = optimizer.step(*learning_rate, (**model).clone(), grads);
                value
            }
        }
    }

    /// Inference-mode logits [batch, classes].
    fn logits(&mut self, x: Vec<f32>, batch: usize, frames: usize) -> Vec<f32> {
        match &mut self.learner {
            Learner::Fused(fused) => fused.logits(&x, batch),
            Learner::Flex { model, .. } => {
                let device = Device::flex();
                let features = x.len() / (batch * frames).max(1);
                let x = Tensor::from_data(TensorData::new(x, [batch, frames, features]), &device);
                model.valid().forward(x).into_data().try_to_vec::<f32>().unwrap_or_default()
            }
        }
    }

    /// Write the weights and the optimiser's state into `dir`.
    pub fn save(&self, dir: &Path) -> Result<(), String> {
        match &self.learner {
            Learner::Fused(fused) => fused.save(&dir.join("fused.bin")).map_err(|e| e.to_string()),
            Learner::Flex { model, optimizer, .. } => {
                // Through `valid()`, which folds in the BatchNorm running statistics' last update:
                // burn holds it per thread until then, and `into_record` alone would miss it.
                model.valid().into_record().save(dir.join("model.bpk")).map_err(|e| e.to_string())?;
                optimizer.save(dir.join("optimizer.bpk")).map_err(|e| e.to_string())
            }
        }
    }

    /// Restore what [`FitState::save`] wrote.
    pub fn load(&mut self, dir: &Path) -> Result<(), String> {
        match &mut self.learner {
            Learner::Fused(fused) => fused.load(&dir.join("fused.bin")),
            Learner::Flex { model, optimizer, .. } => {
                let record = burn::store::ModuleRecord::load(dir.join("model.bpk")).map_err(|e| e.to_string())?;
                **model = (**model).clone().try_load_record(record).map_err(|e| e.to_string())?;
                *optimizer = adam().init().load(dir.join("optimizer.bpk")).map_err(|e| e.to_string())?;
                Ok(())
            }
        }
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
) -> EpochLog {
    let started = seconds_now();
    let epoch = state.epochs_done;
    let mut order = train.to_vec();
    shuffle(&mut order, mix(&[options.seed, fold, epoch as u64]));
    let classes = state.classes();
    let mut total = 0.0;
    for (step, batch) in order.chunks(options.batch_size).enumerate() {
        let seed = mix(&[options.seed, fold, epoch as u64, step as u64 + 1]);
        let targets = smoothed_targets(data, batch, classes, options.label_smoothing);
        let loss = state.step(data.gather(batch), targets, batch.len(), data.frames, seed);
        total += loss as f64 * batch.len() as f64;
    }
    state.epochs_done += 1;
    let scores = evaluate
        .iter()
        .filter(|(_, set)| !set.is_empty())
        .map(|(name, set)| (name.to_string(), score(state, data, set)))
        .collect();
    EpochLog { epoch: epoch + 1, loss: total / train.len().max(1) as f64, seconds: seconds_now() - started, scores }
}

/// Predicted labels of `set`, in inference mode.
pub fn predict(state: &mut FitState, data: &Dataset, set: &[usize]) -> Vec<usize> {
    let classes = state.classes();
    let mut predicted = Vec::with_capacity(set.len());
    for chunk in set.chunks(64) {
        let logits = state.logits(data.gather(chunk), chunk.len(), data.frames);
        predicted.extend(logits.chunks_exact(classes).map(crate::analysis::argmax));
    }
    predicted
}

/// Class probabilities of `rows`, in inference mode.
pub fn probabilities(state: &mut FitState, data: &Dataset, rows: &[usize]) -> Vec<Vec<f32>> {
    let classes = state.classes();
    let logits = state.logits(data.gather(rows), rows.len(), data.frames);
    logits.chunks_exact(classes).map(crate::analysis::softmax).collect()
}

pub fn score(state: &mut FitState, data: &Dataset, set: &[usize]) -> Scores {
    let predicted = predict(state, data, set);
    let truth: Vec<usize> = set.iter().map(|&i| data.labels[i]).collect();
    Scores::new(&truth, &predicted, state.classes())
}

/// Keras's label smoothing: y·(1-α) + α/K.
fn smoothed_targets(data: &Dataset, rows: &[usize], classes: usize, alpha: f32) -> Vec<f32> {
    let mut y = vec![alpha / classes as f32; rows.len() * classes];
    for (r, &i) in rows.iter().enumerate() {
        y[r * classes + data.labels[i]] += 1.0 - alpha;
    }
    y
}

fn seconds_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}
