//! Speed and memory of our code beside the Keras reference, measured on this machine. Run by
//! scripts/bench.sh, which first measures Keras and librosa and passes their figures in
//! (`--keras FILE`); see docs/performance.md.
//!
//! Each figure runs in a child process of its own (`--phase NAME`) so that its peak resident
//! memory is its own.

use std::process::Command;
use std::time::Instant;

use burn::prelude::*;
use burn::tensor::TensorData;
use timnet::analysis::{Analyzer, block_on};
use timnet::audio::{encode_wav, prepare, prepare_samples};
use timnet::features::Mfcc;
use timnet::model::TimNetConfig;
use timnet::weights::Weights;
use timnet_train::fused::FusedTrainer;

const CLIP_22K: usize = 96_000; // 4.35 s at 22,050 Hz: EmoDB's clip length, 188 frames
const BATCH: usize = 64;

/// A speech-like test signal: a gliding tone with noise.
fn signal(n: usize, rate: f32) -> Vec<f32> {
    let mut state = 0x2545_f491u32;
    (0..n)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let t = i as f32 / rate;
            let noise = (state as f32 / u32::MAX as f32 - 0.5) * 0.05;
            0.3 * (2.0 * std::f32::consts::PI * (180.0 + 40.0 * (3.0 * t).sin()) * t).sin() + noise
        })
        .collect()
}

/// Median milliseconds of `f` over `runs` runs, after one warm-up.
fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Peak resident memory of this process so far, in MiB (Linux).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    kib / 1024.0
}

fn batch_of_clips() -> (Vec<f32>, Vec<f32>, usize) {
    let mfcc = Mfcc::default();
    let features = mfcc.compute(&signal(CLIP_22K, 22_050.0));
    let frames = features.frames;
    let mut x = Vec::with_capacity(BATCH * features.data.len());
    for b in 0..BATCH {
        x.extend(features.data.iter().map(|v| v * (1.0 + b as f32 * 0.01)));
    }
    let mut y = vec![0.1 / 7.0; BATCH * 7];
    for r in 0..BATCH {
        y[r * 7 + r % 7] += 0.9;
    }
    (x, y, frames)
}

fn phase(name: &str) -> Result<(f64, String), String> {
    let device = Device::flex();
    Ok(match name {
        "mfcc" => {
            let mfcc = Mfcc::default();
            let y = signal(CLIP_22K, 22_050.0);
            (median_ms(50, || drop(std::hint::black_box(mfcc.compute(&y)))), "MFCC, 4.35 s clip".into())
        }
        "infer" => {
            let weights =
                Weights::load(std::path::Path::new("model-weights/emodb"), &device).map_err(|e| e.to_string())?;
            let model = weights.model.valid();
            let mfcc = Mfcc::new(weights.sidecar.features.clone());
            let clip16 = signal(69_600, 16_000.0); // 4.35 s at 16 kHz
            let ms = median_ms(30, || {
                let prepared = prepare_samples(&clip16, 1, 16_000).expect("a valid clip");
                let f = mfcc.compute(&timnet::audio::fit_length(&prepared.samples, CLIP_22K));
                let x = Tensor::<3>::from_data(TensorData::new(f.data, [1, f.frames, f.coeffs]), &device);
                drop(std::hint::black_box(model.forward(x).into_data()));
            });
            (ms, "one clip from 16 kHz samples: resample + MFCC + forward (flex)".into())
        }
        "step-fused" => {
            device.seed(1);
            let mut fused = FusedTrainer::new(&TimNetConfig::default().init(&device), 1e-3);
            let (x, y, _) = batch_of_clips();
            let mut seed = 0;
            let ms = median_ms(20, || {
                seed += 1;
                fused.step(&x, BATCH, &y, seed);
            });
            (ms, "training step, batch 64 x 188 x 39, fused CPU step".into())
        }
        "step-flex" => {
            let device = Device::flex().autodiff();
            device.seed(1);
            let model = TimNetConfig::default().init(&device);
            let mut optimizer = timnet_train::fit::adam().init();
            let (x, y, frames) = batch_of_clips();
            let mut model = Some(model);
            let ms = median_ms(3, || {
                use burn::optim::GradientsParams;
                use burn::tensor::activation::log_softmax;
                let m = model.take().expect("model");
                let xt = Tensor::<3>::from_data(TensorData::new(x.clone(), [BATCH, frames, 39]), &device);
                let yt = Tensor::<2>::from_data(TensorData::new(y.clone(), [BATCH, 7]), &device);
                let loss = -(log_softmax(m.forward(xt), 1) * yt).sum_dim(1).mean();
                let grads = GradientsParams::from_grads(loss.backward(), &m);
                model = Some(optimizer.step(1e-3, m, grads));
            });
            (ms, "training step, batch 64 x 188 x 39, burn autodiff on flex".into())
        }
        "long-file" => {
            let weights =
                Weights::load(std::path::Path::new("model-weights/emodb"), &device).map_err(|e| e.to_string())?;
            let analyzer = Analyzer::new(weights, device);
            let wav = encode_wav(&signal(16_000 * 600, 16_000.0), 1, 16_000);
            let start = Instant::now();
            let prepared = prepare(&wav).map_err(|e| e.to_string())?;
            let analysis = block_on(analyzer.analyse(&prepared)).map_err(|e| e.to_string())?;
            let ms = start.elapsed().as_secs_f64() * 1e3;
            (ms, format!("a 10-minute 16 kHz WAV: decode + analyse ({} windows)", analysis.windows.len()))
        }
        other => return Err(format!("unknown phase {other}")),
    })
}

