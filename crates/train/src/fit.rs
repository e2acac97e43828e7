//! The training loop for one split, as the official code trains: Adam(1e-3, 0.93, 0.98, 1e-8),
//! batches of 64 in a seeded shuffle, categorical cross-entropy with label smoothing 0.1.
//!
//! Every random draw (the epoch's shuffle, the step's dropout masks) is seeded from
//! (seed, fold, epoch, step), so a run can stop after any epoch and resume to the same weights.

use std::path::Path;

use burn::module::{ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::TensorData;
use serde::{Deserialize, Serialize};

use crate::augment::{Draw, mask, mixup};
use crate::data::Dataset;
use crate::fused::critic::ramp;
use crate::fused::{Domains, FusedTrainer};
use crate::metrics::Scores;
use crate::parallel::{self, Batch, Workers};
use crate::{Result, TrainError};

/// The fused step's checkpoint file inside a checkpoint directory.
const FUSED_CHECKPOINT: &str = "fused.safetensors";
use crate::{mix, shuffle};
use timnet::model::{TimNet, TimNetConfig};

/// How the training step is computed. Both compute the same forward pass and the same
/// gradients (tests/fused_step.rs, with and without dropout); they differ in speed, in their
/// random streams (dropout masks) and in where Adam adds ε (see [`crate::fused::Epsilon`]), so
/// their weights part after a few steps and a run stays on the one it started with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Backend {
    /// The fused CPU step ([`crate::fused`]): the fast one.
    #[default]
    Fused,
    /// burn's autodiff on its flex CPU backend: the straightforward reference.
    Flex,
    /// burn's autodiff on a GPU through wgpu (Vulkan, Metal or DX12; the `wgpu` feature).
    Wgpu,
    /// burn's autodiff on an NVIDIA GPU through CUDA (the `cuda` feature).
    Cuda,
}

impl Backend {
    /// The GPU runtime it trains on, if any.
    pub fn gpu(self) -> Option<crate::gpu::Runtime> {
        match self {
            Backend::Fused | Backend::Flex => None,
            Backend::Wgpu => Some(crate::gpu::Runtime::Wgpu),
            Backend::Cuda => Some(crate::gpu::Runtime::Cuda),
        }
    }
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
    /// Batches with an equal share of every corpus of a mix (small corpora seen more often,
    /// large ones less), instead of a plain shuffle.
    #[serde(default)]
    pub balance_corpora: bool,
    /// Time and coefficient masks on every training batch ([`crate::augment::mask`]).
    #[serde(default)]
    pub mask: bool,
    /// Mixup's α ([`crate::augment::mixup`]) on every training batch; 0: off.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub mixup: f64,
    /// Domain-adversarial training: the most weight with which a corpus critic's gradient
    /// reaches the network, reversed ([`crate::fused::critic`]; the fused step only); 0: off.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub adversary: f64,
    /// Weight averaging ([`crate::fused::average`]): from the start of this epoch (counted
    /// from 1) on, the model scored after each epoch, and the one kept at the end, is the mean of
    /// the weights after every step since; 0: off. The fused step only.
    #[serde(default, skip_serializing_if = "is_zero_epoch")]
    pub average_from: usize,
    /// The GPUs to train on, each batch shared among them ([`crate::gpu::devices`] reads the
    /// names); empty: the backend's default device alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
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
            balance_corpora: false,
            mask: false,
            mixup: 0.0,
            adversary: 0.0,
            average_from: 0,
            devices: Vec::new(),
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
    /// In domain-adversarial training, the corpus critic's mean loss over the epoch: near
    /// ln(corpora) where the critic cannot tell the corpora apart, near 0 where it can.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critic_loss: Option<f64>,
}

/// The weights and the optimiser, on one backend.
// One per fold, moved rarely: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Learner {
    Fused(Box<FusedTrainer>),
    /// burn's autodiff over `device`; `base` is the device under it, where inference runs.
    /// With `workers`, each batch is shared among several devices, `device` the first.
    Autodiff {
        model: Box<TimNet>,
        optimizer: burn::optim::ModuleOptimizer,
        device: Device,
        base: Device,
        learning_rate: f64,
        workers: Option<Workers>,
    },
}

/// The state between epochs: enough to resume bit for bit.
pub struct FitState {
    pub learner: Learner,
    pub epochs_done: usize,
}

