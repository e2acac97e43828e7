//! Training on a GPU through wgpu (the `wgpu` feature; in CI, lavapipe, Mesa's software
//! Vulkan): whole runs from `Run`, against the CPU's. One test function, run in a binary of its
//! own, because the device's random generator is process-wide and the dropout masks must not
//! be drawn by two tests at once.
#![cfg(feature = "wgpu")]

mod support;

use support::{max_abs_diff, run_config, stopped_and_resumed, trained, two_epochs};
use timnet_testkit::{scratch, synthetic_corpus};
use timnet_train::fit::Backend;
use timnet_train::run::Protocol;

#[test]
fn wgpu_runs_match_the_cpu_and_resume_exactly() {
    let root = scratch("train-wgpu");
    let corpus = root.join("corpus");
    synthetic_corpus(&corpus, 6);

    // Two epochs without dropout (its masks come from each device's own generator): burn's
    // autodiff on the GPU against the same on the CPU, from the same initial weights.
    let ends: Vec<Vec<f32>> = [Backend::Flex, Backend::Wgpu]
        .into_iter()
        .map(|backend| trained(&root.join(format!("{backend:?}")), two_epochs(&corpus, backend, 0.0)))
        .collect();
    let start = trained(&root.join("untrained"), run_config(&corpus, Protocol::Final, 0));
    let (gap, learned) = (max_abs_diff(&ends[0], &ends[1]), max_abs_diff(&ends[0], &start));
    println!("two epochs, CPU vs wgpu: probabilities {gap:.2e} apart (training moved them {learned:.2e})");
    assert!(learned > 1e-3, "training moved the probabilities by only {learned:.2e}");
    assert!(gap <= 1e-4, "the CPU and wgpu runs' probabilities differ by {gap:.2e}");

    // With dropout, a run stopped after one epoch and resumed equals an uninterrupted one.
    let whole = trained(&root.join("whole"), two_epochs(&corpus, Backend::Wgpu, 0.1));
    assert_eq!(
        whole,
        stopped_and_resumed(&root.join("cut"), two_epochs(&corpus, Backend::Wgpu, 0.1)),
        "resumed on wgpu"
    );

    // On two devices (two runtimes over one adapter), without dropout: each device's masks
    // would come from burn's one wgpu generator in whatever order the devices draw. A run
    // stopped and resumed equals an uninterrupted one, and learns.
    let two = || {
        let mut config = two_epochs(&corpus, Backend::Wgpu, 0.0);
        config.fit.devices = vec!["default".into(), "cpu".into()];
        config
    };
    let ends_two = trained(&root.join("two-whole"), two());
    let learned = max_abs_diff(&ends_two, &start);
    println!(
        "two epochs on two wgpu devices: training moved the probabilities {learned:.2e}; {:.2e} from the one-device run",
        max_abs_diff(&ends_two, &ends[1])
    );
    assert!(learned > 1e-3, "training on two devices moved the probabilities by only {learned:.2e}");
    assert_eq!(ends_two, stopped_and_resumed(&root.join("two-cut"), two()), "resumed on two wgpu devices");
}
