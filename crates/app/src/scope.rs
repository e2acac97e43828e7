//! What the page and its engine worker both have (a window's global scope or a worker's): the
//! timer, `fetch`, the clock and `navigator`, reached through the global object so that the
//! same code runs on either side.

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, ms: i32) -> JsValue;
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_str(input: &str) -> js_sys::Promise;
}

/// Wait `ms` milliseconds (the browser's timer): long work lets the page draw meanwhile, and
/// the worker read the messages that came.
pub async fn pause(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}

/// `fetch(path)`, relative to the script's own address (the page's origin, on either side).
pub async fn fetch(path: &str) -> Result<web_sys::Response, JsValue> {
    JsFuture::from(fetch_str(path)).await?.dyn_into()
}

/// Milliseconds from the high-resolution clock (`performance.now()`).
pub fn now() -> Option<f64> {
    let performance = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).ok()?;
    Some(performance.dyn_into::<web_sys::Performance>().ok()?.now())
}

/// `navigator.gpu`, where the browser has WebGPU (a window's navigator or a worker's).
pub fn navigator_gpu() -> Option<JsValue> {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let gpu = js_sys::Reflect::get(&navigator, &"gpu".into()).ok()?;
    (!gpu.is_undefined() && !gpu.is_null()).then_some(gpu)
}
