//! Fixtures for the integration tests, compiled into the test binary with `include_bytes!` so
//! that the same tests run natively and in wasm32 (where there is no filesystem).
#![allow(dead_code)]

pub mod hostile;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// Bytes of a file under tests/fixtures/.
#[macro_export]
macro_rules! fixture_bytes {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/", $name)).as_slice()
    };
}

/// Bytes of a file of the shared corpora (../shared/data/).
#[macro_export]
macro_rules! corpus_bytes {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/", $path)).as_slice()
    };
}

/// A float32 .npy array: (shape, values).
pub fn npy(bytes: &[u8]) -> (Vec<usize>, Vec<f32>) {
    let file = npyz::NpyFile::new(bytes).expect("a valid .npy fixture");
    let shape = file.shape().iter().map(|&d| d as usize).collect();
    (shape, file.into_vec::<f32>().expect("float32 data"))
}

/// The 7-class model with the Keras reference graph's weights (tests/fixtures/make_fixtures.py,
/// section D).
pub fn keras_model(device: &burn::prelude::Device) -> timnet::model::TimNet {
    use timnet::model::{KerasWeights, TimNetConfig};
    let layout = std::str::from_utf8(fixture_bytes!("keras_weights.json")).unwrap();
    let (_, flat) = npy(fixture_bytes!("keras_weights.npy"));
    let weights = KerasWeights::from_flat(layout, &flat).expect("fixture layout");
    weights.apply(TimNetConfig::default().init(device)).expect("weights fit the default model")
}

/// Largest absolute difference between two arrays of the same length.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "arrays of different lengths");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// ||a - b||_F / ||b||_F.
pub fn relative_frobenius(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "arrays of different lengths");
    let diff: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
    let norm: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum();
    (diff / norm).sqrt()
}

/// The crate's directory. Read at run time (cargo test sets it) rather than baked in at compile
/// time: checkouts at different paths may share one target directory, and cargo does not
/// rebuild a test only because the checkout moved.
#[cfg(not(target_arch = "wasm32"))]
pub fn crate_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}

/// The weights the page and the CLI ship (model-weights/emodb), loaded on `device`.
#[cfg(not(target_arch = "wasm32"))]
pub fn shipped_weights(device: &burn::prelude::Device) -> timnet::weights::Weights {
    timnet::weights::Weights::load(&crate_dir().join("model-weights/emodb"), device).expect("the shipped weights load")
}

/// A fresh directory under the target dir, removed first if a previous run left it.
#[cfg(not(target_arch = "wasm32"))]
pub fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Three "emotions" that differ in pitch, one folder each: tones at 300, 1200 and 3000 Hz with
/// noise, 0.6 s at 16 kHz.
#[cfg(not(target_arch = "wasm32"))]
pub fn synthetic_corpus(dir: &std::path::Path, per_class: usize) {
    for (class, hz) in [("low", 300.0f32), ("mid", 1200.0), ("high", 3000.0)] {
        std::fs::create_dir_all(dir.join(class)).unwrap();
        for i in 0..per_class {
            let mut seed = (i as u32 + 1).wrapping_mul(2_654_435_761) ^ hz as u32;
            let samples: Vec<f32> = (0..9600)
                .map(|n| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    let noise = (seed as f32 / u32::MAX as f32 - 0.5) * 0.1;
                    let f = hz * (1.0 + 0.02 * i as f32);
                    0.4 * (2.0 * std::f32::consts::PI * f * n as f32 / 16_000.0).sin() + noise
                })
                .collect();
            std::fs::write(dir.join(class).join(format!("{i}.wav")), timnet::audio::encode_wav(&samples, 1, 16_000))
                .unwrap();
        }
    }
}

/// A small, quick run on a folder corpus.
#[cfg(not(target_arch = "wasm32"))]
pub fn run_config(
    corpus_dir: &std::path::Path,
    protocol: timnet::train::run::Protocol,
    epochs: usize,
) -> timnet::train::run::RunConfig {
    timnet::train::run::RunConfig {
        corpus: "folder".into(),
        corpus_dir: corpus_dir.into(),
        classes: None,
        // One second: short clips keep the tests quick.
        clip_samples: Some(22_050),
        protocol,
        select_on_validation: false,
        model: timnet::model::TimNetConfig { tabs: 4, ..Default::default() },
        fit: timnet::train::fit::FitOptions { epochs, batch_size: 16, ..Default::default() },
        command: "test".into(),
    }
}
