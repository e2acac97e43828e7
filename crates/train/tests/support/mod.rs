//! What this crate's tests share.
#![allow(dead_code)]

use std::path::Path;

use timnet::model::TimNetConfig;
use timnet_train::corpus::CorpusKind;
use timnet_train::fit::{EpochLog, FitOptions};
use timnet_train::run::{CorpusSpec, Progress, Protocol, RunConfig};

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
