//! Training on an NVIDIA GPU through CUDA (the `cuda` feature): two epochs against the CPU's,
//! and a run stopped and resumed against an uninterrupted one. Skipped, in words, where there
//! is no CUDA device (CI has none). A binary of its own, as train_wgpu.rs, because the
//! devices' random generators are process-wide.
#![cfg(feature = "cuda")]

mod support;

use support::{max_abs_diff, stopped_and_resumed, trained, two_epochs};
use timnet_testkit::{scratch, synthetic_corpus};
use timnet_train::fit::Backend;
use timnet_train::gpu::{Runtime, first_device};

#[test]
fn cuda_runs_match_the_cpu_and_resume_exactly() {
    if let Err(e) = first_device(Runtime::Cuda) {
        println!("SKIPPED: training on CUDA: {e}");
        return;
    }
    let root = scratch("train-cuda");
    let corpus = root.join("corpus");
    synthetic_corpus(&corpus, 6);
    let cpu = trained(&root.join("cpu"), two_epochs(&corpus, Backend::Flex, 0.0));
    let cuda = trained(&root.join("cuda"), two_epochs(&corpus, Backend::Cuda, 0.0));
    let gap = max_abs_diff(&cpu, &cuda);
    println!("two epochs, CPU vs CUDA: probabilities {gap:.2e} apart");
    assert!(gap <= 1e-4, "the CPU and CUDA runs' probabilities differ by {gap:.2e}");

    let whole = trained(&root.join("whole"), two_epochs(&corpus, Backend::Cuda, 0.1));
    assert_eq!(
        whole,
        stopped_and_resumed(&root.join("cut"), two_epochs(&corpus, Backend::Cuda, 0.1)),
        "resumed on CUDA"
    );
}
