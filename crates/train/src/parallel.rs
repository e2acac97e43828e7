//! One step's gradients over several devices, the way burn-train's multi-device strategy
//! (`MultiDevicesTrainStep`, "optimise on the main device") computes them: a long-lived worker
//! per device forks the model onto its device and back-propagates its share of the batch; burn
//! moves each share's gradients to the first device and its `GradientsAccumulator` sums them
//! there, where the optimiser then steps once.
//!
//! Why not burn's all-reduce (`DistributedContext`, burn-train's DDP): in burn 0.22 it needs a
//! runtime with a device transport, which CUDA has and wgpu has not.
//!
//! Workers live as long as the run because burn's BatchNorm keeps its running statistics per
//! thread and averages the threads' latest values on the next update: stable threads make that
//! the mean over devices, as in burn-train.

use std::ops::Range;
use std::sync::mpsc::{Receiver, Sender, channel};

use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::log_softmax;
use timnet::model::TimNet;

use crate::{Result, TrainError, mix};

/// A batch in host memory: `x` [rows, frames, features], smoothed one-hot `targets` [rows, classes].
pub struct Batch<'a> {
    pub x: &'a [f32],
    pub targets: &'a [f32],
    pub rows: usize,
    pub frames: usize,
}

impl Batch<'_> {
    fn features(&self) -> usize {
        self.x.len() / (self.rows * self.frames).max(1)
    }

    fn classes(&self) -> usize {
        self.targets.len() / self.rows.max(1)
    }

    /// A copy of the batch's rows `rows`: (x, targets).
    fn copy_rows(&self, rows: &Range<usize>) -> (Vec<f32>, Vec<f32>) {
        let (x_row, y_row) = (self.frames * self.features(), self.classes());
        (
            self.x[rows.start * x_row..rows.end * x_row].to_vec(),
            self.targets[rows.start * y_row..rows.end * y_row].to_vec(),
        )
    }
}

/// The batch's loss on `device` (cross-entropy against the smoothed targets, times `weight`:
/// a share's part of the whole batch, so that the shares' gradients sum to the batch's) and its
/// gradients. `device.seed(seed)` first: the dropout masks.
pub fn gradients(model: &TimNet, batch: &Batch, weight: f32, device: &Device, seed: u64) -> (f32, GradientsParams) {
    device.seed(seed);
    let (features, classes) = (batch.features(), batch.classes());
    let x = Tensor::from_data(TensorData::new(batch.x.to_vec(), [batch.rows, batch.frames, features]), device);
    let y = Tensor::from_data(TensorData::new(batch.targets.to_vec(), [batch.rows, classes]), device);
    let mut loss = -(log_softmax(model.forward(x), 1) * y).sum_dim(1).mean();
    if weight != 1.0 {
        loss = loss.mul_scalar(weight);
    }
    let value: f32 = loss.clone().into_scalar();
    (value, GradientsParams::from_grads(loss.backward(), model))
}

/// Rows `0..rows` cut into `parts` consecutive shares whose sizes differ by at most one; empty
/// shares are left out.
pub fn shares(rows: usize, parts: usize) -> Vec<Range<usize>> {
    let parts = parts.max(1);
    let (size, extra) = (rows / parts, rows % parts);
    let mut start = 0;
    (0..parts)
        .map(|i| {
            let end = start + size + usize::from(i < extra);
            let range = start..end;
            start = end;
            range
        })
        .filter(|r| !r.is_empty())
        .collect()
}

struct Job {
    model: TimNet,
    x: Vec<f32>,
    targets: Vec<f32>,
    rows: usize,
    frames: usize,
    weight: f32,
    seed: u64,
    main: Device,
    reply: Sender<std::result::Result<(f32, GradientsParams), String>>,
}

/// The worker threads, one per device; the first device is where gradients are summed.
pub struct Workers {
    devices: Vec<Device>,
    jobs: Vec<Sender<Job>>,
}

impl Workers {
    /// A worker for each of `devices` (autodiff devices, the first the main one).
    pub fn start(devices: Vec<Device>) -> Self {
        let jobs = devices
            .iter()
            .map(|device| {
                let (send, receive) = channel::<Job>();
                let device = device.clone();
                std::thread::spawn(move || work(device, receive));
                send
            })
            .collect();
        Self { devices, jobs }
    }

    /// The main device, where the summed gradients are and the optimiser steps.
    pub fn main(&self) -> &Device {
        &self.devices[0]
    }

    /// The mean loss of `batch` and its gradients on the main device, each device taking a
    /// share of the rows; device `i` draws its dropout masks from (seed, i).
    pub fn gradients(&self, model: &TimNet, batch: &Batch, seed: u64) -> Result<(f32, GradientsParams)> {
        let (reply, replies) = channel();
        let shares = shares(batch.rows, self.devices.len());
        for (i, rows) in shares.iter().enumerate() {
            let (x, targets) = batch.copy_rows(rows);
            let job = Job {
                model: model.clone(),
                x,
                targets,
                rows: rows.len(),
                frames: batch.frames,
                weight: rows.len() as f32 / batch.rows as f32,
                seed: mix(&[seed, i as u64]),
                main: self.main().clone(),
                reply: reply.clone(),
            };
            self.jobs[i].send(job).map_err(|_| stopped(i))?;
        }
        drop(reply);
        let mut loss = 0.0;
        let mut sum = GradientsAccumulator::new();
        for _ in &shares {
            // A worker that died has dropped its reply sender; once all are gone, `recv` fails.
            let (share_loss, grads) = replies.recv().map_err(|_| stopped(0))?.map_err(TrainError::Setup)?;
            loss += share_loss;
            sum.accumulate(model, grads);
        }
        Ok((loss, sum.grads()))
    }
}

fn stopped(device: usize) -> TrainError {
    TrainError::Setup(format!("the worker of training device {device} has stopped"))
}

/// A worker's loop: fork the model onto its device, back-propagate its share, move the
/// gradients to the main device. A panic inside burn becomes an error in words.
fn work(device: Device, jobs: Receiver<Job>) {
    while let Ok(job) = jobs.recv() {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let model = job.model.fork(&device);
            let share = Batch { x: &job.x, targets: &job.targets, rows: job.rows, frames: job.frames };
            let (loss, grads) = gradients(&model, &share, job.weight, &device, job.seed);
            (loss, grads.to_device(&job.main, &model))
        }));
        let result = result.map_err(|panic| {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no reason given".into());
            format!("training device {device:?} failed: {why}")
        });
        let _ = job.reply.send(result);
    }
}

#[cfg(test)]
mod tests {
    use super::shares;

    #[test]
    fn shares_cover_the_rows_once_and_differ_by_at_most_one() {
        assert_eq!(shares(5, 2), vec![0..3, 3..5]);
        assert_eq!(shares(2, 3), vec![0..1, 1..2]);
        assert_eq!(shares(0, 2), Vec::<std::ops::Range<usize>>::new());
        for (rows, parts) in [(64, 3), (7, 7), (1024, 5), (9, 1)] {
            let cut = shares(rows, parts);
            assert_eq!(cut.first().unwrap().start, 0);
            assert_eq!(cut.last().unwrap().end, rows);
            assert!(cut.windows(2).all(|w| w[0].end == w[1].start));
            let sizes: Vec<usize> = cut.iter().map(|r| r.len()).collect();
            assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1, "{sizes:?}");
        }
    }
}
