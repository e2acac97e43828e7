//! The GPUs behind `train --backend wgpu`: burn's wgpu runtime, each adapter opened once per
//! process (burn refuses to open a runtime twice; later callers share the first device).

use burn::prelude::Device;

use crate::{Result, TrainError};

/// How `--devices` names wgpu adapters, for messages.
pub const DEVICE_NAMES: &str =
    "a count (the first N adapters wgpu lists) or a list of default, cpu, discrete:K, integrated:K, virtual:K";

/// The default wgpu adapter (a discrete GPU first; Vulkan, Metal or DX12, whichever the system
/// has), or why there is none.
pub fn wgpu_device() -> Result<Device> {
    open("default")
}

/// The adapters `names` names ([`DEVICE_NAMES`]), each opened, or why one cannot be.
pub fn devices(names: &[String]) -> Result<Vec<Device>> {
    if let [count] = names
        && let Ok(count) = count.parse::<usize>()
    {
        return first(count);
    }
    let devices = names.iter().map(|name| open(name)).collect::<Result<Vec<_>>>()?;
    for (i, device) in devices.iter().enumerate() {
        if devices[..i].contains(device) {
            return Err(TrainError::Setup(format!("--devices names {device:?} twice")));
        }
    }
    Ok(devices)
}

#[cfg(feature = "wgpu")]
fn open(name: &str) -> Result<Device> {
    use burn::tensor::DeviceKind;
    use std::collections::HashMap;
    use std::sync::Mutex;
    static OPENED: Mutex<Option<HashMap<String, std::result::Result<Device, String>>>> = Mutex::new(None);

    let bad = || TrainError::Setup(format!("--devices: {name:?} is not a wgpu adapter's name ({DEVICE_NAMES})"));
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

/// The first `count` adapters wgpu lists.
#[cfg(feature = "wgpu")]
fn first(count: usize) -> Result<Vec<Device>> {
    use burn::tensor::DeviceType;
    if count == 0 {
        return Err(TrainError::Setup("--devices 0: training needs at least one device".into()));
    }
    let listed: Vec<Device> = Device::enumerate(DeviceType::Wgpu).into_iter().collect();
    if listed.len() < count {
        return Err(TrainError::Setup(format!(
            "--devices {count}: wgpu lists {} adapter(s) here ({listed:?}); name them instead ({DEVICE_NAMES})",
            listed.len()
        )));
    }
    Ok(listed.into_iter().take(count).collect())
}

#[cfg(not(feature = "wgpu"))]
fn open(_: &str) -> Result<Device> {
    Err(not_built())
}

#[cfg(not(feature = "wgpu"))]
fn first(_: usize) -> Result<Vec<Device>> {
    Err(not_built())
}

#[cfg(not(feature = "wgpu"))]
fn not_built() -> TrainError {
    TrainError::Setup(
        "--backend wgpu needs the program built with the `wgpu` feature \
         (cargo run -q -p timnet-cli --features wgpu --bin train -- ...)"
            .into(),
    )
}
