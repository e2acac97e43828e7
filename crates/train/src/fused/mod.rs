//! A fused TIM-Net training step for the CPU: the forward and backward passes written out by
//! hand over flat f32 buffers, with the convolutions as matmuls (AVX2 kernels for 39-wide rows
//! in `narrow`, gemm elsewhere) and BatchNorm, ReLU, spatial dropout and the gate each done in
//! one pass.
//!
//! Why: burn's autodiff step on its CPU backend takes about 3.6x the Keras reference's time
//! per batch here, which puts the paper's 500-epoch runs out of reach. The network is small
//! (39 channels) and its two directions are independent until the time-means g_j, so each
//! direction runs on its own core.
//!
//! This is the same network as [`timnet::model::TimNet`], weight for weight: the parameters
//! live in the Keras reference's layout and convert to and from the burn model, which stays
//! the one that infers everywhere (native and in the page). Tests hold the two together and
//! to Keras's gradients (tests/fused_step.rs).

mod adam;
pub mod average;
pub mod critic;
mod narrow;
mod network;
mod ops;

use std::path::Path;

use std::collections::HashMap;

use burn::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use self::adam::Adam;
pub use self::adam::Epsilon;
use self::average::Average;
use self::critic::{Critic, Judgement};
use self::network::{Direction, Geometry};
use self::ops::Shape;
use crate::error::write_atomic;
use crate::{Result, TrainError};
use timnet::model::params::Span;
use timnet::model::{KerasImportError, KerasWeights, ParamTable, TimNet, TimNetConfig, batch_norm};

/// The network's weights in one flat vector, the optimiser's state, and scratch space.
pub struct FusedTrainer {
    config: TimNetConfig,
    layout: ParamTable,
    /// The spans the optimiser updates (everything but the moving statistics).
    trainable: Vec<Span>,
    /// Every weight, in the parameter table's order (Keras's).
    params: Vec<f32>,
    adam: Adam,
    directions: Vec<Direction>,
    direction_grads: Vec<Vec<f32>>,
    /// For domain-adversarial training: the corpus critic reading the fused vector.
    critic: Option<Critic>,
    /// Once started, the running mean of `params` after every step ([`average`]).
    average: Option<Average>,
}

/// What one training-mode pass computed.
pub struct Pass {
    pub loss: f32,
    pub logits: Vec<f32>,
    /// dL/d(every weight), in the parameter layout (zero for the moving statistics); with a
    /// critic, the emotion loss's gradient less the critic's, weighted.
    pub grads: Vec<f32>,
    /// The critic's verdict, where the pass had one.
    pub critic: Option<Judgement>,
}

/// Each row's corpus, and the weight with which the critic's gradient reaches the network,
/// reversed.
#[derive(Debug, Clone, Copy)]
pub struct Domains<'a> {
    pub corpus: &'a [usize],
    pub weight: f32,
}

impl FusedTrainer {
    /// Start from `model`'s weights, with a fresh optimiser.
    pub fn new(model: &TimNet, learning_rate: f64) -> Self {
        let config = model.config().clone();
        let weights = KerasWeights::from_model(model);
        let layout = weights.table().clone();
        Self {
            adam: Adam::new(layout.total, learning_rate),
            config,
            params: weights.into_flat(),
            directions: layout.directions.iter().map(|d| Direction::new(d.reversed)).collect(),
            direction_grads: vec![Vec::new(); layout.directions.len()],
            trainable: layout.trainable(),
            layout,
            critic: None,
            average: None,
        }
    }

    /// Add a corpus critic over `corpora` corpora, drawn from `seed`, learning at the network's
    /// rate (domain-adversarial training: see [`critic`]).
    pub fn set_critic(&mut self, corpora: usize, seed: u64) {
        self.critic = Some(Critic::new(self.config.filters, corpora, self.adam.learning_rate, seed));
    }

    /// The burn model with these weights (for inference, scoring and saving).
    pub fn model(&self, device: &Device) -> std::result::Result<TimNet, KerasImportError> {
        KerasWeights::from_table_order(&self.config, self.params.clone())?.apply(self.config.init(device))
    }

