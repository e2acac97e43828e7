//! Recordings played back in the page, from blob: URLs (same-origin: nothing leaves the page).

use wasm_bindgen::JsValue;

/// A blob: URL for bytes, played as `mime`.
pub fn blob_url(bytes: &[u8], mime: &str) -> Option<String> {
    url_of(&js_sys::Uint8Array::from(bytes), mime)
}

/// A blob: URL for bytes already in the browser's memory (a recording's WAV from the engine).
pub fn buffer_url(buffer: &js_sys::ArrayBuffer, mime: &str) -> Option<String> {
    url_of(buffer, mime)
}

/// A blob: URL for a file as it was chosen.
pub fn file_url(file: &web_sys::File) -> Option<String> {
    web_sys::Url::create_object_url_with_blob(file).ok()
}

fn url_of(part: &JsValue, mime: &str) -> Option<String> {
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&js_sys::Array::of1(part), &options).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}