impl FitState {
    /// Fresh weights drawn from `seed` on the CPU (the same on every backend) and a fresh
    /// optimiser; an error where the backend's device cannot be opened.
    pub fn new(config: &TimNetConfig, options: &FitOptions, seed: u64) -> Result<Self> {
        let cpu = Device::flex();
        cpu.seed(seed);
        let initial = config.init(&cpu);
        initial.visit(&mut DrawNow);
        if options.average_from > 0 && options.backend != Backend::Fused {
            return Err(TrainError::Setup("weight averaging runs on the fused CPU step only (--backend cpu)".into()));
        }
        if !options.devices.is_empty() && options.backend.gpu().is_none() {
            return Err(TrainError::Setup(
                "several training devices need a GPU backend (--backend wgpu or cuda)".into(),
            ));
        }
        let mut bases = match options.backend {
            Backend::Fused => {
                let learner = Learner::Fused(Box::new(FusedTrainer::new(&initial, options.learning_rate)));
                return Ok(Self { learner, epochs_done: 0 });
            }
            Backend::Flex => vec![cpu],
            Backend::Wgpu => crate::gpu::devices(crate::gpu::Runtime::Wgpu, &options.devices)?,
            Backend::Cuda => crate::gpu::devices(crate::gpu::Runtime::Cuda, &options.devices)?,
        };
        let workers = (bases.len() > 1).then(|| Workers::start(bases.iter().map(|b| b.clone().autodiff()).collect()));
        let base = bases.swap_remove(0);
        let device = base.clone().autodiff();
        let learner = Learner::Autodiff {
            // To the device, then onto its autodiff layer with every parameter trainable.
            model: Box::new(initial.to_device(&base).train()),
            optimizer: adam().init(),
            device,
            base,
            learning_rate: options.learning_rate,
            workers,
        };
        Ok(Self { learner, epochs_done: 0 })
    }

    /// Give the fused step a corpus critic over `corpora` corpora, for domain-adversarial
    /// training; before any checkpoint is loaded, which then restores the critic too.
    pub fn add_critic(&mut self, corpora: usize, seed: u64) -> Result<()> {
        match &mut self.learner {
            Learner::Fused(fused) => {
                fused.set_critic(corpora, seed);
                Ok(())
            }
            Learner::Autodiff { .. } => Err(TrainError::Setup(
                "domain-adversarial training runs on the fused CPU step only (--backend cpu)".into(),
            )),
        }
    }

    /// The trained network as an inference model.
    pub fn model(&self) -> Result<TimNet> {
        match &self.learner {
            Learner::Fused(fused) => Ok(fused.model(&Device::flex())?),
            // On the CPU, where every reader of the trained network expects it.
            Learner::Autodiff { model, .. } => Ok(model.valid().to_device(&Device::flex())),
        }
    }

    /// Fold the weights after every step from now on into a running mean (the fused step
    /// only; [`FitState::new`] refuses averaging on the others).
    fn start_averaging(&mut self) {
        if let Learner::Fused(fused) = &mut self.learner {
            fused.start_averaging();
        }
    }

    /// Replace the weights by their running mean where they are being averaged (at the end
    /// of training, before the model is kept).
    pub fn adopt_average(&mut self) {
        if let Learner::Fused(fused) = &mut self.learner {
            fused.adopt_average();
        }
    }

    /// Trade the weights for their running mean and back; false where there is none.
    fn swap_average(&mut self) -> bool {
        match &mut self.learner {
            Learner::Fused(fused) => fused.swap_average(),
            Learner::Autodiff { .. } => false,
        }
    }

    fn classes(&self) -> usize {
        match &self.learner {
            Learner::Fused(fused) => fused.config().classes,
            Learner::Autodiff { model, .. } => model.config().classes,
        }
    }

    /// One optimisation step on a batch `x` [batch, frames, features] with `targets` [batch,
    /// classes] (and, in domain-adversarial training, each row's corpus); returns its mean loss
    /// and the critic's.
    pub fn step(
        &mut self,
        x: Vec<f32>,
        targets: Vec<f32>,
        batch: usize,
        frames: usize,
        seed: u64,
        domains: Option<Domains>,
    ) -> Result<(f32, Option<f32>)> {
        if let Learner::Fused(fused) = &mut self.learner {
            return Ok(fused.step_with(&x, batch, &targets, seed, domains));
        }
        if domains.is_some() {
            return Err(TrainError::Setup("corpus labels given to a step without a corpus critic".into()));
        }
        let (loss, grads) = self.gradients(&x, &targets, batch, frames, seed)?;
        if let Learner::Autodiff { model, optimizer, learning_rate, .. } = &mut self.learner {
            // Modules share their tensors, so this clone is cheap.
            **model = optimizer.step(*learning_rate, (**model).clone(), grads);
        }
        Ok((loss, None))
    }

    /// The mean loss of a batch and its gradients, on the (first) device, where burn's
    /// autodiff trains; the fused step keeps its gradients to itself.
    pub fn gradients(
        &self,
        x: &[f32],
        targets: &[f32],
        rows: usize,
        frames: usize,
        seed: u64,
    ) -> Result<(f32, GradientsParams)> {
        let batch = Batch { x, targets, rows, frames };
        match &self.learner {
            Learner::Fused(_) => Err(TrainError::Setup("the fused step does not hand out burn gradients".into())),
            Learner::Autodiff { model, device, workers: None, .. } => {
                Ok(parallel::gradients(model, &batch, 1.0, device, seed))
            }
            Learner::Autodiff { model, workers: Some(workers), .. } => workers.gradients(model, &batch, seed),
        }
    }

