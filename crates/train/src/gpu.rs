//! The GPUs behind `train --backend wgpu` and `--backend cuda`: burn's wgpu runtime (Vulkan,
//! Metal, DX12) and its CUDA runtime, each behind a cargo feature of the same name so that the
//! default build compiles no GPU stack. A wgpu adapter is opened once per process (burn refuses
//! to open a runtime twice; later callers share the first device).

use burn::prelude::Device;

use crate::{Result, TrainError};

/// A GPU runtime of burn's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Wgpu,
    Cuda,
}

impl Runtime {
    /// Its `--backend` name.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Wgpu => "wgpu",
            Runtime::Cuda => "cuda",
        }
    }

    /// How `--devices` names its devices, for messages.
    pub fn device_names(self) -> &'static str {
        match self {
            Runtime::Wgpu => {
                "a count (the first N adapters wgpu lists) or a list of default, cpu, discrete:K, integrated:K, virtual:K"
            }
            Runtime::Cuda => "a count (the first N CUDA devices) or a list of cuda:K (K counted from 0)",
        }
    }
}

/// The default wgpu adapter (a discrete GPU first; Vulkan, Metal or DX12, whichever the system
/// has), or why there is none.
pub fn wgpu_device() -> Result<Device> {
    first_device(Runtime::Wgpu)
}

/// `runtime`'s default device, or why there is none.
pub fn first_device(runtime: Runtime) -> Result<Device> {
    Ok(devices(runtime, &[])?.swap_remove(0))
}

/// The devices `names` names ([`Runtime::device_names`]), each opened, or why one cannot be;
/// no names: the runtime's default device alone.
pub fn devices(runtime: Runtime, names: &[String]) -> Result<Vec<Device>> {
    if let [count] = names
        && let Ok(count) = count.parse::<usize>()
    {
        if count == 0 {
            return Err(TrainError::Setup("--devices 0: training needs at least one device".into()));
        }
        return first(runtime, count);
    }
    if names.is_empty() {
        return Ok(vec![open(runtime, "default")?]);
    }
    let devices = names.iter().map(|name| open(runtime, name)).collect::<Result<Vec<_>>>()?;
    for (i, device) in devices.iter().enumerate() {
        if devices[..i].contains(device) {
            return Err(TrainError::Setup(format!("--devices names {device:?} twice")));
        }
    }
    Ok(devices)
}

fn open(runtime: Runtime, name: &str) -> Result<Device> {
    match runtime {
        Runtime::Wgpu => wgpu::open(name),
        Runtime::Cuda => cuda::open(name),
    }
}

/// The first `count` devices `runtime` lists.
fn first(runtime: Runtime, count: usize) -> Result<Vec<Device>> {
    let listed = match runtime {
        Runtime::Wgpu => wgpu::listed()?,
        Runtime::Cuda => cuda::listed()?,
    };
    if listed.len() < count {
        return Err(TrainError::Setup(format!(
            "--devices {count}: {} lists {} device(s) here ({listed:?}); name them instead ({})",
            runtime.name(),
            listed.len(),
            runtime.device_names()
        )));
    }
    Ok(listed.into_iter().take(count).collect())
}

#[cfg(feature = "wgpu")]
mod wgpu {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use burn::prelude::Device;
    use burn::tensor::{DeviceKind, DeviceType};

    use super::Runtime;
    use crate::{Result, TrainError};

    pub fn open(name: &str) -> Result<Device> {
        static OPENED: Mutex<Option<HashMap<String, std::result::Result<Device, String>>>> = Mutex::new(None);

        let bad = || {
            TrainError::Setup(format!(
                "--devices: {name:?} is not a wgpu adapter's name ({})",
                Runtime::Wgpu.device_names()
            ))
        };
        let kind = match name.split_once(':') {
            None if name == "default" => DeviceKind::DefaultDevice,
            None if name == "cpu" => DeviceKind::Cpu,
            Some((kind, k)) => {
                let k = k.parse::<usize>().map_err(|_| bad())?;
                match kind {
                    "discrete" => DeviceKind::DiscreteGpu(k),
                    "integrated" => DeviceKind::IntegratedGpu(k),
                    "virtual" => DeviceKind::VirtualGpu(k),
                    _ => return Err(bad()),
                }
            }
            None => return Err(bad()),
        };
        let mut opened = OPENED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        opened
            .get_or_insert_default()
            .entry(name.to_string())
            .or_insert_with(|| Device::wgpu_options().device_kind(kind).init().map_err(|e| e.to_string()))
            .clone()
            .map_err(|e| {
                TrainError::Setup(format!(
                    "--backend wgpu: the {name} adapter could not be opened through wgpu (Vulkan, Metal or DX12 were looked for): {e}"
                ))
            })
    }

    pub fn listed() -> Result<Vec<Device>> {
        Ok(Device::enumerate(DeviceType::Wgpu).into_iter().collect())
    }
}

#[cfg(feature = "cuda")]
mod cuda {
    use burn::prelude::Device;
    use burn::tensor::DeviceType;

    use super::Runtime;
    use crate::{Result, TrainError};

    /// Asks for the driver's library before any device: without it, burn's CUDA runtime lists
    /// no device rather than failing.
    pub fn listed() -> Result<Vec<Device>> {
        Ok(Device::enumerate(DeviceType::Cuda).into_iter().collect())
    }

    pub fn open(name: &str) -> Result<Device> {
        let listed = listed()?;
        let index = match name {
            "default" => 0,
            _ => name.strip_prefix("cuda:").and_then(|k| k.parse::<usize>().ok()).ok_or_else(|| {
                TrainError::Setup(format!(
                    "--devices: {name:?} is not a CUDA device's name ({})",
                    Runtime::Cuda.device_names()
                ))
            })?,
        };
        if listed.is_empty() {
            return Err(TrainError::Setup(
                "--backend cuda: no CUDA device found (looked for the NVIDIA driver's libcuda and the devices it lists)"
                    .into(),
            ));
        }
        if index >= listed.len() {
            return Err(TrainError::Setup(format!(
                "--devices: there is no {name} here; CUDA lists {} device(s), cuda:0 to cuda:{}",
                listed.len(),
                listed.len() - 1
            )));
        }
        Ok(Device::cuda(index))
    }
}

/// A runtime this program was built without.
#[cfg(not(feature = "wgpu"))]
mod wgpu {
    use burn::prelude::Device;

    use super::{Runtime, not_built};
    use crate::Result;

    pub fn open(_: &str) -> Result<Device> {
        Err(not_built(Runtime::Wgpu))
    }

    pub fn listed() -> Result<Vec<Device>> {
        Err(not_built(Runtime::Wgpu))
    }
}

#[cfg(not(feature = "cuda"))]
mod cuda {
    use burn::prelude::Device;

    use super::{Runtime, not_built};
    use crate::Result;

    pub fn open(_: &str) -> Result<Device> {
        Err(not_built(Runtime::Cuda))
    }

    pub fn listed() -> Result<Vec<Device>> {
        Err(not_built(Runtime::Cuda))
    }
}

#[cfg(not(all(feature = "wgpu", feature = "cuda")))]
fn not_built(runtime: Runtime) -> TrainError {
    let name = runtime.name();
    TrainError::Setup(format!(
        "--backend {name} needs the program built with the `{name}` feature \
         (cargo run -q -p timnet-cli --features {name} --bin train -- ...)"
    ))
}
