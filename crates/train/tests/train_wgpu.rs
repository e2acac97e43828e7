//! Training on a GPU through wgpu (the `wgpu` feature; in CI, lavapipe, Mesa's software
//! Vulkan): whole runs from `Run`, against the CPU's. One test function, run in a binary of its
//! own, because the device's random generator is process-wide and the dropout masks must not
//! be drawn by two tests at once.
#![cfg(feature = "wgpu")]

mod support;

use support::{Quiet, StopAfter, max_abs_diff, probabilities, run_config};
use timnet_testkit::{scratch, synthetic_corpus};
use timnet_train::fit::Backend;
use timnet_train::run::{Protocol, Run};

#[test]
fn wgpu_runs_match_the_cpu_and_resume_exactly() {
    let root = scratch("train-wgpu");
    synthetic_corpus(&root.join("corpus"), 6);
    let config = |backend, dropout| {
        let mut config = run_config(&root.join("corpus"), Protocol::Final, 2);
        config.fit.backend = backend;
        config.model.dropout = dropout;
        config
    };

    // Two epochs without dropout (its masks come from each device's own generator): burn's
    // autodiff on the GPU against the same on the CPU, from the same initial weights.
    let mut ends = Vec::new();
    for backend in [Backend::Flex, Backend::Wgpu] {
        let dir = root.join(format!("{backend:?}"));
        let run = Run::prepare(&dir, config(backend, 0.0), false, false).unwrap();
        run.execute(&mut Quiet, None).unwrap().unwrap();
        ends.push(probabilities(&dir.join("weights")));
    }
    let start = {
        let dir = root.join("untrained");
        let run = Run::prepare(&dir, run_config(&root.join("corpus"), Protocol::Final, 0), false, false).unwrap();
        run.execute(&mut Quiet, None).unwrap().unwrap();
        probabilities(&dir.join("weights"))
    };
    let (gap, learned) = (max_abs_diff(&ends[0], &ends[1]), max_abs_diff(&ends[0], &start));
    println!("two epochs, CPU vs wgpu: probabilities {gap:.2e} apart (training moved them {learned:.2e})");
    assert!(learned > 1e-3, "training moved the probabilities by only {learned:.2e}");
    assert!(gap <= 1e-4, "the CPU and wgpu runs' probabilities differ by {gap:.2e}");

    // With dropout, a run stopped after one epoch and resumed equals an uninterrupted one.
    let whole = root.join("whole");
    Run::prepare(&whole, config(Backend::Wgpu, 0.1), false, false).unwrap().execute(&mut Quiet, None).unwrap().unwrap();
    let cut = root.join("cut");
    let stopped = Run::prepare(&cut, config(Backend::Wgpu, 0.1), false, false).unwrap();
    assert!(stopped.execute(&mut StopAfter { after: 1, seen: 0 }, None).unwrap().is_none(), "stopped after one epoch");
    Run::prepare(&cut, config(Backend::Wgpu, 0.1), false, true).unwrap().execute(&mut Quiet, None).unwrap().unwrap();
    assert_eq!(probabilities(&whole.join("weights")), probabilities(&cut.join("weights")), "resumed on wgpu");

    // On two devices (two runtimes over one adapter), without dropout: each device's masks
    // would come from burn's one wgpu generator in whatever order the devices draw. A run
    // stopped and resumed equals an uninterrupted one, and learns.
    let two = |dir: &str| {
        let mut config = config(Backend::Wgpu, 0.0);
        config.fit.devices = vec!["default".into(), "cpu".into()];
        (root.join(dir), config)
    };
    let (whole, config_whole) = two("two-whole");
    Run::prepare(&whole, config_whole, false, false).unwrap().execute(&mut Quiet, None).unwrap().unwrap();
    let (cut, config_cut) = two("two-cut");
    let stopped = Run::prepare(&cut, config_cut.clone(), false, false).unwrap();
    assert!(stopped.execute(&mut StopAfter { after: 1, seen: 0 }, None).unwrap().is_none(), "stopped after one epoch");
    Run::prepare(&cut, config_cut, false, true).unwrap().execute(&mut Quiet, None).unwrap().unwrap();
    let (ends_two, ends_cut) = (probabilities(&whole.join("weights")), probabilities(&cut.join("weights")));
    let learned = max_abs_diff(&ends_two, &start);
    println!(
        "two epochs on two wgpu devices: training moved the probabilities {learned:.2e}; {:.2e} from the one-device run",
        max_abs_diff(&ends_two, &ends[1])
    );
    assert!(learned > 1e-3, "training on two devices moved the probabilities by only {learned:.2e}");
    assert_eq!(ends_two, ends_cut, "resumed on two wgpu devices");
}
