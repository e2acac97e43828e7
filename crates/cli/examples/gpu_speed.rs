//! Training steps on a GPU (wgpu, or CUDA when asked) beside the fused CPU step, at batch 64,
//! 256 and 1,024, measured side by side in one run (docs/performance.md):
//!
//! ```sh
//! cargo run -q -p timnet-cli --features wgpu --example gpu_speed [BATCH ...]
//! cargo run -q -p timnet-cli --features cuda --example gpu_speed cuda [BATCH ...]
//! ```
//!
//! Both go through `FitState::step`, the step `train` takes: the paper's network, EmoDB's clip
//! (188 frames x 39 coefficients), seven classes, label smoothing, Adam.

use std::time::Instant;

use timnet::model::TimNetConfig;
use timnet_train::fit::{Backend, FitOptions, FitState};
use timnet_train::gpu::Runtime;

const FRAMES: usize = 188;
const COEFFS: usize = 39;
const CLASSES: usize = 7;

/// A batch of feature rows that vary by row, and smoothed one-hot targets.
fn batch(size: usize) -> (Vec<f32>, Vec<f32>) {
    let x = (0..size * FRAMES * COEFFS).map(|i| ((i * 7919 % 1009) as f32 - 504.0) / 50.0).collect();
    let mut y = vec![0.1 / CLASSES as f32; size * CLASSES];
    for r in 0..size {
        y[r * CLASSES + r % CLASSES] += 0.9;
    }
    (x, y)
}

/// Median seconds of a training step at `size`, after one warm-up step (which compiles the
/// GPU's kernels for these shapes).
fn step_seconds(backend: Backend, size: usize, runs: usize) -> Result<f64, String> {
    let options = FitOptions { backend, batch_size: size, ..FitOptions::default() };
    let config = TimNetConfig { classes: CLASSES, ..TimNetConfig::default() };
    let mut state = FitState::new(&config, &options, 1).map_err(|e| e.to_string())?;
    let (x, y) = batch(size);
    state.step(x.clone(), y.clone(), size, FRAMES, 0, None).map_err(|e| e.to_string())?;
    let mut times = Vec::with_capacity(runs);
    for seed in 1..=runs as u64 {
        let start = Instant::now();
        state.step(x.clone(), y.clone(), size, FRAMES, seed, None).map_err(|e| e.to_string())?;
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (runtime, backend) =
        if args.iter().any(|a| a == "cuda") { (Runtime::Cuda, Backend::Cuda) } else { (Runtime::Wgpu, Backend::Wgpu) };
    let device = match timnet_train::gpu::first_device(runtime) {
        Ok(device) => format!("{device:?}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let name = runtime.name();
    println!("{name} device: {device}; CPU: {} threads", std::thread::available_parallelism().map_or(1, |n| n.get()));
    println!(
        "{:>6} {:>14} {:>14} {:>12} {:>12} {:>10}",
        "batch",
        "fused CPU s",
        format!("{name} s"),
        "CPU clips/s",
        "GPU clips/s",
        "GPU/CPU"
    );
    // Batch sizes from the arguments (a software adapter takes minutes a step at 1,024).
    let mut sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).filter(|&n| n > 0).collect();
    if sizes.is_empty() {
        sizes = vec![64, 256, 1024];
    }
    for size in sizes {
        let runs = if size > 256 { 3 } else { 5 };
        let (cpu, gpu) = (step_seconds(Backend::Fused, size, runs), step_seconds(backend, size, runs));
        match (cpu, gpu) {
            (Ok(cpu), Ok(gpu)) => println!(
                "{size:>6} {cpu:>14.3} {gpu:>14.3} {:>12.0} {:>12.0} {:>9.2}x",
                size as f64 / cpu,
                size as f64 / gpu,
                cpu / gpu
            ),
            (cpu, gpu) => println!("{size:>6} {cpu:?} {gpu:?}"),
        }
    }
}