    /// Inference-mode logits [batch, classes].
    fn logits(&mut self, x: Vec<f32>, batch: usize, frames: usize) -> Vec<f32> {
        match &mut self.learner {
            Learner::Fused(fused) => fused.logits(&x, batch),
            Learner::Autodiff { model, base, .. } => {
                let features = x.len() / (batch * frames).max(1);
                let x = Tensor::from_data(TensorData::new(x, [batch, frames, features]), &*base);
                model.valid().forward(x).into_data().try_to_vec::<f32>().unwrap_or_default()
            }
        }
    }

    /// Write the weights and the optimiser's state into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        match &self.learner {
            Learner::Fused(fused) => fused.save(&dir.join(FUSED_CHECKPOINT)),
            Learner::Autodiff { model, optimizer, .. } => {
                // Through `valid()`, which folds in the BatchNorm running statistics' last update:
                // burn holds it per thread until then, and `into_record` alone would miss it.
                model
                    .valid()
                    .into_record()
                    .save(dir.join("model.bpk"))
                    .map_err(|e| TrainError::Record(e.to_string()))?;
                optimizer.save(dir.join("optimizer.bpk")).map_err(|e| TrainError::Record(e.to_string()))
            }
        }
    }

    /// Restore what [`FitState::save`] wrote.
    pub fn load(&mut self, dir: &Path) -> Result<()> {
        let record = |e: &dyn std::fmt::Display| TrainError::Record(e.to_string());
        match &mut self.learner {
            Learner::Fused(fused) => fused.load(&dir.join(FUSED_CHECKPOINT)),
            Learner::Autodiff { model, optimizer, .. } => {
                let saved = burn::store::ModuleRecord::load(dir.join("model.bpk")).map_err(|e| record(&e))?;
                **model = (**model).clone().try_load_record(saved).map_err(|e| record(&e))?;
                *optimizer = adam().init().load(dir.join("optimizer.bpk")).map_err(|e| record(&e))?;
                Ok(())
            }
        }
    }
}

/// burn draws a parameter's initial value lazily, on the device it is first used on: drawn
/// here, on the CPU, the initial weights are the same on every backend.
struct DrawNow;

impl ModuleVisitor for DrawNow {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        param.val();
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
) -> Result<EpochLog> {
    let started = seconds_now();
    let epoch = state.epochs_done;
    let epoch_seed = mix(&[options.seed, fold, epoch as u64]);
    let order = if options.balance_corpora {
        balanced_order(train, &data.corpus, epoch_seed)
    } else {
        let mut order = train.to_vec();
        shuffle(&mut order, epoch_seed);
        order
    };
    if options.average_from > 0 && epoch + 1 >= options.average_from {
        state.start_averaging();
    }
    let classes = state.classes();
    let copies = data.augmented.len();
    let steps = order.len().div_ceil(options.batch_size).max(1);
    let (mut total, mut critic_total) = (0.0, None);
    for (step, batch) in order.chunks(options.batch_size).enumerate() {
        let seed = mix(&[options.seed, fold, epoch as u64, step as u64 + 1]);
        let mut targets = smoothed_targets(data, batch, classes, options.label_smoothing);
        let mut x = if copies == 0 {
            data.gather(batch)
        } else {
            // Each utterance as itself or one of its copies, drawn afresh every epoch.
            let mut draw = Draw::new(mix(&[seed, 0xc0]));
            let versions: Vec<usize> = batch.iter().map(|_| draw.below(copies + 1)).collect();
            data.gather_versions(batch, &versions)
        };
        if options.mixup > 0.0 {
            mixup(&mut x, &mut targets, batch.len(), options.mixup, &mut Draw::new(mix(&[seed, 0x31c5])));
        }
        if options.mask {
            let mut draw = Draw::new(mix(&[seed, 0x3a5c]));
            for row in x.chunks_exact_mut(data.frames * data.coeffs) {
                mask(row, data.frames, data.coeffs, &mut draw);
            }
        }
        let corpus: Vec<usize> = batch.iter().map(|&i| data.corpus[i]).collect();
        let domains = (options.adversary > 0.0).then(|| {
            let progress = (epoch as f64 + step as f64 / steps as f64) / options.epochs.max(1) as f64;
            Domains { corpus: &corpus, weight: ramp(options.adversary, progress) }
        });
        let (loss, critic) = state.step(x, targets, batch.len(), data.frames, seed, domains)?;
        total += loss as f64 * batch.len() as f64;
        if let Some(critic) = critic {
            *critic_total.get_or_insert(0.0) += critic as f64 * batch.len() as f64;
        }
    }
    state.epochs_done += 1;
    let sets: Vec<(&str, &[usize])> = evaluate.iter().filter(|(_, set)| !set.is_empty()).copied().collect();
    // While averaging, every set is scored by the average, which is what would be kept, and
    // test and validation also by the weights of the last step, beside it.
    let averaged = state.swap_average();
    let mut scores: Vec<(String, Scores)> =
        sets.iter().map(|(name, set)| (name.to_string(), score(state, data, set))).collect();
    if averaged {
        state.swap_average();
        let plain = sets.iter().filter(|(name, _)| matches!(*name, "test" | "validation"));
        scores.extend(plain.map(|(name, set)| (format!("unaveraged/{name}"), score(state, data, set))));
    }
    let rows = order.len().max(1) as f64;
    Ok(EpochLog {
        epoch: epoch + 1,
        loss: total / rows,
        seconds: seconds_now() - started,
        scores,
        critic_loss: critic_total.map(|t: f64| t / rows),
    })
}

