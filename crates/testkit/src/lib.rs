//! What the workspace's tests share: the fixtures of tests/fixtures/ (compiled in with
//! `include_bytes!`, so that the same tests run natively and in wasm32, where there is no
//! filesystem), the Keras reference model, the table of hostile files, scratch folders and the
//! shared corpora, found or plainly skipped.

pub mod hostile;

/// Bytes of a file under tests/fixtures/. Every crate of the workspace lives at crates/NAME, so
/// the path is the same from each of them.
#[macro_export]
macro_rules! fixture_bytes {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/", $name)).as_slice()
    };
}

/// A float32 .npy array: (shape, values).
pub fn npy(bytes: &[u8]) -> (Vec<usize>, Vec<f32>) {
    let file = npyz::NpyFile::new(bytes).expect("a valid .npy fixture");
    let shape = file.shape().iter().map(|&d| d as usize).collect();
    (shape, file.into_vec::<f32>().expect("float32 data"))
}

/// The Keras reference graph's weights (tests/fixtures/make_fixtures.py, section D), in our
/// parameter table's order.
pub fn keras_weights() -> timnet::model::KerasWeights {
    let layout = std::str::from_utf8(fixture_bytes!("keras_weights.json")).expect("UTF-8 layout");
    let (_, flat) = npy(fixture_bytes!("keras_weights.npy"));
    timnet::model::KerasWeights::from_flat(&timnet::model::TimNetConfig::default(), layout, &flat)
        .expect("the fixture's layout is the default model's")
}

/// The 7-class model with the Keras reference graph's weights.
pub fn keras_model(device: &burn::prelude::Device) -> timnet::model::TimNet {
    keras_weights().apply(timnet::model::TimNetConfig::default().init(device)).expect("weights fit the default model")
}

/// Largest absolute difference between two arrays of the same length.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "arrays of different lengths");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Each column's mean and (population) variance over `rows` of equal width, in f64: what a
/// normalisation should have made 0 and 1.
pub fn column_moments(rows: &[&[f32]]) -> Vec<(f64, f64)> {
    let n = rows.len() as f64;
    let width = rows.first().map_or(0, |r| r.len());
    (0..width)
        .map(|k| {
            let mean = rows.iter().map(|r| r[k] as f64).sum::<f64>() / n;
            (mean, rows.iter().map(|r| (r[k] as f64 - mean).powi(2)).sum::<f64>() / n)
        })
        .collect()
}

/// ||a - b||_F / ||b||_F.
pub fn relative_frobenius(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "arrays of different lengths");
    let diff: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
    let norm: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum();
    (diff / norm).sqrt()
}

/// The workspace's root. Read at run time (cargo test sets CARGO_MANIFEST_DIR to the tested
/// crate's folder) rather than baked in at compile time: checkouts at different paths may share
/// one target directory, and cargo does not rebuild a test only because the checkout moved.
#[cfg(not(target_arch = "wasm32"))]
pub fn workspace_dir() -> std::path::PathBuf {
    let crate_dir: std::path::PathBuf =
        std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into);
    crate_dir.join("../..")
}

/// A file under tests/fixtures/, by path.
#[cfg(not(target_arch = "wasm32"))]
pub fn fixture_path(name: &str) -> std::path::PathBuf {
    workspace_dir().join("tests/fixtures").join(name)
}

/// The weights the page and the CLI ship (model-weights/emodb), loaded on `device`.
#[cfg(not(target_arch = "wasm32"))]
pub fn shipped_weights(device: &burn::prelude::Device) -> timnet::weights::Weights {
    timnet::weights::Weights::load(&workspace_dir().join("model-weights/emodb"), device)
        .expect("the shipped weights load")
}

/// The word a skipped test prints; scripts/test.sh fails a run whose output holds it.
pub const SKIPPED: &str = "SKIPPED:";

/// A corpus of the shared data (`TIMNET_DATA`, else ../shared/data beside the checkout), or
/// `None` after saying, on standard error, that `test` was skipped and why. A clone of the
/// project alone runs its tests to the end this way; CI, which has the corpora, skips nothing.
#[cfg(not(target_arch = "wasm32"))]
pub fn shared_corpus(corpus: &str, test: &str) -> Option<std::path::PathBuf> {
    let data = std::env::var_os("TIMNET_DATA")
        .map_or_else(|| workspace_dir().join("../shared/data"), std::path::PathBuf::from);
    let dir = data.join(corpus);
    if dir.is_dir() {
        return Some(dir);
    }
    eprintln!("{SKIPPED} {test}: needs the {corpus} corpus at {} (set TIMNET_DATA to its parent)", dir.display());
    None
}

/// A fresh directory under the system's temporary folder, removed first if a previous run left it.
#[cfg(not(target_arch = "wasm32"))]
pub fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join("timnet-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// Three "emotions" that differ in pitch, one folder each: tones at 300, 1200 and 3000 Hz with
/// noise, 0.6 s at 16 kHz.
#[cfg(not(target_arch = "wasm32"))]
pub fn synthetic_corpus(dir: &std::path::Path, per_class: usize) {
    for (class, hz) in [("low", 300.0f32), ("mid", 1200.0), ("high", 3000.0)] {
        std::fs::create_dir_all(dir.join(class)).expect("a class folder");
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
                .expect("a WAV file");
        }
    }
}

/// Syllables of a buzzing voice: a pitch near `f0` that rises and falls, its harmonics, four
/// syllables a second with short gaps between them, peak about `amplitude`. The speech check
/// (timnet::audio::speech) hears speech in it, as in a melody of such notes; a steady tone it
/// does not.
pub fn syllables(seconds: f32, rate: u32, f0: f32, amplitude: f32) -> Vec<f32> {
    let tau = std::f32::consts::TAU;
    let mut phase = 0.0f32;
    (0..(seconds * rate as f32) as usize)
        .map(|i| {
            let t = i as f32 / rate as f32;
            phase = (phase + tau * f0 * (1.0 + 0.15 * (2.0 * t).sin()) / rate as f32) % (tau * 840.0);
            // 0.175 s of sound, 0.075 s of silence.
            let within = (t * 4.0).fract() / 0.7;
            let envelope = if within < 1.0 { (std::f32::consts::PI * within).sin().powi(2) } else { 0.0 };
            let buzz: f32 = (1..=8).map(|h| (h as f32 * phase).sin() / h as f32).sum();
            amplitude * envelope * buzz / 1.9
        })
        .collect()
}

/// Takes for "teach it your voice" with the default model's five emotions: per emotion, 2 s of
/// [`syllables`] at 16 kHz at a pitch of its own (a stand-in voice whose emotions the unadapted
/// model cannot tell apart), in one folder per emotion as `timnet adapt --takes` reads them.
/// Returns each take's emotion and file.
#[cfg(not(target_arch = "wasm32"))]
pub fn voice_takes(dir: &std::path::Path, per_emotion: usize) -> Vec<(String, std::path::PathBuf)> {
    let mut files = Vec::new();
    for (e, emotion) in ["angry", "fear", "happy", "neutral", "sad"].iter().enumerate() {
        std::fs::create_dir_all(dir.join(emotion)).expect("an emotion folder");
        for i in 0..per_emotion {
            let f0 = 90.0 + 55.0 * e as f32 + 5.0 * i as f32;
            let take = syllables(2.0, 16_000, f0, 0.3);
            let path = dir.join(emotion).join(format!("take{i}.wav"));
            std::fs::write(&path, timnet::audio::encode_wav(&take, 1, 16_000)).expect("a WAV file");
            files.push((emotion.to_string(), path));
        }
    }
    files
}
