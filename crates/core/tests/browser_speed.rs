//! One-clip inference in the browser, on the CPU backend and on WebGPU (wasm32 only): both give
//! the same probabilities, and the time each took is printed (a benchmark beside the tests that
//! assert; scripts/test.sh keeps the lines in target/test-logs/).
#![cfg(all(target_arch = "wasm32", feature = "wgpu"))]

use timnet_testkit as common;

use burn::prelude::*;
use common::{keras_model, max_abs_diff};
use timnet::analysis::Analyzer;
use timnet::audio::prepare_samples;
use timnet::model::TimNetConfig;
use timnet::weights::{Provenance, Sidecar, Weights};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

// In the browser, where WebGPU is (wasm-bindgen-test runs in Node otherwise).
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// 4.35 s of a gliding tone at 16 kHz, as examples/speed.rs uses natively.
fn clip_16k() -> Vec<f32> {
    timnet::audio::gliding_tone(4.35, 16_000)
}

/// Median milliseconds of one analysis (resample + MFCC + forward + read-back) on `device`,
/// and its probabilities.
async fn time_on(device: Device) -> (f64, Vec<f32>) {
    let labels = (0..7).map(|i| format!("class {i}")).collect();
    let sidecar = Sidecar::new(TimNetConfig::default(), labels, 96_000, Provenance::default());
    let analyzer = Analyzer::new(Weights { model: keras_model(&device), sidecar }, device);
    let clip = clip_16k();
    let mut times = Vec::new();
    let mut probabilities = Vec::new();
    for _ in 0..6 {
        let start = js_sys::Date::now();
        let prepared = prepare_samples(&clip, 1, 16_000).unwrap();
        let analysis = analyzer.analyse(&prepared).await.unwrap();
        times.push(js_sys::Date::now() - start);
        probabilities = analysis.probabilities;
    }
    // The first run compiles shaders and warms caches.
    let mut steady = times[1..].to_vec();
    steady.sort_by(f64::total_cmp);
    (steady[steady.len() / 2], probabilities)
}

async fn webgpu_device() -> Option<Device> {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("navigator")).ok()?;
    let gpu = js_sys::Reflect::get(&navigator, &JsValue::from_str("gpu")).ok()?;
    if gpu.is_undefined() {
        return None;
    }
    Device::wgpu_options().init_async().await.ok()
}

#[wasm_bindgen_test]
async fn one_clip_inference_on_cpu_and_webgpu() {
    let (cpu_ms, cpu) = time_on(Device::flex()).await;
    wasm_bindgen_test::console_log!("bench: one 4.35 s clip from 16 kHz, wasm CPU backend: {cpu_ms:.0} ms");
    assert!((cpu.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    if let Some(device) = webgpu_device().await {
        let (gpu_ms, gpu) = time_on(device).await;
        wasm_bindgen_test::console_log!("bench: one 4.35 s clip from 16 kHz, WebGPU backend: {gpu_ms:.0} ms");
        let diff = max_abs_diff(&cpu, &gpu);
        assert!(diff <= 1e-4, "WebGPU and CPU probabilities differ by {diff}");
    }
}
