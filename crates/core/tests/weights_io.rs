//! Weights survive a save/load round trip, and every kind of bad weights file is refused with
//! a reason instead of a panic.

use burn::prelude::*;
use burn::tensor::TensorData;
use timnet::model::TimNetConfig;
use timnet::weights::{Precision, Provenance, Sidecar, Weights, WeightsError};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
// In the browser (wasm-bindgen-test runs in Node otherwise), as the page does.
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

fn labels(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("class{i}")).collect()
}

fn weights(config: TimNetConfig) -> Weights {
    let device = Device::flex();
    let sidecar = Sidecar::new(config.clone(), labels(config.classes), 96_000, Provenance::default());
    Weights { model: config.init(&device), sidecar }
}

/// Logits of a fixed input. It is not drawn from the device's random generator: the tests of
/// this file run in parallel threads that share it, so a seed set here could be used by another.
fn logits(w: &Weights) -> Vec<f32> {
    let values: Vec<f32> = (0..2 * 40 * 39).map(|i| 10.0 * (i as f32 * 0.618).sin()).collect();
    let x = Tensor::<3>::from_data(TensorData::new(values, [2, 40, 39]), &Device::flex());
    w.model.valid().forward(x).into_data().try_to_vec::<f32>().unwrap()
}

#[test]
fn round_trip_keeps_every_number() {
    let original = weights(TimNetConfig::default());
    let (json, bytes) = original.to_bytes(Precision::Full).unwrap();
    let loaded = Weights::from_bytes(&json, &bytes, &Device::flex()).unwrap();
    assert_eq!(loaded.sidecar.labels, original.sidecar.labels);
    let a = logits(&original);
    let b = logits(&loaded);
    assert_eq!(a, b);
}

