//! Fixtures for the integration tests, compiled into the test binary with `include_bytes!` so
//! that the same tests run natively and in wasm32 (where there is no filesystem).
#![allow(dead_code)]

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
