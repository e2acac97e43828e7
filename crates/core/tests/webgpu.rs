//! The model on the browser's WebGPU device (wasm32 only): the Keras fixture's logits within
//! 1e-4, as on the CPU. Where the browser offers no adapter this says so and checks nothing
//! else; scripts/test.sh runs it in a browser that has one and asserts that it ran.
#![cfg(all(target_arch = "wasm32", feature = "wgpu"))]

use timnet_testkit::{self as common, fixture_bytes};

use burn::prelude::*;
use burn::tensor::TensorData;
use common::{max_abs_diff, npy};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

// In the browser, where WebGPU is (wasm-bindgen-test runs in Node otherwise).
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

async fn adapter_available() -> bool {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("navigator")).unwrap();
    let gpu = js_sys::Reflect::get(&navigator, &JsValue::from_str("gpu")).unwrap_or(JsValue::UNDEFINED);
    if gpu.is_undefined() {
        return false;
    }
    let request: js_sys::Function =
        js_sys::Reflect::get(&gpu, &JsValue::from_str("requestAdapter")).unwrap().dyn_into().unwrap();
    let promise: js_sys::Promise = request.call0(&gpu).unwrap().dyn_into().unwrap();
    wasm_bindgen_futures::JsFuture::from(promise).await.map(|a| !a.is_null()).unwrap_or(false)
}

#[wasm_bindgen_test]
async fn keras_logits_on_webgpu() {
    if !adapter_available().await {
        web_sys_log("webgpu: no adapter in this browser; the WebGPU path was not exercised");
        return;
    }
    let device = Device::wgpu_options().init_async().await.expect("WebGPU device");
    let model = common::keras_model(&device);
    let (shape, x) = npy(fixture_bytes!("keras_input.npy"));
    let (_, want) = npy(fixture_bytes!("keras_logits.npy"));
    let input = Tensor::<3>::from_data(TensorData::new(x, [shape[0], shape[1], shape[2]]), &device);
    let got = model.forward(input).into_data_async().await.unwrap().try_to_vec::<f32>().unwrap();
    let diff = max_abs_diff(&got, &want);
    web_sys_log(&format!("webgpu: ran on the WebGPU adapter; max |ours - keras| = {diff:.2e}"));
    assert!(diff <= 1e-4, "max |ours - keras| on WebGPU = {diff}");
}

fn web_sys_log(message: &str) {
    wasm_bindgen_test::console_log!("{message}");
}
