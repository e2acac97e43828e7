//! Recordings played back in the page, from blob: URLs (same-origin: nothing leaves the page).

use timnet::audio::{MODEL_RATE, encode_wav};

/// A blob: URL for a file's bytes, played as `mime`.
pub fn blob_url(bytes: &[u8], mime: &str) -> Option<String> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}

/// A blob: URL of a mono WAV of samples at the model rate.
pub fn wav_url(samples: &[f32]) -> Option<String> {
    blob_url(&encode_wav(samples, 1, MODEL_RATE), "audio/wav")
}
