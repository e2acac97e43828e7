//! Resume is exact: a run stopped after an epoch and resumed ends with the weights of an
//! uninterrupted run. In a test binary of its own, because the backend's random generator is
//! process-wide and other tests drawing from it would change the dropout masks.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use support::{Quiet, StopAfter, logits, mix_config};
use timnet_testkit::{scratch, synthetic_corpus};
use timnet_train::augment::Augmentation;
use timnet_train::fit::Backend;
use timnet_train::run::{Protocol, Run};

#[test]
fn resume_ends_with_the_same_weights_as_an_uninterrupted_run() {
    // Both training steps: the fused one and burn's autodiff keep different state between
    // epochs. The last cases mix two corpora with augmented copies, masks and balanced batches,
    // whose draws must resume as exactly, the very last with a corpus critic, whose weights and
    // optimiser the checkpoint must hold too; and one averaging the weights from the first
    // epoch, whose running mean the checkpoint must hold.
    let cases = [
        (Backend::Fused, false, false, 0),
        (Backend::Flex, false, false, 0),
        (Backend::Fused, true, false, 0),
        (Backend::Fused, true, true, 0),
        (Backend::Fused, true, false, 1),
    ];
    let mut mixed = Vec::new();
    for (backend, augmented, adversary, average_from) in cases {
        let root = scratch(&format!("synthetic-resume-{backend:?}-{augmented}-{adversary}-{average_from}"));
        synthetic_corpus(&root.join("corpus"), 6);
        synthetic_corpus(&root.join("other"), 3);
        let (corpus, other) = (root.join("corpus"), root.join("other"));
        let config = || {
            let dirs: &[&std::path::Path] = if augmented { &[&corpus, &other] } else { &[&corpus] };
            let mut config = mix_config(dirs, Protocol::Final, 3);
            config.fit.backend = backend;
            if augmented {
                config.classes = Some(vec!["high".into(), "low".into(), "mid".into()]);
                config.augmentation = Augmentation::all(2);
                config.fit.mask = true;
                config.fit.balance_corpora = true;
                // Validation speakers, scored every epoch (by the average and beside it, where averaging).
                config.select_on_validation = true;
            }
            if adversary {
                config.fit.adversary = 1.0;
            }
            config.fit.average_from = average_from;
            config
        };
        let whole = Run::prepare(&root.join("whole"), config(), false, false).unwrap();
        whole.execute(&mut Quiet, None).unwrap().unwrap();

        let cut = Run::prepare(&root.join("cut"), config(), false, false).unwrap();
        assert!(cut.execute(&mut StopAfter { after: 1, seen: 0 }, None).unwrap().is_none(), "stopped after one epoch");
        let resumed = Run::prepare(&root.join("cut"), config(), false, true).unwrap();
        resumed.execute(&mut Quiet, None).unwrap().unwrap();

        // Bit-for-bit equal outputs: every weight and running statistic is the same.
        let (whole, cut) = (logits(&root.join("whole/weights"), 2), logits(&root.join("cut/weights"), 2));
        assert_eq!(whole, cut, "{backend:?}, augmented: {augmented}, adversary: {adversary}, averaged: {average_from}");
        if augmented {
            mixed.push(whole);
        }
        // Each epoch's record holds the critic's loss where there is a critic, and only there.
        let metrics = std::fs::read_to_string(root.join("whole/metrics.jsonl")).unwrap();
        for line in metrics.lines() {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            match record["critic_loss"].as_f64() {
                Some(loss) => assert!(adversary && loss > 0.0 && loss.is_finite(), "{line}"),
                None => assert!(!adversary, "no critic loss in {line}"),
            }
            // While averaging, the last step's weights are scored beside the average.
            let beside = record["scores"].as_array().unwrap().iter().any(|s| s[0] == "unaveraged/validation");
            assert_eq!(beside, average_from > 0, "{line}");
        }
    }
    // The critic's reversed gradient, and the average, each changed the model kept.
    assert_ne!(mixed[0], mixed[1], "the same weights with and without a corpus critic");
    assert_ne!(mixed[0], mixed[2], "the same weights with and without averaging");
}
