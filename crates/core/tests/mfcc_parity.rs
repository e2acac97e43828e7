//! Our front end against librosa (tests/fixtures/make_fixtures.py made the references).
//! Runs natively and, unchanged, in wasm32 under wasm-bindgen-test.

use timnet_testkit::{self as common, fixture_bytes};

use common::{max_abs_diff, npy, relative_frobenius};
use timnet::audio::{KAISER_BEST_V022, MODEL_RATE, prepare, resample, resample_with};
use timnet::features::Mfcc;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
// In the browser (wasm-bindgen-test runs in Node otherwise), as the page does.
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// (a) Signals already at 22,050 Hz: every coefficient of every frame within 0.01 of librosa.
fn check_mfcc_at_model_rate(signal: &[u8], reference: &[u8]) -> f32 {
    let (_, y) = npy(signal);
    let (shape, want) = npy(reference);
    let got = Mfcc::default().compute(&y);
    assert_eq!([got.frames, got.coeffs], [shape[0], shape[1]], "frames x coefficients");
    max_abs_diff(&got.data, &want)
}

#[test]
fn sweep_matches_librosa() {
    let diff = check_mfcc_at_model_rate(fixture_bytes!("sweep_22050.npy"), fixture_bytes!("sweep_22050.mfcc.npy"));
    println!("sweep: max |ours - librosa| = {diff:.2e}");
    assert!(diff <= 0.01, "max |ours - librosa| = {diff}");
}

#[test]
fn emodb_utterance_at_model_rate_matches_librosa() {
    let diff = check_mfcc_at_model_rate(
        fixture_bytes!("emodb_03a01Fa_22050.npy"),
        fixture_bytes!("emodb_03a01Fa_22050.mfcc.npy"),
    );
    println!("emodb 03a01Fa at 22,050 Hz: max |ours - librosa| = {diff:.2e}");
    assert!(diff <= 0.01, "max |ours - librosa| = {diff}");
}

/// The resampler alone against resampy's kaiser_best. resampy returns int(n·ratio) samples;
/// librosa (and we) pad that with zeros to ceil(n·ratio).
fn check_resampler(input: &[u8], output: &[u8], from: u32) -> f32 {
    let (_, x) = npy(input);
    let (_, want) = npy(output);
    let got = resample(&x, from, MODEL_RATE);
    compare_resampled(&x, &got, &want, from)
}

fn compare_resampled(x: &[f32], got: &[f32], want: &[f32], from: u32) -> f32 {
    let ceil = (x.len() as f64 * MODEL_RATE as f64 / from as f64).ceil() as usize;
    assert_eq!(got.len(), ceil, "librosa's length");
    assert!(got[want.len()..].iter().all(|&v| v == 0.0), "only zero padding after resampy's samples");
    max_abs_diff(&got[..want.len()], want)
}

#[test]
fn resampler_matches_resampy_upsampling() {
    let diff =
        check_resampler(fixture_bytes!("resample_in_16000.npy"), fixture_bytes!("resample_out_22050.npy"), 16_000);
    println!("resample 16 kHz -> 22.05 kHz: max |ours - resampy| = {diff:.2e}");
    assert!(diff <= 1e-5, "max |ours - resampy| = {diff}");
}

#[test]
fn resampler_matches_resampy_downsampling() {
    let diff = check_resampler(
        fixture_bytes!("resample_in_44100.npy"),
        fixture_bytes!("resample_out_44100_to_22050.npy"),
        44_100,
    );
    println!("resample 44.1 kHz -> 22.05 kHz: max |ours - resampy| = {diff:.2e}");
    assert!(diff <= 1e-5, "max |ours - resampy| = {diff}");
}

