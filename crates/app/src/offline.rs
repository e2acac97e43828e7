//! Offline and installable: once the page has loaded, it registers its service worker
//! (www/sw.js) and hands it the list of its own files, which the worker caches; a later visit
//! then works with the network off. The web app manifest (www/manifest.webmanifest) makes the
//! page installable.

use timnet::weights::shipped;
use wasm_bindgen::prelude::*;

use crate::client::Build;
use crate::error::PageError;

#[wasm_bindgen(inline_js = r#"
export async function keep_offline(extra) {
  if (!("serviceWorker" in navigator)) throw new Error("this browser has no service workers");
  await navigator.serviceWorker.register("sw.js");
  const registration = await navigator.serviceWorker.ready;
  // The files this visit loaded (the page, its hashed JS and wasm), and those it may load later.
  const own = performance.getEntriesByType("resource").map((e) => e.name)
    .filter((url) => new URL(url).origin === location.origin);
  // One entry a file: the cache refuses a list that names one twice.
  const urls = [...new Set(["./", ...own, ...extra].map((url) => new URL(url, location.href).href))];
  return await new Promise((resolve, reject) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = (e) => (e.data.error ? reject(new Error(e.data.error)) : resolve(e.data.cached));
    registration.active.postMessage({ cache: urls }, [channel.port2]);
  });
}
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn keep_offline(extra: Vec<String>) -> Result<JsValue, JsValue>;
}

/// Files the page's own list of loads does not show: the microphone's worklet, the manifest and
/// its icon, the engine worker's script and WebAssembly (the build this browser runs: the
/// worker's own loads are not in the page's list) and the records
/// of the shipped models it does not embed.
fn on_demand(build: Build) -> Vec<String> {
    let mut files: Vec<String> =
        ["capture-worklet.js", "manifest.webmanifest", "icon.svg"].iter().map(|f| f.to_string()).collect();
    files.extend(build.files());
    files.extend(shipped::ALL.iter().filter(|m| !m.embedded).map(shipped::served_record_path));
    files
}

/// Cache the page's files (with the engine worker's `build`) for offline use; how many were
/// cached.
pub async fn make_available_offline(build: Build) -> Result<usize, PageError> {
    let cached = keep_offline(on_demand(build)).await.map_err(PageError::browser)?;
    Ok(cached.as_f64().unwrap_or_default() as usize)
}
