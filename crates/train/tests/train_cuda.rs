//! Training on an NVIDIA GPU through CUDA (the `cuda` feature): two epochs against the CPU's,
//! and a run stopped and resumed against an uninterrupted one. Skipped, in words, where there
//! is no CUDA device (CI has none). A binary of its own, as train_wgpu.rs, because the
//! devices' random generators are process-wide.
#![cfg(feature = "cuda")]

mod support;

use support::{Quiet, StopAfter, max_abs_diff, probabilities, run_config};
use timnet_testkit::{scratch, synthetic_corpus};
use timnet_train::fit::Backend;
use timnet_train::gpu::{Runtime, first_device};
use timnet_train::run::{Protocol, Run};

#[test]
fn cuda_runs_match_the_cpu_and_resume_exactly() {
    if let Err(e) = first_device(Runtime::Cuda) {
        println!("SKIPPED: training on CUDA: {e}");
        return;
    }
    let root = scratch("train-cuda");
    synthetic_corpus(&root.join("corpus"), 6);
    let config = |backend, dropout| {
        let mut config = run_config(&root.join("corpus"), Protocol::Final, 2);
        config.fit.backend = backend;
        config.model.dropout = dropout;
        config
    };
    let mut ends = Vec::new();
    for backend in [Backend::Flex, Backend::Cuda] {
        let dir = root.join(format!("{backend:?}"));
        Run::prepare(&dir, config(backend, 0.0), false, false).unwrap().execute(&mut Quiet, None).unwrap().unwrap();
        ends.push(probabilities(&dir.join("weights")));
    }
    let gap = max_abs_diff(&ends[0], &ends[1]);
    println!("two epochs, CPU vs CUDA: probabilities {gap:.2e} apart");
    assert!(gap <= 1e-4, "the CPU and CUDA runs' probabilities differ by {gap:.2e}");

    let whole = root.join("whole");
    Run::prepare(&whole, config(Backend::Cuda, 0.1), false, false).unwrap().execute(&mut Quiet, None).unwrap().unwrap();
    let cut = root.join("cut");
    let stopped = Run::prepare(&cut, config(Backend::Cuda, 0.1), false, false).unwrap();
    assert!(stopped.execute(&mut StopAfter { after: 1, seen: 0 }, None).unwrap().is_none(), "stopped after one epoch");
    Run::prepare(&cut, config(Backend::Cuda, 0.1), false, true).unwrap().execute(&mut Quiet, None).unwrap().unwrap();
    assert_eq!(probabilities(&whole.join("weights")), probabilities(&cut.join("weights")), "resumed on CUDA");
}