#[test]
fn old_resampy_filter_matches_resampy_0_2_2() {
    let (_, x) = npy(fixture_bytes!("resample_in_16000.npy"));
    let (_, want) = npy(fixture_bytes!("resample_out_22050.kaiser_best_v022.npy"));
    let got = resample_with(&x, 16_000, MODEL_RATE, &KAISER_BEST_V022);
    let diff = compare_resampled(&x, &got, &want, 16_000);
    println!("resample 16 kHz -> 22.05 kHz, resampy 0.2.2 filter: max |ours - resampy| = {diff:.2e}");
    assert!(diff <= 1e-5, "max |ours - resampy| = {diff}");
}

/// (b) A file through our whole path (decode, mono, resample, MFCC) against librosa.load with
/// kaiser_best + mfcc: relative Frobenius error within 1e-2. Returns (vs kaiser_best, vs soxr_hq).
fn check_whole_path(file: &[u8], kaiser: &[u8], soxr: &[u8]) -> (f64, f64) {
    let prepared = prepare(file).expect("fixture audio decodes");
    let got = Mfcc::default().compute(&prepared.samples);
    let (shape, want) = npy(kaiser);
    let (_, soxr) = npy(soxr);
    assert_eq!([got.frames, got.coeffs], [shape[0], shape[1]], "frames x coefficients");
    let to_kaiser = relative_frobenius(&got.data, &want);
    let to_soxr = relative_frobenius(&got.data, &soxr);
    assert!(to_kaiser <= 1e-4, "relative Frobenius error to kaiser_best: {to_kaiser}");
    (to_kaiser, to_soxr)
}

#[test]
fn emodb_file_matches_librosa_kaiser_best() {
    let (k, s) = check_whole_path(
        fixture_bytes!("corpus/emodb_03a01Fa.wav"),
        fixture_bytes!("emodb_03a01Fa.kaiser_best.mfcc.npy"),
        fixture_bytes!("emodb_03a01Fa.soxr_hq.mfcc.npy"),
    );
    println!("emodb 03a01Fa.wav (16 kHz): rel. Frobenius to kaiser_best {k:.2e}, to soxr_hq {s:.2e}");
    let (_, old) = npy(fixture_bytes!("emodb_03a01Fa.kaiser_best_v022.mfcc.npy"));
    let (_, new) = npy(fixture_bytes!("emodb_03a01Fa.kaiser_best.mfcc.npy"));
    println!("  (librosa with resampy 0.2.2's kaiser_best vs today's: {:.2e})", relative_frobenius(&old, &new));
}

#[test]
fn casia_file_matches_librosa_kaiser_best() {
    let (k, s) = check_whole_path(
        fixture_bytes!("corpus/casia_angry_201.wav"),
        fixture_bytes!("casia_angry_201.kaiser_best.mfcc.npy"),
        fixture_bytes!("casia_angry_201.soxr_hq.mfcc.npy"),
    );
    println!("casia angry/201.wav (16 kHz): rel. Frobenius to kaiser_best {k:.2e}, to soxr_hq {s:.2e}");
}

#[test]
fn file_at_44100_matches_librosa_kaiser_best() {
    let (k, s) = check_whole_path(
        fixture_bytes!("tone_44100.wav"),
        fixture_bytes!("tone_44100.kaiser_best.mfcc.npy"),
        fixture_bytes!("tone_44100.soxr_hq.mfcc.npy"),
    );
    println!("tone_44100.wav (44.1 kHz): rel. Frobenius to kaiser_best {k:.2e}, to soxr_hq {s:.2e}");
}

#[test]
fn stereo_24_bit_file_at_48000_matches_librosa_kaiser_best() {
    let (k, s) = check_whole_path(
        fixture_bytes!("tone_48000_stereo.wav"),
        fixture_bytes!("tone_48000_stereo.kaiser_best.mfcc.npy"),
        fixture_bytes!("tone_48000_stereo.soxr_hq.mfcc.npy"),
    );
    println!("stereo 24-bit 48 kHz: rel. Frobenius to kaiser_best {k:.2e}, to soxr_hq {s:.2e}");
}
