//! Where the model runs: WebGPU when the browser offers an adapter and it is the faster of the
//! two, burn's CPU backend otherwise, chosen by itself. A failure on the GPU path falls back to
//! the CPU with a note.

use std::cell::RefCell;
use std::fmt;

use timnet::analysis::Analyzer;
use timnet::burn::prelude::Device;
use timnet::weights::{Sidecar, Weights, shipped::Shipped};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::error::PageError;

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

/// Which device the page asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preference {
    /// WebGPU when the browser offers an adapter that is faster here than the CPU: a software
    /// adapter (SwiftShader, on machines without a GPU) can be 80 times slower.
    Auto,
    /// WebGPU whenever the browser offers an adapter (`?gpu`: for comparison and tests).
    Gpu,
    /// The CPU backend (`?cpu`).
    Cpu,
}

pub struct Engine {
    /// The shipped model it was started with (an adapted model keeps its base's).
    pub model: &'static Shipped,
    pub analyzer: Analyzer,
    pub backend: Backend,
    /// Why this backend runs: WebGPU missing or failed, or the two timed against each other.
    pub note: Option<String>,
}

impl Engine {
    pub fn sidecar(&self) -> &Sidecar {
        self.analyzer.sidecar()
    }

    /// The same device and backend running other weights (a model adapted to a voice).
    pub fn with_weights(&self, weights: Weights) -> Engine {
        let analyzer = Analyzer::new(weights, self.analyzer.device().clone());
        Engine { model: self.model, analyzer, backend: self.backend, note: self.note.clone() }
    }

    /// Start `model` on the best device available, reporting each stage through `progress`.
    pub async fn start(
        model: &'static Shipped,
        preference: Preference,
        progress: impl Fn(&str),
    ) -> Result<Engine, PageError> {
        if preference == Preference::Cpu {
            return Self::on_cpu(model, "The CPU was asked for (?cpu in the address).".into(), &progress).await;
        }
        progress("Looking for WebGPU…");
        if let Err(why) = webgpu_adapter().await {
            return Self::on_cpu(model, format!("{why}; running on the CPU."), &progress).await;
        }
        progress("Starting WebGPU and compiling shaders…");
        let gpu = match start_on_gpu(model).await {
            Ok(gpu) => gpu,
            Err(e) => {
                return Self::on_cpu(model, format!("WebGPU failed ({e}); running on the CPU instead."), &progress)
                    .await;
            }
        };
        if preference == Preference::Gpu {
            return Ok(Engine { model, analyzer: gpu, backend: Backend::WebGpu, note: None });
        }
        progress("Timing WebGPU against the CPU…");
        let on_cpu = start_on_cpu(model).await?;
        let (gpu_ms, cpu_ms) = (milliseconds_per_clip(&gpu).await?, milliseconds_per_clip(&on_cpu).await?);
        Ok(if gpu_ms <= cpu_ms {
            let note = format!("WebGPU takes {gpu_ms:.0} ms per clip here, the CPU {cpu_ms:.0} ms.");
            Engine { model, analyzer: gpu, backend: Backend::WebGpu, note: Some(note) }
        } else {
            let note = format!(
                "This browser's WebGPU adapter takes {gpu_ms:.0} ms per clip and the CPU {cpu_ms:.0} ms \
                 (a software adapter?); running on the CPU, which is faster here."
            );
            Engine { model, analyzer: on_cpu, backend: Backend::Cpu, note: Some(note) }
        })
    }

    async fn on_cpu(model: &'static Shipped, note: String, progress: &impl Fn(&str)) -> Result<Engine, PageError> {
        progress("Loading the model on the CPU…");
        Ok(Engine { model, analyzer: start_on_cpu(model).await?, backend: Backend::Cpu, note: Some(note) })
    }
}

async fn start_on_cpu(model: &'static Shipped) -> Result<Analyzer, PageError> {
    let analyzer = load(model, Device::flex())?;
    warm_up(&analyzer).await?;
    Ok(analyzer)
}

/// Wall time of one clip's analysis, after the warm-up has compiled what needs compiling.
async fn milliseconds_per_clip(analyzer: &Analyzer) -> Result<f64, PageError> {
    let performance = web_sys::window()
        .and_then(|w| w.performance())
        .ok_or_else(|| PageError::Browser("the page has no performance clock".into()))?;
    let start = performance.now();
    warm_up(analyzer).await?;
    Ok(performance.now() - start)
}

fn load(model: &'static Shipped, device: Device) -> Result<Analyzer, PageError> {
    // Embedded in the library, so the page needs no request beyond its own files.
    let weights = Weights::from_shipped(model, &device)?;
    Ok(Analyzer::new(weights, device))
}

/// One forward pass on silence: compiles the GPU's shaders and proves the device answers.
async fn warm_up(analyzer: &Analyzer) -> Result<(), PageError> {
    let silence = timnet::audio::prepare_samples(&vec![0.0; 2048], 1, timnet::audio::MODEL_RATE)?;
    let analysis = analyzer.analyse(&silence).await?;
    if analysis.probabilities.iter().all(|p| p.is_finite()) { Ok(()) } else { Err(PageError::NonFinite) }
}

thread_local! {
    /// burn registers one WebGPU runtime per page, so a second initialisation fails: the device
    /// is initialised once and shared by every engine started after.
    static GPU: RefCell<Option<Device>> = const { RefCell::new(None) };
}

async fn start_on_gpu(model: &'static Shipped) -> Result<Analyzer, PageError> {
    let device = match GPU.with(|gpu| gpu.borrow().clone()) {
        Some(device) => device,
        None => {
            let device = Device::wgpu_options().init_async().await.map_err(|e| PageError::Gpu(e.to_string()))?;
            GPU.with(|gpu| *gpu.borrow_mut() = Some(device.clone()));
            device
        }
    };
    let analyzer = load(model, device)?;
    warm_up(&analyzer).await?;
    Ok(analyzer)
}

/// `navigator.gpu.requestAdapter()` resolves to an adapter, or says why not.
pub async fn webgpu_adapter() -> Result<(), PageError> {
    let window = web_sys::window().ok_or(PageError::NoWebGpu("This page has no window"))?;
    let gpu = js_sys::Reflect::get(&window.navigator(), &JsValue::from_str("gpu")).unwrap_or(JsValue::UNDEFINED);
    if gpu.is_undefined() || gpu.is_null() {
        return Err(PageError::NoWebGpu("This browser has no WebGPU"));
    }
    let request = js_sys::Reflect::get(&gpu, &JsValue::from_str("requestAdapter"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or(PageError::NoWebGpu("WebGPU has no requestAdapter"))?;
    let promise = request.call0(&gpu).map_err(|_| PageError::NoWebGpu("requestAdapter failed"))?;
    let promise =
        promise.dyn_into::<js_sys::Promise>().map_err(|_| PageError::NoWebGpu("requestAdapter returned no promise"))?;
    match JsFuture::from(promise).await {
        Ok(adapter) if !adapter.is_null() && !adapter.is_undefined() => Ok(()),
        _ => Err(PageError::NoWebGpu("WebGPU offers no adapter on this device")),
    }
}
