//! Where the model runs (in the engine worker, [`crate::worker`]): WebGPU when the browser
//! offers an adapter and it is the faster of the two, burn's CPU backend otherwise, chosen by
//! itself. A failure on the GPU path falls back to the CPU with a note.

use std::cell::RefCell;
use std::sync::Arc;

use timnet::analysis::Analyzer;
use timnet::burn::prelude::Device;
use timnet::weights::shipped::{Shipped, served_record_path};
use timnet::weights::{Sidecar, Weights};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::error::PageError;
pub use crate::protocol::{Backend, Preference};

pub struct Engine {
    /// The shipped model it was started with (an adapted model keeps its base's).
    pub model: &'static Shipped,
    /// That model's record, as compiled in or fetched: adapting to a voice starts from it.
    pub record: Arc<[u8]>,
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
        Engine {
            model: self.model,
            record: self.record.clone(),
            analyzer,
            backend: self.backend,
            note: self.note.clone(),
        }
    }

    /// Start `model`, whose record is `record` (see [`record`]), on the best device available,
    /// reporting each stage through `progress`.
    pub async fn start(
        model: &'static Shipped,
        record: Arc<[u8]>,
        preference: Preference,
        progress: impl Fn(&str),
    ) -> Result<Engine, PageError> {
        let engine = |analyzer, backend, note| Engine { model, record: record.clone(), analyzer, backend, note };
        let on_cpu = async |note: String| {
            progress("Loading the model on the CPU…");
            Ok::<_, PageError>(engine(start_on_cpu(model, &record).await?, Backend::Cpu, Some(note)))
        };
        if preference == Preference::Cpu {
            return on_cpu("The CPU was asked for (?cpu in the address).".into()).await;
        }
        progress("Looking for WebGPU…");
        if let Err(why) = webgpu_adapter().await {
            return on_cpu(format!("{why}; running on the CPU.")).await;
        }
        progress("Starting WebGPU and compiling shaders…");
        let gpu = match start_on_gpu(model, &record).await {
            Ok(gpu) => gpu,
            Err(e) => return on_cpu(format!("WebGPU failed ({e}); running on the CPU instead.")).await,
        };
        if preference == Preference::Gpu {
            return Ok(engine(gpu, Backend::WebGpu, None));
        }
        progress("Timing WebGPU against the CPU…");
        let on_cpu = start_on_cpu(model, &record).await?;
        let (gpu_ms, cpu_ms) = (milliseconds_per_clip(&gpu).await?, milliseconds_per_clip(&on_cpu).await?);
        Ok(if gpu_ms <= cpu_ms {
            let note = format!("WebGPU takes {gpu_ms:.0} ms per clip here, the CPU {cpu_ms:.0} ms.");
            engine(gpu, Backend::WebGpu, Some(note))
        } else {
            let note = format!(
                "This browser's WebGPU adapter takes {gpu_ms:.0} ms per clip and the CPU {cpu_ms:.0} ms \
                 (a software adapter?); running on the CPU, which is faster here."
            );
            engine(on_cpu, Backend::Cpu, Some(note))
        })
    }
}

/// A shipped model's record: compiled into the page (the default model), or fetched from the
/// page's own origin (`models/NAME/model.bpk` from `base`, the page's address, copied there by
/// the build) and checked against the SHA-256 its compiled-in sidecar names when it is loaded.
pub async fn record(model: &'static Shipped, base: &str) -> Result<Arc<[u8]>, PageError> {
    if let Some(bytes) = timnet::weights::shipped::record(model) {
        return Ok(bytes.into());
    }
    let path = web_sys::Url::new_with_base(&served_record_path(model), base)
        .map(|url| url.href())
        .unwrap_or_else(|_| served_record_path(model));
    let failed = |why: String| PageError::ModelFile { model: model.name, path: path.clone(), why };
    let response = crate::scope::fetch(&path).await.map_err(|e| failed(describe(e)))?;
    if !response.ok() {
        return Err(failed(format!("the server answered {} {}", response.status(), response.status_text())));
    }
    let buffer = response.array_buffer().map_err(|e| failed(describe(e)))?;
    let buffer = JsFuture::from(buffer).await.map_err(|e| failed(describe(e)))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec().into())
}

/// A browser exception, as text.
fn describe(error: JsValue) -> String {
    PageError::browser(error).to_string()
}

async fn start_on_cpu(model: &'static Shipped, record: &[u8]) -> Result<Analyzer, PageError> {
    let analyzer = load(model, record, Device::flex())?;
    warm_up(&analyzer).await?;
    Ok(analyzer)
}

/// Wall time of one clip's analysis, after the warm-up has compiled what needs compiling.
async fn milliseconds_per_clip(analyzer: &Analyzer) -> Result<f64, PageError> {
    let clock = || crate::scope::now().ok_or_else(|| PageError::Browser("the browser has no performance clock".into()));
    let start = clock()?;
    warm_up(analyzer).await?;
    Ok(clock()? - start)
}

fn load(model: &'static Shipped, record: &[u8], device: Device) -> Result<Analyzer, PageError> {
    let weights = Weights::from_bytes(model.sidecar, record, &device)?;
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

async fn start_on_gpu(model: &'static Shipped, record: &[u8]) -> Result<Analyzer, PageError> {
    let device = match GPU.with(|gpu| gpu.borrow().clone()) {
        Some(device) => device,
        None => {
            let device = Device::wgpu_options().init_async().await.map_err(|e| PageError::Gpu(e.to_string()))?;
            GPU.with(|gpu| *gpu.borrow_mut() = Some(device.clone()));
            device
        }
    };
    let analyzer = load(model, record, device)?;
    warm_up(&analyzer).await?;
    Ok(analyzer)
}

/// `navigator.gpu.requestAdapter()` resolves to an adapter, or says why not.
pub async fn webgpu_adapter() -> Result<(), PageError> {
    let gpu = crate::scope::navigator_gpu().ok_or(PageError::NoWebGpu("This browser has no WebGPU"))?;
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
