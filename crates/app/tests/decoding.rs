//! The page's decoding path (wasm32 only) against the same table of broken, hostile and unusual
//! files as the CLI (timnet-testkit's hostile.rs): each is refused with a message the page shows, or
//! analysed, with the note the CLI gives.
#![cfg(all(target_arch = "wasm32", feature = "engine"))]

use timnet_app::engine::Preference;
use timnet_testkit::hostile::{self, Case, Expect};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

mod common;

#[wasm_bindgen_test]
async fn every_hostile_or_unusual_file_gets_a_sane_answer_in_the_page() {
    let engine = common::started(timnet::weights::shipped::DEFAULT, Preference::Cpu).await;
    for Case { name, bytes, expect } in hostile::cases() {
        let prepared = common::prepared(&bytes).await;
        match expect {
            Expect::Refused(message) => {
                let error = prepared.err().unwrap_or_else(|| panic!("{name} must be refused"));
                assert!(error.to_string().contains(message), "{name}: {error}");
            }
            Expect::Analysed(note) => {
                let prepared = prepared.unwrap_or_else(|e| panic!("{name}: {e}"));
                let analysis = engine.analyzer.analyse(&prepared).await.expect("analysis");
                let total: f32 = analysis.probabilities.iter().sum();
                assert!((total - 1.0).abs() < 1e-4, "{name}: probabilities sum to {total}");
                if note.is_empty() {
                    assert!(analysis.notes.is_empty(), "{name}: unexpected notes {:?}", analysis.notes);
                } else {
                    assert!(analysis.notes.iter().any(|n| n.contains(note)), "{name}: notes {:?}", analysis.notes);
                }
                let windows =
                    hostile::expected_windows(analysis.seconds as f64, engine.analyzer.weights().sidecar.clip_samples);
                assert_eq!(analysis.windows.len(), windows, "{name}: {} s", analysis.seconds);
            }
        }
    }
}