    pub fn config(&self) -> &TimNetConfig {
        &self.config
    }

    pub fn steps(&self) -> u64 {
        self.adam.t
    }

    /// Every weight, in the parameter table's order.
    pub fn params(&self) -> &[f32] {
        &self.params
    }

    /// From now on, fold the weights after every step into a running mean (no-op when
    /// already averaging).
    pub fn start_averaging(&mut self) {
        if self.average.is_none() {
            self.average = Some(Average::new(self.params.len()));
        }
    }

    /// The running mean of the weights, once averaging has started and taken a step.
    pub fn average(&self) -> Option<&Average> {
        self.average.as_ref().filter(|a| a.steps() > 0)
    }

    /// Trade the weights for their running mean and back (to score the average, or to adopt
    /// it for good with [`FusedTrainer::adopt_average`]); false where there is no average yet.
    pub fn swap_average(&mut self) -> bool {
        match &mut self.average {
            Some(average) if average.steps() > 0 => {
                std::mem::swap(&mut self.params, &mut average.params);
                true
            }
            _ => false,
        }
    }

    /// Replace the weights by their running mean, which ends the averaging.
    pub fn adopt_average(&mut self) {
        if self.swap_average() {
            self.average = None;
        }
    }

    /// Where the optimiser adds ε (Keras's place by default; burn's for comparison).
    pub fn set_epsilon(&mut self, epsilon: Epsilon) {
        self.adam.epsilon_at = epsilon;
    }

    fn geometry(&self) -> Geometry {
        Geometry {
            features: self.config.features,
            filters: self.config.filters,
            kernel: self.config.kernel,
            residual: self.config.ablations.tcn,
        }
    }

    fn shape(&self, x: &[f32], batch: usize) -> Shape {
        let frames = x.len() / (batch.max(1) * self.config.features);
        assert_eq!(x.len(), batch * frames * self.config.features, "input is not [batch, frames, features]");
        Shape { batch, frames }
    }

    /// Inference-mode logits [batch, classes] of MFCCs [batch, frames, features].
    pub fn logits(&mut self, x: &[f32], batch: usize) -> Vec<f32> {
        let shape = self.shape(x, batch);
        self.run_directions(x, shape, None);
        self.head(shape).0
    }

    /// Forward and backward in training mode on one batch, with targets [batch, classes]
    /// (already smoothed) and spatial-dropout masks drawn from `seed`. Updates the BatchNorm
    /// moving statistics as Keras does; leaves the other weights alone.
    pub fn pass(&mut self, x: &[f32], batch: usize, targets: &[f32], seed: u64) -> Pass {
        self.pass_with(x, batch, targets, seed, None)
    }

