//! Any bytes down the path a dropped file takes: decode → mono → 22,050 Hz → clip windows →
//! MFCC → network, with the shipped weights. An error is a fine answer (it is how broken input
//! is refused); a panic, a hang, or probabilities that are not a distribution are findings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use timnet::analysis::{Analyzer, block_on};
use timnet::audio::prepare;
use timnet::burn::prelude::Device;
use timnet::weights::Weights;

#[path = "ogg.rs"]
mod ogg;

const SIDECAR: &str = include_str!("../../model-weights/emodb/model.json");
const RECORD: &[u8] = include_bytes!("../../model-weights/emodb/model.bpk");

thread_local! {
    static ANALYZER: Analyzer = {
        let device = Device::flex();
        Analyzer::new(Weights::from_bytes(SIDECAR, RECORD, &device).expect("the shipped weights load"), device)
    };
}

fuzz_target!(|bytes: &[u8]| {
    let bytes = ogg::with_checksums(bytes);
    let Ok(prepared) = prepare(&bytes) else { return };
    let analysis = ANALYZER.with(|a| block_on(a.analyse(&prepared))).expect("the CPU device always answers");
    // The file analysed as it is decoded gives the same answer, window for window.
    let streamed = ANALYZER.with(|a| a.analyse_bytes(&bytes)).expect("what prepares also streams");
    assert_eq!(streamed.windows.len(), analysis.windows.len());
    for (s, w) in streamed.windows.iter().zip(&analysis.windows) {
        let worst = s.probabilities.iter().zip(&w.probabilities).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst <= 1e-5, "a streamed window differs by {worst}");
    }
    let sum: f32 = analysis.probabilities.iter().sum();
    assert!(analysis.probabilities.iter().all(|p| (0.0..=1.0).contains(p)), "{:?}", analysis.probabilities);
    assert!((sum - 1.0).abs() < 1e-3, "probabilities sum to {sum}");
});