struct Figure {
    ms: f64,
    rss: f64,
    what: String,
}

fn run_child(name: &str) -> Result<Figure, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe).args(["--phase", name]).output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("phase {name} failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let v: serde_json::Value = serde_json::from_str(text.trim()).map_err(|e| format!("phase {name}: {e}: {text}"))?;
    Ok(Figure {
        ms: v["ms"].as_f64().unwrap_or(f64::NAN),
        rss: v["peak_rss_mib"].as_f64().unwrap_or(f64::NAN),
        what: v["what"].as_str().unwrap_or_default().to_string(),
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--phase") {
        let name = args.get(i + 1).cloned().unwrap_or_default();
        match phase(&name) {
            Ok((ms, what)) => {
                println!("{}", serde_json::json!({ "ms": ms, "peak_rss_mib": peak_rss_mib(), "what": what }))
            }
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
        return;
    }
    let keras: serde_json::Value = args
        .iter()
        .position(|a| a == "--keras")
        .and_then(|i| args.get(i + 1))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    // (phase, the Keras/librosa figure it compares with, target)
    let rows = [
        ("mfcc", "mfcc_ms", "-"),
        ("infer", "infer_pipeline_ms", "<= 10 ms"),
        ("step-fused", "step_ms", "<= 0.5x Keras"),
        ("step-flex", "step_ms", "-"),
        ("long-file", "", "peak <= 512 MiB"),
    ];
    println!("{:<68} {:>10} {:>10} {:>8} {:>10}  target", "figure", "ours ms", "ref ms", "ratio", "peak MiB");
    for (name, reference, target) in rows {
        match run_child(name) {
            Ok(f) => {
                let r = keras.get(reference).and_then(|v| v.as_f64());
                let (r_text, ratio) = match r {
                    Some(r) => (format!("{r:.2}"), format!("{:.2}", f.ms / r)),
                    None => ("-".into(), "-".into()),
                };
                println!("{:<68} {:>10.2} {:>10} {:>8} {:>10.0}  {target}", f.what, f.ms, r_text, ratio, f.rss);
            }
            Err(e) => println!("{name}: {e}"),
        }
    }
    if let Some(rss) = keras.get("peak_rss_mib").and_then(|v| v.as_f64()) {
        println!("Keras reference process (training steps and inference): peak {rss:.0} MiB");
    }
    if let Some(v) = keras.get("versions") {
        println!("reference versions: {v}");
    }
}