    /// [`FusedTrainer::pass`], with the critic judging each row's corpus where `domains` are
    /// given (the trainer must have a critic then).
    pub fn pass_with(&mut self, x: &[f32], batch: usize, targets: &[f32], seed: u64, domains: Option<Domains>) -> Pass {
        let shape = self.shape(x, batch);
        let masks = self.dropout_masks(batch, seed);
        self.run_directions(x, shape, Some(&masks));
        let (logits, scales, fused) = self.head(shape);
        let classes = self.config.classes;
        let (f, tabs) = (self.config.filters, self.config.tabs);

        // Softmax cross-entropy: dL/dlogits = (p - y) / batch.
        let mut loss = 0.0f64;
        let mut d_logits = vec![0.0f32; batch * classes];
        for ((row, y), d) in
            logits.chunks_exact(classes).zip(targets.chunks_exact(classes)).zip(d_logits.chunks_exact_mut(classes))
        {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let log_sum = row.iter().map(|&l| ((l - max) as f64).exp()).sum::<f64>().ln() + max as f64;
            for k in 0..classes {
                let log_p = row[k] as f64 - log_sum;
                loss -= y[k] as f64 * log_p;
                d[k] = ((log_p.exp() - y[k] as f64) / batch as f64) as f32;
            }
        }
        let mut grads = vec![0.0f32; self.layout.total];
        let (wk, wb) = (self.layout.head.kernel, self.layout.head.bias);
        let dense = wk.slice(&self.params);
        let mut d_fused = vec![0.0f32; batch * f];
        for b in 0..batch {
            for c in 0..f {
                for k in 0..classes {
                    let d = d_logits[b * classes + k];
                    grads[wk.start + c * classes + k] += fused[b * f + c] * d;
                    d_fused[b * f + c] += d * dense[c * classes + k];
                }
            }
            for k in 0..classes {
                grads[wb.start + k] += d_logits[b * classes + k];
            }
        }
        let critic = domains.map(|domains| {
            let critic = self.critic.as_ref().expect("corpus labels given to a trainer without a critic");
            let judged = critic.judge(&fused, domains.corpus);
            // The gradient reversal: the network descends the emotion loss and ascends the critic's.
            for (d, c) in d_fused.iter_mut().zip(&judged.d_input) {
                *d -= domains.weight * c;
            }
            judged
        });
        let weights = self.fusion_weights();
        if let Some(span) = self.layout.fusion {
            for (j, scale) in scales.iter().enumerate() {
                grads[span.start + j] = scale.iter().zip(&d_fused).map(|(g, d)| g * d).sum();
            }
        }
        let frames = shape.frames as f32;
        let d_scales: Vec<Vec<f32>> =
            (0..tabs).map(|j| d_fused.iter().map(|d| d * weights[j] / frames).collect()).collect();

        let geo = self.geometry();
        let params = &self.params;
        let layout = &self.layout;
        let jobs = self.directions.iter_mut().zip(self.direction_grads.iter_mut()).zip(&layout.directions);
        both_cores(jobs, |((direction, g), at)| {
            g.clear();
            g.resize(layout.total, 0.0);
            direction.backward(params, at, geo, &d_scales, shape, g);
        });
        for g in &self.direction_grads {
            for (total, part) in grads.iter_mut().zip(g) {
                *total += part;
            }
        }
        self.update_moving_statistics();
        Pass { loss: (loss / batch.max(1) as f64) as f32, logits, grads, critic }
    }

    /// One optimisation step; returns the batch's loss.
    pub fn step(&mut self, x: &[f32], batch: usize, targets: &[f32], seed: u64) -> f32 {
        self.step_with(x, batch, targets, seed, None).0
    }

    /// [`FusedTrainer::step`], where `domains` are given also a step of the critic; returns
    /// the batch's loss and the critic's.
    pub fn step_with(
        &mut self,
        x: &[f32],
        batch: usize,
        targets: &[f32],
        seed: u64,
        domains: Option<Domains>,
    ) -> (f32, Option<f32>) {
        let pass = self.pass_with(x, batch, targets, seed, domains);
        self.adam.step(&mut self.params, &pass.grads, &self.trainable);
        if let Some(average) = &mut self.average {
            average.add(&self.params);
        }
        if let (Some(critic), Some(judged)) = (&mut self.critic, &pass.critic) {
            critic.learn(&judged.grads);
        }
        (pass.loss, pass.critic.map(|judged| judged.loss))
    }

    fn run_directions(&mut self, x: &[f32], shape: Shape, masks: Option<&[Vec<[Vec<f32>; 2]>]>) {
        let geo = self.geometry();
        let params = &self.params;
        let jobs = self.directions.iter_mut().zip(&self.layout.directions).enumerate();
        both_cores(jobs, |(i, (direction, at))| {
            direction.forward(params, at, geo, x, shape, masks.map(|m| m[i].as_slice()));
        });
    }

