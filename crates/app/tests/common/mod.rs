//! What the app's browser tests share: an engine started as the worker starts it, and the
//! page's whole decoding path as the page and its engine worker run it between them (the Rust
//! decoder, the worker's; then the browser's, the page's, for what it cannot read).

use timnet::audio::Prepared;
use timnet::weights::shipped::Shipped;
use timnet_app::audio_in::{FileRead, browser_decode, prepare_decoded, prepare_file};
use timnet_app::engine::{Engine, Preference, record};
use timnet_app::error::PageError;
use timnet_app::protocol::bytes_buffer;

/// `model` started on the device `preference` asks for (its record is compiled into the tests).
pub async fn started(model: &'static Shipped, preference: Preference) -> Engine {
    let record = record(model, "").await.expect("the record");
    Engine::start(model, record, preference, |_| {}).await.expect("the engine starts")
}

pub async fn prepared(bytes: &[u8]) -> Result<Prepared, PageError> {
    match prepare_file(bytes).await? {
        FileRead::Prepared(prepared) => Ok(prepared),
        FileRead::ForTheBrowser(if_not) => {
            let (channels, rate) = browser_decode(&bytes_buffer(bytes)).await.map_err(|_| PageError::from(if_not))?;
            let channels: Vec<Vec<f32>> = channels.iter().map(|b| js_sys::Float32Array::new(b).to_vec()).collect();
            prepare_decoded(&channels, rate)
        }
    }
}
