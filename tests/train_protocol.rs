//! The trainer on data the test makes, and the protocol pieces against scikit-learn and natsort.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::path::PathBuf;

use common::{run_config as config, scratch, synthetic_corpus};
use timnet::audio::encode_wav;
use timnet::corpus::{Corpus, CorpusError};
use timnet::train::folds::kfold;
use timnet::train::run::{Progress, Protocol, Run};

struct Quiet;
impl Progress for Quiet {
    fn epoch(&mut self, log: &timnet::train::fit::EpochLog) {
        println!(
            "epoch {} loss {:.4} {:?}",
            log.epoch,
            log.loss,
            log.scores.iter().map(|(n, s)| (n, s.war)).collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_synthetic_corpus_trains_far_above_chance() {
    let root = scratch("synthetic-train");
    synthetic_corpus(&root.join("corpus"), 12);
    // Small batches: BatchNorm's running statistics (Keras momentum 0.99) need a few hundred
    // steps before inference mode agrees with training mode.
    let mut c = config(&root.join("corpus"), Protocol::KFold { k: 3 }, 30);
    c.fit.batch_size = 4;
    let run = Run::prepare(&root.join("run"), c, false, false).unwrap();
    let results = run.execute(&mut Quiet, None).unwrap().expect("not interrupted");
    let war: f64 =
        results.iter().map(|r| r.scores.last_epoch.as_ref().unwrap().war).sum::<f64>() / results.len() as f64;
    assert!(war >= 0.8, "mean last-epoch WAR {war} (chance is 0.33)");
    for file in ["run.json", "metrics.jsonl", "fold-0.json", "fold-2.json", "weights/fold-3/model.json"] {
        assert!(root.join("run").join(file).is_file(), "{file} written");
    }
}

#[test]
fn a_run_directory_is_not_overwritten_without_force() {
    let root = scratch("synthetic-force");
    synthetic_corpus(&root.join("corpus"), 2);
    let c = config(&root.join("corpus"), Protocol::Final, 1);
    Run::prepare(&root.join("run"), c.clone(), false, false).unwrap();
    std::fs::write(root.join("run/metrics.jsonl"), "x").unwrap();
    let e = Run::prepare(&root.join("run"), c.clone(), false, false).err().unwrap();
    assert!(e.contains("--force"), "{e}");
    assert!(Run::prepare(&root.join("run"), c.clone(), true, false).is_ok());
    let mut other = c;
    other.fit.epochs = 9;
    let e = Run::prepare(&root.join("run"), other, false, true).err().unwrap();
    assert!(e.contains("other settings"), "{e}");
}

/// Tests run as root, so permissions cannot make a directory unwritable; a path through a
/// regular file can, for anyone.
#[test]
fn an_unwritable_run_directory_is_reported_before_training() {
    let root = scratch("synthetic-unwritable");
    synthetic_corpus(&root.join("corpus"), 2);
    std::fs::write(root.join("a-file"), "").unwrap();
    let c = config(&root.join("corpus"), Protocol::Final, 1);
    let e = Run::prepare(&root.join("a-file/run"), c, false, false).err().unwrap();
    assert!(e.contains("a-file/run") && e.contains("Not a directory"), "{e}");
}

#[test]
fn kfold_equals_scikit_learn() {
    for (n, fixture) in
        [(535, include_str!("fixtures/kfold_535.json")), (1200, include_str!("fixtures/kfold_1200.json"))]
    {
        let want: Vec<Vec<usize>> = serde_json::from_str(fixture).unwrap();
        let got: Vec<Vec<usize>> = kfold(n, 10, 46).into_iter().map(|f| f.test).collect();
        assert_eq!(got, want, "KFold(10, shuffle=True, random_state=46) over {n} items");
    }
}

fn shared_data(corpus: &str) -> PathBuf {
    common::crate_dir().join("../shared/data").join(corpus)
}

#[test]
fn readers_give_the_official_item_order() {
    let want: serde_json::Value = serde_json::from_str(include_str!("fixtures/item_order.json")).unwrap();
    for name in ["emodb", "casia"] {
        let corpus = Corpus::open(name, &shared_data(name)).unwrap();
        let root = shared_data(name);
        let got: Vec<String> =
            corpus.items.iter().map(|i| i.path.strip_prefix(&root).unwrap().to_string_lossy().into_owned()).collect();
        let want: Vec<String> = serde_json::from_value(want[name].clone()).unwrap();
        assert_eq!(got, want, "{name} item order");
        assert!(corpus.skipped.is_empty(), "{:?}", corpus.skipped);
    }
    let emodb = Corpus::open("emodb", &shared_data("emodb")).unwrap();
    assert_eq!(emodb.counts(), vec![127, 81, 46, 69, 71, 79, 62]);
    assert_eq!(emodb.speakers().len(), 10);
}

#[test]
fn bad_corpora_get_clear_errors() {
    let root = scratch("bad-corpora");
    let missing = Corpus::open("emodb", &root.join("nope")).unwrap_err();
    assert!(matches!(missing, CorpusError::NotFound(_)), "{missing}");
    std::fs::create_dir_all(root.join("empty")).unwrap();
    let empty = Corpus::open("emodb", &root.join("empty")).unwrap_err();
    assert!(empty.to_string().contains("no audio files"), "{empty}");
    synthetic_corpus(&root.join("one"), 1);
    std::fs::remove_dir_all(root.join("one/mid")).unwrap();
    std::fs::remove_dir_all(root.join("one/high")).unwrap();
    let one = Corpus::open("folder", &root.join("one")).unwrap_err();
    assert!(one.to_string().contains("only one emotion"), "{one}");
    let unknown = Corpus::open("timit", &root).unwrap_err();
    assert!(unknown.to_string().contains("unknown corpus"), "{unknown}");
    // Files with names that are not EmoDB names are listed, not dropped in silence.
    std::fs::create_dir_all(root.join("mixed")).unwrap();
    std::fs::write(root.join("mixed/03a01Wa.wav"), encode_wav(&[0.0; 100], 1, 16_000)).unwrap();
    std::fs::write(root.join("mixed/03a01Na.wav"), encode_wav(&[0.0; 100], 1, 16_000)).unwrap();
    std::fs::write(root.join("mixed/hello.wav"), encode_wav(&[0.0; 100], 1, 16_000)).unwrap();
    let mixed = Corpus::open("emodb", &root.join("mixed")).unwrap();
    assert_eq!(mixed.items.len(), 2);
    assert_eq!(mixed.skipped.len(), 1);
}

#[test]
fn class_subsets_renumber_labels_in_the_given_order() {
    let emodb = Corpus::open("emodb", &shared_data("emodb")).unwrap();
    let five: Vec<String> = ["angry", "fear", "happy", "neutral", "sad"].iter().map(|s| s.to_string()).collect();
    let subset = emodb.select(&five).unwrap();
    assert_eq!(subset.counts(), vec![127, 69, 71, 79, 62]);
    assert_eq!(subset.skipped.len(), 81 + 46);
    let casia = Corpus::open("casia", &shared_data("casia")).unwrap();
    assert!(casia.select(&["boredom".to_string()]).is_err());
}

#[test]
fn validation_selection_reports_the_epoch_chosen_on_held_out_training_data() {
    let root = scratch("synthetic-select");
    synthetic_corpus(&root.join("corpus"), 10);
    let mut c = config(&root.join("corpus"), Protocol::KFold { k: 3 }, 4);
    c.select_on_validation = true;
    let run = Run::prepare(&root.join("run"), c, false, false).unwrap();
    let results = run.execute(&mut Quiet, None).unwrap().expect("not interrupted");
    for fold in &results {
        let (epoch, scores) = fold.scores.selected_on_validation.as_ref().expect("a validation-selected figure");
        assert!((1..=4).contains(epoch));
        // Of the 20 training items, about 10% of each class (rounded, at least 5 items per class
        // here, so one each) are held out.
        assert_eq!(fold.train_items, 17, "{}", fold.name);
        assert_eq!(scores.confusion.iter().flatten().sum::<usize>(), fold.test_items);
    }
    let summary = timnet::train::report::CorpusSummary {
        name: "folder".into(),
        labels: vec!["high".into(), "low".into(), "mid".into()],
        counts: vec![10; 3],
        used: 30,
        ..Default::default()
    };
    timnet::train::report::write(&run, &results, &summary).unwrap();
    let report = std::fs::read_to_string(root.join("run/report.md")).unwrap();
    assert!(report.contains("validation hold-out"), "the report shows the validation-selected figure");
}

#[test]
fn cross_corpus_evaluation_scores_only_the_shared_emotions() {
    let root = scratch("synthetic-cross");
    synthetic_corpus(&root.join("corpus"), 12);
    let mut c = config(&root.join("corpus"), Protocol::Final, 30);
    c.fit.batch_size = 4;
    let run = Run::prepare(&root.join("run"), c, false, false).unwrap();
    run.execute(&mut Quiet, None).unwrap().expect("not interrupted");
    let weights = timnet::weights::Weights::load(&root.join("run/weights"), &burn::prelude::Device::flex()).unwrap();

    // A target corpus with two of the three emotions and one the model does not know.
    let target = root.join("target");
    synthetic_corpus(&target, 6);
    std::fs::remove_dir_all(target.join("mid")).unwrap();
    std::fs::create_dir_all(target.join("other")).unwrap();
    std::fs::copy(target.join("low/0.wav"), target.join("other/0.wav")).unwrap();
    let corpus = Corpus::open("folder", &target).unwrap();
    let result = timnet::train::evaluate::evaluate(&weights, corpus, None, None).unwrap();
    assert_eq!(result.classes, ["high", "low"], "only the shared emotions, in the model's order");
    assert_eq!(result.items, 12);
    assert!(result.scores.uar >= 0.8, "UAR {} on an easy target", result.scores.uar);

    let only_one = root.join("one");
    synthetic_corpus(&only_one, 2);
    for gone in ["mid", "high"] {
        std::fs::remove_dir_all(only_one.join(gone)).unwrap();
    }
    std::fs::create_dir_all(only_one.join("other")).unwrap();
    std::fs::copy(only_one.join("low/0.wav"), only_one.join("other/0.wav")).unwrap();
    let corpus = Corpus::open("folder", &only_one).unwrap();
    let error = timnet::train::evaluate::evaluate(&weights, corpus, None, None).unwrap_err();
    assert!(error.contains("fewer than two"), "{error}");

    // The command line prints the same figures.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_timnet"))
        .args(["eval", "--json", "--weights"])
        .arg(root.join("run/weights"))
        .args(["--corpus", "folder"])
        .arg(&target)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["items"], 12);
    assert!((json["uar"].as_f64().unwrap() - result.scores.uar).abs() < 1e-12);
}