    /// The time-means g_j, their fusion and the dense layer: (logits, g_j per block, fused).
    fn head(&self, shape: Shape) -> (Vec<f32>, Vec<Vec<f32>>, Vec<f32>) {
        let (f, classes) = (self.config.filters, self.config.classes);
        let frames = shape.frames as f32;
        let weights = self.fusion_weights();
        let mut scales = Vec::with_capacity(self.config.tabs);
        let mut fused = vec![0.0f32; shape.batch * f];
        for (j, &weight) in weights.iter().enumerate() {
            let mut g = vec![0.0f32; shape.batch * f];
            for direction in &self.directions {
                let state = &direction.states[j + 1];
                for b in 0..shape.batch {
                    for row in state[b * shape.frames * f..(b + 1) * shape.frames * f].chunks_exact(f) {
                        for (s, &v) in g[b * f..(b + 1) * f].iter_mut().zip(row) {
                            *s += v;
                        }
                    }
                }
            }
            g.iter_mut().for_each(|v| *v /= frames);
            for (u, &v) in fused.iter_mut().zip(&g) {
                *u += weight * v;
            }
            scales.push(g);
        }
        let dense = self.layout.head.kernel.slice(&self.params);
        let bias = self.layout.head.bias.slice(&self.params);
        let mut logits = Vec::with_capacity(shape.batch * classes);
        for b in 0..shape.batch {
            for k in 0..classes {
                logits.push(bias[k] + (0..f).map(|c| fused[b * f + c] * dense[c * classes + k]).sum::<f32>());
            }
        }
        (logits, scales, fused)
    }

    fn fusion_weights(&self) -> Vec<f32> {
        match (self.layout.fusion, self.config.fixed_fusion()) {
            (Some(span), _) => span.slice(&self.params).to_vec(),
            (None, Some(fixed)) => fixed,
            (None, None) => vec![1.0 / self.config.tabs as f32; self.config.tabs],
        }
    }

    /// Keras's SpatialDropout1D masks for every block and sub-block of every direction, one
    /// draw per (sample, channel), kept channels scaled by 1 / (1 - p).
    pub fn dropout_masks(&self, batch: usize, seed: u64) -> Vec<Vec<[Vec<f32>; 2]>> {
        let (f, p) = (self.config.filters, self.config.dropout);
        let keep = 1.0 - p;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut draw = || -> Vec<f32> {
            (0..batch * f)
                .map(|_| if p == 0.0 || rng.random::<f64>() < keep { (1.0 / keep) as f32 } else { 0.0 })
                .collect()
        };
        (0..self.directions.len()).map(|_| (0..self.config.tabs).map(|_| [draw(), draw()]).collect()).collect()
    }

    /// moving ← moving - (moving - batch statistic)·(1 - momentum), as Keras assigns it.
    fn update_moving_statistics(&mut self) {
        let decay = (1.0 - batch_norm::MOMENTUM) as f32;
        for (direction, at) in self.directions.iter().zip(&self.layout.directions) {
            let norms = at.blocks.iter().flat_map(|b| b.norms.iter());
            for (norm, (mean, var)) in norms.zip(direction.moments()) {
                for (span, values) in [(norm.mean, mean), (norm.var, var)] {
                    for (m, &v) in self.params[span.start..span.end()].iter_mut().zip(values) {
                        *m -= (*m - v) * decay;
                    }
                }
            }
        }
    }

    /// The weights and the optimiser's state, for a checkpoint: a safetensors file of three
    /// flat f32 tensors in the parameter table's order, the step count in its metadata.
    pub fn save(&self, file: &Path) -> Result<()> {
        let as_bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let mut buffers = vec![
            ("params", as_bytes(&self.params)),
            ("adam.m", as_bytes(&self.adam.m)),
            ("adam.v", as_bytes(&self.adam.v)),
        ];
        let mut metadata = HashMap::from([(STEPS.to_string(), self.adam.t.to_string())]);
        if let Some(critic) = &self.critic {
            buffers.push((CRITIC[0], as_bytes(&critic.params)));
            buffers.push((CRITIC[1], as_bytes(&critic.adam.m)));
            buffers.push((CRITIC[2], as_bytes(&critic.adam.v)));
            metadata.insert(CRITIC_STEPS.to_string(), critic.adam.t.to_string());
        }
        if let Some(average) = &self.average {
            buffers.push((AVERAGE, as_bytes(&average.params)));
            metadata.insert(AVERAGE_STEPS.to_string(), average.steps.to_string());
        }
        let mut views = Vec::new();
        for (name, bytes) in &buffers {
            let view =
                TensorView::new(Dtype::F32, vec![bytes.len() / 4], bytes).map_err(|e| TrainError::damaged(file, e))?;
            views.push((*name, view));
        }
        let bytes = safetensors::serialize(views, Some(metadata)).map_err(|e| TrainError::damaged(file, e))?;
        write_atomic(file, &bytes)
    }