/// An epoch's order with every corpus of `train` equally represented: as many rows as `train`
/// has, each corpus giving an equal share (its rows reshuffled whenever they run out), and the
/// corpora interleaved so that every batch holds about the same number of each.
pub fn balanced_order(train: &[usize], corpus: &[usize], seed: u64) -> Vec<usize> {
    let mut by_corpus: Vec<Vec<usize>> = Vec::new();
    let mut ids: Vec<usize> = Vec::new();
    for &i in train {
        match ids.iter().position(|&c| c == corpus[i]) {
            Some(k) => by_corpus[k].push(i),
            None => {
                ids.push(corpus[i]);
                by_corpus.push(vec![i]);
            }
        }
    }
    let k = by_corpus.len().max(1);
    let mut cursors: Vec<(usize, u64)> = vec![(0, 0); k];
    let mut order = Vec::with_capacity(train.len());
    // The corpora in a shuffled order each round, so no corpus always comes first in a batch.
    let mut round = 0u64;
    while order.len() < train.len() {
        let mut turn: Vec<usize> = (0..k).collect();
        shuffle(&mut turn, mix(&[seed, 0xba1, round]));
        for c in turn {
            if order.len() == train.len() {
                break;
            }
            let rows = &mut by_corpus[c];
            let (at, pass) = &mut cursors[c];
            if *at == 0 {
                shuffle(rows, mix(&[seed, c as u64, *pass]));
            }
            order.push(rows[*at]);
            *at += 1;
            if *at == rows.len() {
                (*at, *pass) = (0, *pass + 1);
            }
        }
        round += 1;
    }
    order
}

/// Predicted labels of `set`, in inference mode.
pub fn predict(state: &mut FitState, data: &Dataset, set: &[usize]) -> Vec<usize> {
    let classes = state.classes();
    let mut predicted = Vec::with_capacity(set.len());
    for chunk in set.chunks(64) {
        let logits = state.logits(data.gather(chunk), chunk.len(), data.frames);
        predicted.extend(logits.chunks_exact(classes).map(timnet::analysis::argmax));
    }
    predicted
}

/// Class probabilities of `rows`, in inference mode.
pub fn probabilities(state: &mut FitState, data: &Dataset, rows: &[usize]) -> Vec<Vec<f32>> {
    probabilities_of(state, data.gather(rows), rows.len(), data.frames)
}

/// The same for `batch` clips' features, [batch, frames, coeffs] row-major.
pub fn probabilities_of(state: &mut FitState, x: Vec<f32>, batch: usize, frames: usize) -> Vec<Vec<f32>> {
    let classes = state.classes();
    state.logits(x, batch, frames).chunks_exact(classes).map(timnet::analysis::softmax).collect()
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

fn is_zero_epoch(x: &usize) -> bool {
    *x == 0
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn seconds_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::balanced_order;

    #[test]
    fn balanced_batches_hold_every_corpus_alike() {
        // 10 rows of corpus 0, 90 of corpus 1.
        let corpus: Vec<usize> = (0..100).map(|i| usize::from(i >= 10)).collect();
        let train: Vec<usize> = (0..100).collect();
        let order = balanced_order(&train, &corpus, 7);
        assert_eq!(order.len(), 100);
        for batch in order.chunks(20) {
            let small = batch.iter().filter(|&&i| corpus[i] == 0).count();
            assert_eq!(small, 10, "{batch:?}");
        }
        // The small corpus is cycled through whole before any row repeats.
        let first: Vec<usize> = order.iter().copied().filter(|&i| i < 10).take(10).collect();
        let mut sorted = first.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        // A plain shuffle would give the small corpus a tenth of each batch.
        assert_ne!(order, balanced_order(&train, &corpus, 8), "each seed its own order");
    }
}
