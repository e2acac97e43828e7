//! Any sidecar JSON beside the shipped weight record: what `timnet --weights DIR` and the
//! page's weight loader read. A sidecar from another configuration, or a damaged one, must be
//! refused in words, never by a panic or by allocating without bound; one that loads must then
//! analyse a clip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use timnet::analysis::{Analyzer, block_on};
use timnet::audio::prepare_samples;
use timnet::burn::prelude::Device;
use timnet::weights::Weights;

const RECORD: &[u8] = include_bytes!("../../model-weights/emodb/model.bpk");

fuzz_target!(|bytes: &[u8]| {
    let Ok(json) = std::str::from_utf8(bytes) else { return };
    let device = Device::flex();
    let Ok(weights) = Weights::from_bytes(json, RECORD, &device) else { return };
    // A quarter second of a 220 Hz tone at 16 kHz.
    let tone: Vec<f32> = (0..4_000).map(|i| 0.3 * (i as f32 * 220.0 * std::f32::consts::TAU / 16_000.0).sin()).collect();
    let prepared = prepare_samples(&tone, 1, 16_000).expect("a tone is valid audio");
    let analysis = block_on(Analyzer::new(weights, device).analyse(&prepared)).expect("the CPU device always answers");
    assert!(analysis.probabilities.iter().all(|p| (0.0..=1.0).contains(p)), "{:?}", analysis.probabilities);
});
