//! Waiting on the browser's timer: the one way long work on the page's thread lets it draw.

/// Wait `ms` milliseconds (a browser timer), letting the page draw meanwhile.
pub async fn pause(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
