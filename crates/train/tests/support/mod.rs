//! What this crate's tests share.
#![allow(dead_code)]

use std::path::Path;

use timnet::model::TimNetConfig;
use timnet_train::corpus::CorpusKind;
use timnet_train::fit::{Backend, EpochLog, FitOptions};
use timnet_train::run::{CorpusSpec, Progress, Protocol, Run, RunConfig};

/// A small, quick run on a folder corpus: one-second clips, four blocks.
pub fn run_config(corpus_dir: &Path, protocol: Protocol, epochs: usize) -> RunConfig {
    mix_config(&[corpus_dir], protocol, epochs)
}

/// The same over several folder corpora, mixed.
pub fn mix_config(dirs: &[&Path], protocol: Protocol, epochs: usize) -> RunConfig {
    let corpora = dirs.iter().map(|d| CorpusSpec { corpus: CorpusKind::Folder, dir: d.to_path_buf() }).collect();
    let fit = FitOptions { epochs, batch_size: 16, ..FitOptions::default() };
    RunConfig {
        // One second: short clips keep the tests quick.
        clip_samples: Some(22_050),
        command: "test".into(),
        ..RunConfig::new(corpora, protocol, TimNetConfig { tabs: 4, ..Default::default() }, fit)
    }
}

/// Prints each epoch, so that a failing test shows how training went.
pub struct Quiet;

impl Progress for Quiet {
    fn epoch(&mut self, log: &EpochLog) {
        println!(
            "epoch {} loss {:.4} {:?}",
            log.epoch,
            log.loss,
            log.scores.iter().map(|(n, s)| (n, s.war)).collect::<Vec<_>>()
        );
    }
}

/// Stops the run after `after` epochs, as Ctrl-C does.
pub struct StopAfter {
    pub after: usize,
    pub seen: usize,
}

impl Progress for StopAfter {
    fn epoch(&mut self, _: &EpochLog) {
        self.seen += 1;
    }
    fn interrupted(&self) -> bool {
        self.seen >= self.after
    }
}

/// The logits of a fixed batch of `rows` rows, from a run's weights read on the CPU.
pub fn logits(dir: &Path, rows: usize) -> Vec<f32> {
    use burn::prelude::*;
    use burn::tensor::TensorData;
    let device = Device::flex();
    let weights = timnet::weights::Weights::load(dir, &device).unwrap();
    let x: Vec<f32> = (0..rows * 50 * 39).map(|i| ((i * 37 % 101) as f32 - 50.0) / 5.0).collect();
    let input = Tensor::<3>::from_data(TensorData::new(x, [rows, 50, 39]), &device);
    weights.model.forward(input).into_data().try_to_vec::<f32>().unwrap()
}

/// Class probabilities of a fixed batch of four rows, from a run's weights read on the CPU.
pub fn probabilities(dir: &Path) -> Vec<f32> {
    let logits = logits(dir, 4);
    let classes = logits.len() / 4;
    logits.chunks_exact(classes).flat_map(timnet::analysis::softmax).collect()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Two epochs on the folder corpus at `corpus_dir` on `backend`, with `dropout`.
pub fn two_epochs(corpus_dir: &Path, backend: Backend, dropout: f64) -> RunConfig {
    let mut config = run_config(corpus_dir, Protocol::Final, 2);
    config.fit.backend = backend;
    config.model.dropout = dropout;
    config
}

/// `config` trained into `dir` to its end: the probabilities its weights give.
pub fn trained(dir: &Path, config: RunConfig) -> Vec<f32> {
    Run::prepare(dir, config, false, false).unwrap().execute(&mut Quiet, None).unwrap().unwrap();
    probabilities(&dir.join("weights"))
}

/// `config` stopped after one epoch in `dir`, then resumed to its end: the probabilities.
pub fn stopped_and_resumed(dir: &Path, config: RunConfig) -> Vec<f32> {
    let stopped = Run::prepare(dir, config.clone(), false, false).unwrap();
    assert!(stopped.execute(&mut StopAfter { after: 1, seen: 0 }, None).unwrap().is_none(), "stopped after one epoch");
    Run::prepare(dir, config, false, true).unwrap().execute(&mut Quiet, None).unwrap().unwrap();
    probabilities(&dir.join("weights"))
}
