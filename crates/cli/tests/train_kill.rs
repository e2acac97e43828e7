//! Training survives being killed: `train` is stopped by SIGKILL and by SIGINT at random
//! moments and resumed each time, and ends with the weights of an uninterrupted run, bit for
//! bit. The delays are printed, so a failure can be replayed.
#![cfg(unix)]

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant, SystemTime};

use timnet_testkit::{scratch, synthetic_corpus};

fn train(corpus: &Path, out: &Path, cache: &Path, resume: bool) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_train"));
    command
        .args(["--corpus", "folder"])
        .arg(corpus)
        .args(["--final", "--epochs", "80", "--batch-size", "4", "--tabs", "3", "--clip-samples", "22050", "--quiet"])
        .arg("--out")
        .arg(out)
        .arg("--cache")
        .arg(cache)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    command.arg(if resume { "--resume" } else { "--force" });
    command.spawn().expect("train starts")
}

/// Every weight and running statistic, as bits (the record files also hold random parameter
/// ids, so their bytes differ from run to run).
fn every_weight(dir: &Path) -> Vec<u32> {
    let weights = timnet::weights::Weights::load(dir, &timnet::burn::prelude::Device::flex()).unwrap();
    timnet::model::KerasWeights::from_model(&weights.model).flat().iter().map(|v| v.to_bits()).collect()
}

/// A small xorshift generator seeded from the clock.
struct Delays(u64);
impl Delays {
    fn next_ms(&mut self, max: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % max
    }
}

/// Run to the end, interrupting with `signal` after random delays, resuming each time; at least
/// one interruption, or the run is repeated from the start.
fn run_with_interruptions(
    corpus: &Path,
    out: &Path,
    cache: &Path,
    signal: &str,
    delays: &mut Delays,
    span_ms: u64,
) -> usize {
    let mut interruptions = 0;
    let mut span_ms = span_ms;
    for _ in 0..200 {
        let resume = out.join("run.json").is_file();
        let mut child = train(corpus, out, cache, resume);
        // Between 5% and 60% of an uninterrupted run, so the first try is nearly always cut short.
        let wait = span_ms / 20 + delays.next_ms(span_ms * 11 / 20);
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                if status.success() && interruptions > 0 {
                    return interruptions;
                }
                if status.success() {
                    // This run went faster than the timed one (a busy machine is uneven):
                    // start again from nothing with shorter delays.
                    println!("{signal}: finished before {wait} ms; again with shorter delays");
                    std::fs::remove_dir_all(out).unwrap();
                    span_ms = (span_ms / 2).max(20);
                }
                // Stopped by our signal (SIGINT exits 130 after its checkpoint): go on.
                break;
            }
            if started.elapsed() >= Duration::from_millis(wait) {
                println!("{signal} after {wait} ms");
                let pid = child.id().to_string();
                Command::new("kill").args([signal, &pid]).status().unwrap();
                child.wait().unwrap();
                interruptions += 1;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    panic!("{signal}: 200 starts and the run never finished after an interruption");
}

#[test]
fn killed_and_resumed_runs_end_with_the_uninterrupted_weights() {
    let root = scratch("train-kill");
    let corpus = root.join("corpus");
    synthetic_corpus(&corpus, 4);
    let cache = root.join("cache");
    // Once to fill the feature cache, once to time an uninterrupted run.
    assert!(train(&corpus, &root.join("warm"), &cache, false).wait().unwrap().success());
    let started = Instant::now();
    assert!(train(&corpus, &root.join("whole"), &cache, false).wait().unwrap().success());
    let span_ms = started.elapsed().as_millis().max(20) as u64;
    println!("uninterrupted run: {span_ms} ms");
    let want = every_weight(&root.join("whole/weights"));

    let seed = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    println!("delay seed {seed}");
    let mut delays = Delays(seed);
    for signal in ["-KILL", "-INT"] {
        let out = root.join(format!("cut{signal}"));
        let n = run_with_interruptions(&corpus, &out, &cache, signal, &mut delays, span_ms);
        println!("{signal}: {n} interruptions");
        let got = every_weight(&out.join("weights"));
        assert!(got == want, "{signal}: weights differ from the uninterrupted run's");
        assert!(out.join("report.md").is_file());
    }
}
