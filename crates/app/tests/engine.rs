//! The page's engine in a real browser (wasm32 only): asked for the GPU it runs WebGPU exactly
//! when the browser offers an adapter; left to itself it times the two and says why it chose;
//! without an adapter it falls back to the CPU by itself. Either way it analyses a file with the
//! shipped weights through the same decoder, resampler and MFCC as the CLI.
#![cfg(all(target_arch = "wasm32", feature = "engine"))]

use timnet::audio::AudioError;
use timnet::weights::shipped;
use timnet_app::engine::{Backend, Preference, webgpu_adapter};
use timnet_app::error::PageError;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

mod common;

const EMODB_ANGRY: &[u8] = timnet_testkit::fixture_bytes!("corpus/emodb_03a01Wa.wav");
const EMODB_HAPPY: &[u8] = timnet_testkit::fixture_bytes!("corpus/emodb_03a01Fa.wav");

#[wasm_bindgen_test]
async fn engine_runs_webgpu_when_asked_and_offered_and_analyses_a_file() {
    let adapter = webgpu_adapter().await.is_ok();
    let engine = common::started(&shipped::EMODB, Preference::Gpu).await;
    console_log!("app: backend {} (adapter offered: {adapter}; note: {:?})", engine.backend, engine.note);
    if adapter {
        assert_eq!(engine.backend, Backend::WebGpu, "{:?}", engine.note);
    } else {
        assert_eq!(engine.backend, Backend::Cpu);
        assert!(engine.note.as_deref().is_some_and(|n| n.contains("CPU")), "{:?}", engine.note);
    }
    let prepared = common::prepared(EMODB_ANGRY).await.expect("EmoDB decodes");
    let analysis = engine.analyzer.analyse(&prepared).await.expect("analysis");
    assert_eq!(analysis.labels.len(), 7);
    let total: f32 = analysis.probabilities.iter().sum();
    assert!((total - 1.0).abs() < 1e-4, "probabilities sum to {total}");
    let first = engine.analyzer.windows(&prepared.samples).swap_remove(0);
    let inspection = engine.analyzer.inspect(&first).await.expect("inspection");
    assert_eq!(inspection.gates.len(), 8);
    assert_eq!(inspection.frames, 188);
    // The contributions and the bias add up to the logits.
    for k in 0..7 {
        let sum: f32 = inspection.contributions.iter().map(|row| row[k]).sum::<f32>() + inspection.bias[k];
        assert!((sum - inspection.logits[k]).abs() < 1e-3, "class {k}: {sum} vs {}", inspection.logits[k]);
    }
}

#[wasm_bindgen_test]
async fn left_to_itself_the_engine_runs_the_faster_backend_and_says_why() {
    let adapter = webgpu_adapter().await.is_ok();
    let engine = common::started(shipped::DEFAULT, Preference::Auto).await;
    let note = engine.note.clone().unwrap_or_default();
    console_log!("app: auto picked {} ({note})", engine.backend);
    if adapter {
        // Both were timed on one clip; the note gives both figures.
        assert!(note.matches(" ms").count() == 2, "{note}");
    } else {
        assert_eq!(engine.backend, Backend::Cpu);
        assert!(note.contains("no WebGPU") || note.contains("no adapter"), "{note}");
    }
}

#[wasm_bindgen_test]
async fn the_cpu_path_works_when_webgpu_is_not_wanted() {
    let engine = common::started(shipped::DEFAULT, Preference::Cpu).await;
    assert_eq!(engine.backend, Backend::Cpu);
}

#[wasm_bindgen_test]
async fn files_the_decoder_cannot_read_get_a_message() {
    let error = common::prepared(b"definitely not audio").await.unwrap_err();
    assert!(matches!(error, PageError::Audio(AudioError::NotAudio(_))), "{error:?}");
    assert!(error.to_string().contains("not an audio file"), "{error}");
    let empty = common::prepared(b"").await.unwrap_err();
    assert!(matches!(empty, PageError::Audio(AudioError::Empty)), "{empty:?}");
    assert_eq!(empty.to_string(), "the file is empty");
}

/// The default model's front end (8 kHz band limit, per-utterance CMVN, 3 s clips) is the one it
/// was trained with: in the page, on either backend, it gives the probabilities that training
/// recorded natively for these utterances.
#[wasm_bindgen_test]
async fn the_default_models_band_limit_and_normalisation_are_the_same_as_in_training() {
    for preference in [Preference::Cpu, Preference::Auto] {
        let engine = common::started(shipped::DEFAULT, preference).await;
        let sidecar = engine.sidecar().clone();
        assert_eq!(sidecar.features.fmax, Some(8000.0));
        assert_eq!(sidecar.normalisation, timnet::features::Normalisation::PerUtterance);
        for (file, bytes) in [("03a01Wa.wav", EMODB_ANGRY), ("03a01Fa.wav", EMODB_HAPPY)] {
            let recorded = sidecar.recorded.iter().find(|r| r.file == file).expect("recorded at training time");
            let prepared = common::prepared(bytes).await.expect("EmoDB decodes");
            let analysis = engine.analyzer.analyse(&prepared).await.expect("analysis");
            let diff = analysis
                .probabilities
                .iter()
                .zip(&recorded.probabilities)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            console_log!("app: {} {file}: max probability difference {diff:.1e} from training", engine.backend);
            assert!(diff <= 2e-3, "{} {file}: {diff}", engine.backend);
        }
    }
}