    /// Restore what [`FusedTrainer::save`] wrote, for the same network.
    pub fn load(&mut self, file: &Path) -> Result<()> {
        let bytes = std::fs::read(file).map_err(TrainError::io(file))?;
        let not_ours =
            |e: &dyn std::fmt::Display| TrainError::damaged(file, format!("not a fused-trainer checkpoint ({e})"));
        let (_, metadata) = SafeTensors::read_metadata(&bytes).map_err(|e| not_ours(&e))?;
        let metadata = metadata.metadata().clone().unwrap_or_default();
        let steps_of = |key: &str| metadata.get(key).and_then(|t| t.parse::<u64>().ok());
        let steps = steps_of(STEPS).ok_or_else(|| not_ours(&"no step count"))?;
        let tensors = SafeTensors::deserialize(&bytes).map_err(|e| not_ours(&e))?;
        let read = |name: &str, n: usize| -> Result<Vec<f32>> {
            let view = tensors.tensor(name).map_err(|e| not_ours(&e))?;
            if view.dtype() != Dtype::F32 {
                return Err(not_ours(&format!("{name} is {:?}", view.dtype())));
            }
            let stored = view.data().len() / 4;
            if stored != n {
                return Err(TrainError::damaged(
                    file,
                    format!("holds another network's weights ({stored} values in {name}; this one has {n})"),
                ));
            }
            Ok(view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        };
        let n = self.params.len();
        let (params, m, v) = (read("params", n)?, read("adam.m", n)?, read("adam.v", n)?);
        let critic = match &self.critic {
            Some(critic) => {
                let n = critic.params.len();
                let steps = steps_of(CRITIC_STEPS)
                    .ok_or_else(|| TrainError::damaged(file, "holds no corpus critic (trained without one)"))?;
                Some((read(CRITIC[0], n)?, read(CRITIC[1], n)?, read(CRITIC[2], n)?, steps))
            }
            None => None,
        };
        // A checkpoint taken before averaging began holds none.
        let average = match steps_of(AVERAGE_STEPS) {
            Some(steps) => Some(Average { params: read(AVERAGE, n)?, steps }),
            None => None,
        };
        (self.params, self.adam.m, self.adam.v, self.adam.t) = (params, m, v, steps);
        self.average = average;
        if let (Some(critic), Some(saved)) = (&mut self.critic, critic) {
            (critic.params, critic.adam.m, critic.adam.v, critic.adam.t) = saved;
        }
        Ok(())
    }
}

/// The metadata key of the optimiser's step count.
const STEPS: &str = "adam.steps";
/// The corpus critic's weights and optimiser state, and its step count.
const CRITIC: [&str; 3] = ["critic.params", "critic.adam.m", "critic.adam.v"];
const CRITIC_STEPS: &str = "critic.adam.steps";
/// The running mean of the weights, and how many steps it is over.
const AVERAGE: &str = "average.params";
const AVERAGE_STEPS: &str = "average.steps";

/// Run `work` on each job, the first on this thread and the rest on their own threads (one per
/// direction: two at most).
fn both_cores<J: Send, I: Iterator<Item = J>>(jobs: I, work: impl Fn(J) + Sync) {
    std::thread::scope(|scope| {
        let mut jobs = jobs;
        let first = jobs.next();
        let work = &work;
        let handles: Vec<_> = jobs.map(|job| scope.spawn(move || work(job))).collect();
        if let Some(job) = first {
            work(job);
        }
        for handle in handles {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
}
