//! What the page and its engine worker both have (a window's global scope or a worker's): a
//! yield, `fetch`, the clock and `navigator`, reached through the global object so that the
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

/// Let the messages that came be read, then go on: long work in the engine worker yields here.
/// A message to itself, not a 0 ms timer, which browsers hold back to 4 ms once timers nest (a
/// second or more over an hour-long file's stretches and passes).
pub async fn yield_now() {
    let promise = js_sys::Promise::new(&mut |resolve, _| match web_sys::MessageChannel::new() {
        Ok(channel) => {
            channel.port1().set_onmessage(Some(&resolve));
            if channel.port2().post_message(&JsValue::NULL).is_err() {
                set_timeout(&resolve, 0);
            }
        }
        Err(_) => {
            set_timeout(&resolve, 0);
        }
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