#[test]
fn half_precision_records_are_half_the_size_and_load_as_f32() {
    let original = weights(TimNetConfig::default());
    let (_, full) = original.to_bytes(Precision::Full).unwrap();
    let (json, half) = original.to_bytes(Precision::Half).unwrap();
    // The numbers are most of the record; names and shapes are the rest.
    assert!(half.len() < full.len() * 6 / 10, "{} of {} bytes", half.len(), full.len());
    let loaded = Weights::from_bytes(&json, &half, &Device::flex()).unwrap();
    let a = logits(&original);
    let b = logits(&loaded);
    assert_ne!(a, b, "rounded to half precision, so not the same numbers");
    // Each weight moves by at most 2^-11 of itself; the logits by about as much.
    let scale = a.iter().fold(1f32, |m, x| m.max(x.abs()));
    let diff = a.iter().zip(&b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(diff <= 1e-2 * scale, "logits moved by {diff} (largest {scale})");
    // Rounding is done once: halving the loaded weights again changes nothing.
    let (json2, half2) = loaded.to_bytes(Precision::Half).unwrap();
    let again = Weights::from_bytes(&json2, &half2, &Device::flex()).unwrap();
    assert!(logits(&again) == b, "half precision twice is not half precision once");
}

#[test]
fn truncated_or_damaged_records_are_refused() {
    let (json, bytes) = weights(TimNetConfig::default()).to_bytes(Precision::Full).unwrap();
    let cut = Weights::from_bytes(&json, &bytes[..bytes.len() / 2], &Device::flex()).unwrap_err();
    assert!(matches!(cut, WeightsError::Checksum { .. }), "{cut}");
    assert!(cut.to_string().contains("damaged or truncated"), "{cut}");
    let mut flipped = bytes.clone();
    flipped[bytes.len() - 10] ^= 0x55;
    assert!(matches!(Weights::from_bytes(&json, &flipped, &Device::flex()), Err(WeightsError::Checksum { .. })));
}

#[test]
fn records_of_another_network_are_refused_with_the_difference() {
    let (_, six_class_bytes) = weights(TimNetConfig::default().with_classes(6)).to_bytes(Precision::Full).unwrap();
    // A sidecar claiming 7 classes for the 6-class record, checksum made to match.
    let (json, _) = weights(TimNetConfig::default()).to_bytes(Precision::Full).unwrap();
    let mut sidecar = Sidecar::from_json(&json).unwrap();
    sidecar.record_sha256 = Weights::checksum(&six_class_bytes);
    let error = Weights::from_bytes(&sidecar.to_json(), &six_class_bytes, &Device::flex()).unwrap_err();
    assert!(matches!(error, WeightsError::Mismatch(_)), "{error}");
    assert!(error.to_string().contains("do not fit"), "{error}");
    println!("{error}");
}

#[test]
fn sidecars_of_the_first_format_are_refused_with_what_to_do() {
    let (json, bytes) = weights(TimNetConfig::default()).to_bytes(Precision::Full).unwrap();
    let old = json.replace("timnet-weights/2", "timnet-weights/1").replace("record_sha256", "record_checksum");
    let e = Weights::from_bytes(&old, &bytes, &Device::flex()).unwrap_err();
    assert!(e.to_string().contains("earlier version of this program"), "{e}");
}

#[test]
fn bad_sidecars_are_refused_in_words() {
    let (json, bytes) = weights(TimNetConfig::default()).to_bytes(Precision::Full).unwrap();
    let not_json = Weights::from_bytes("{not json", &bytes, &Device::flex()).unwrap_err();
    assert!(not_json.to_string().starts_with("the sidecar is not valid"), "{not_json}");
    let mut wrong_labels = Sidecar::from_json(&json).unwrap();
    wrong_labels.labels.pop();
    let e = Weights::from_bytes(&wrong_labels.to_json(), &bytes, &Device::flex()).unwrap_err();
    assert!(e.to_string().contains("6 labels for a 7-class network"), "{e}");
    let mut zero_tabs = Sidecar::from_json(&json).unwrap();
    zero_tabs.model.tabs = 0;
    let e = Weights::from_bytes(&zero_tabs.to_json(), &bytes, &Device::flex()).unwrap_err();
    assert!(e.to_string().contains("tabs must be at least 1"), "{e}");
}

#[test]
fn garbage_with_a_matching_checksum_is_refused_without_panicking() {
    let (json, _) = weights(TimNetConfig::default()).to_bytes(Precision::Full).unwrap();
    // The last is large enough for the network's parameters, so the record reader meets it.
    for garbage in [vec![], vec![0u8; 7], (0..500_000u32).map(|i| (i * 31 % 251) as u8).collect::<Vec<_>>()] {
        let mut sidecar = Sidecar::from_json(&json).unwrap();
        // Forge the checksum so that the record reader itself meets the garbage.
        sidecar.record_sha256 = Weights::checksum(&garbage);
        let e = Weights::from_bytes(&sidecar.to_json(), &garbage, &Device::flex()).unwrap_err();
        assert!(matches!(e, WeightsError::Record(_) | WeightsError::Mismatch(_)), "{e}");
    }
}

#[test]
fn sidecars_that_would_allocate_without_bound_are_refused_first() {
    let (json, bytes) = weights(TimNetConfig::default()).to_bytes(Precision::Full).unwrap();
    let refused = |edit: &dyn Fn(&mut Sidecar), words: &str| {
        let mut sidecar = Sidecar::from_json(&json).unwrap();
        edit(&mut sidecar);
        let Err(e) = Weights::from_bytes(&sidecar.to_json(), &bytes, &Device::flex()) else {
            panic!("a sidecar that should be refused for \"{words}\" loaded");
        };
        assert!(e.to_string().contains(words), "{e}");
    };
    refused(&|s| s.model.filters = 1 << 20, "filters is 1048576; this program builds at most 1024");
    // Within bounds, but more parameters than the record holds: refused before it is built.
    refused(&|s| s.model.filters = 1000, "the record holds");
    refused(&|s| s.clip_samples = usize::MAX, "(a minute)");
    refused(&|s| s.features.hop_length = 0, "a hop of 0");
    refused(&|s| s.features.n_fft = 1 << 30, "an FFT of 1073741824");
    refused(&|s| s.features.sample_rate = 16_000, "features at 16000 Hz");
    refused(&|s| s.features.fmax = Some(1e6), "a filterbank from 0 to 1000000 Hz");
    refused(&|s| s.features.amin = 0.0, "amin 0");
    // Within the allocation bounds, but work without end for every second of audio.
    refused(&|s| s.clip_samples = 2, "a clip of 2 samples; 11025 (half a second)");
    refused(
        &|s| {
            s.features.hop_length = 1;
            s.features.n_fft = 16;
        },
        "a hop of 1 gives 22050 frames a second; at most 1000 (a hop of at least 23)",
    );
    refused(&|s| s.features.n_fft = 65_536, "an FFT of 65536 with a hop of 512; 16 to 16384");
    refused(&|s| s.features.hop_length = 64, "an FFT of 2048 with a hop of 64 reads each sample 32 times; at most 16");
}
