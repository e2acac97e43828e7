//! Where the model runs: WebGPU when the browser offers an adapter, burn's CPU backend
//! otherwise, chosen by itself. A failure on the GPU path falls back to the CPU with a note.

use std::fmt;

use timnet::analysis::Analyzer;
use timnet::burn::prelude::Device;
use timnet::weights::{Sidecar, Weights};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// The shipped weights, embedded so that the page needs no request beyond its own files.
pub const SIDECAR: &str = include_str!("../../model-weights/emodb/model.json");
pub const RECORD: &[u8] = include_bytes!("../../model-weights/emodb/model.bpk");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    WebGpu,
    Cpu,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::WebGpu => "WebGPU",
            Backend::Cpu => "CPU (WebAssembly)",
        })
    }
}

pub struct Engine {
    pub analyzer: Analyzer,
    pub backend: Backend,
    /// Why the CPU runs when WebGPU was not used, if it was tried or missing.
    pub note: Option<String>,
}

impl Engine {
    pub fn sidecar(&self) -> &Sidecar {
        self.analyzer.sidecar()
    }

    /// Start on the best device available, reporting each stage through `progress`.
    pub async fn start(try_gpu: bool, progress: impl Fn(&str)) -> Result<Engine, String> {
        let note = if try_gpu {
            progress("Looking for WebGPU…");
            match webgpu_adapter().await {
                Ok(()) => {
                    progress("Starting WebGPU and compiling shaders…");
                    match start_on_gpu().await {
                        Ok(analyzer) => return Ok(Engine { analyzer, backend: Backend::WebGpu, note: None }),
                        Err(e) => format!("WebGPU failed ({e}); running on the CPU instead."),
                    }
                }
                Err(why) => format!("{why}; running on the CPU."),
            }
        } else {
            "WebGPU was not requested; running on the CPU.".into()
        };
        progress("Loading the model on the CPU…");
        let analyzer = load(Device::flex())?;
        warm_up(&analyzer).await?;
        Ok(Engine { analyzer, backend: Backend::Cpu, note: Some(note) })
    }
}

fn load(device: Device) -> Result<Analyzer, String> {
    let weights = Weights::from_bytes(SIDECAR, RECORD, &device).map_err(|e| e.to_string())?;
    Ok(Analyzer::new(weights, device))
}

/// One forward pass on silence: compiles the GPU's shaders and proves the device answers.
async fn warm_up(analyzer: &Analyzer) -> Result<(), String> {
    let silence =
        timnet::audio::prepare_samples(&vec![0.0; 2048], 1, timnet::audio::MODEL_RATE).map_err(|e| e.to_string())?;
    let analysis = analyzer.analyse(&silence).await.map_err(|e| e.to_string())?;
    if analysis.probabilities.iter().all(|p| p.is_finite()) {
        Ok(())
    } else {
        Err("the device returned non-finite numbers".into())
    }
}

async fn start_on_gpu() -> Result<Analyzer, String> {
    let device = Device::wgpu_options().init_async().await.map_err(|e| e.to_string())?;
    let analyzer = load(device)?;
    warm_up(&analyzer).await?;
    Ok(analyzer)
}

/// `navigator.gpu.requestAdapter()` resolves to an adapter, or says why not.
pub async fn webgpu_adapter() -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let gpu = js_sys::Reflect::get(&window.navigator(), &JsValue::from_str("gpu")).unwrap_or(JsValue::UNDEFINED);
    if gpu.is_undefined() || gpu.is_null() {
        return Err("This browser has no WebGPU".into());
    }
    let request = js_sys::Reflect::get(&gpu, &JsValue::from_str("requestAdapter"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or("WebGPU has no requestAdapter")?;
    let promise = request.call0(&gpu).map_err(|_| "requestAdapter failed")?;
    let promise = promise.dyn_into::<js_sys::Promise>().map_err(|_| "requestAdapter returned no promise")?;
    match JsFuture::from(promise).await {
        Ok(adapter) if !adapter.is_null() && !adapter.is_undefined() => Ok(()),
        _ => Err("WebGPU offers no adapter on this device".into()),
    }
}
