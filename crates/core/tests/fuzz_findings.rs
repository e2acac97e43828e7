//! Every input the fuzzers (fuzz/) ever crashed on, kept in tests/fixtures/fuzz/: each now gets
//! an error in words or an analysis whose probabilities are a distribution.
#![cfg(not(target_arch = "wasm32"))]

use timnet_testkit as common;

use burn::prelude::Device;
use timnet::analysis::{Analyzer, block_on};
use timnet::audio::prepare;

#[test]
fn every_input_the_fuzzers_crashed_on_gets_a_sane_answer() {
    let root = common::workspace_dir();
    let device = Device::flex();
    let analyzer = Analyzer::new(common::shipped_weights(&device), device);
    let mut files: Vec<_> =
        std::fs::read_dir(root.join("tests/fixtures/fuzz")).unwrap().flatten().map(|e| e.path()).collect();
    files.sort();
    assert!(!files.is_empty(), "the findings are kept in tests/fixtures/fuzz");
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        match prepare(&std::fs::read(&path).unwrap()) {
            Err(e) => println!("{name}: refused: {e}"),
            Ok(prepared) => {
                let analysis = block_on(analyzer.analyse(&prepared)).expect("the CPU answers");
                let total: f32 = analysis.probabilities.iter().sum();
                println!("{name}: {:?}, notes {:?}", analysis.top(), analysis.notes);
                assert!(
                    analysis.probabilities.iter().all(|p| (0.0..=1.0).contains(p)),
                    "{name}: {:?}",
                    analysis.probabilities
                );
                assert!((total - 1.0).abs() < 1e-4, "{name}: probabilities sum to {total}");
            }
        }
    }
}
