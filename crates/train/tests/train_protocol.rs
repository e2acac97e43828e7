//! The trainer on data the test makes, and the protocol pieces against scikit-learn and natsort.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use support::{Quiet, run_config as config};
use timnet::audio::encode_wav;
use timnet_testkit::{scratch, shared_corpus, synthetic_corpus};
use timnet_train::corpus::{Corpus, CorpusError, CorpusKind};
use timnet_train::folds::kfold;
use timnet_train::run::{Protocol, Run};

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
    let e = Run::prepare(&root.join("run"), c.clone(), false, false).err().unwrap().to_string();
    assert!(e.contains("--force"), "{e}");
    assert!(Run::prepare(&root.join("run"), c.clone(), true, false).is_ok());
    let mut other = c;
    other.fit.epochs = 9;
    let e = Run::prepare(&root.join("run"), other, false, true).err().unwrap().to_string();
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
    let e = Run::prepare(&root.join("a-file/run"), c, false, false).err().unwrap().to_string();
    assert!(e.contains("a-file/run") && e.contains("Not a directory"), "{e}");
}

#[test]
fn kfold_equals_scikit_learn() {
    for (n, fixture) in [
        (535, include_str!("../../../tests/fixtures/kfold_535.json")),
        (1200, include_str!("../../../tests/fixtures/kfold_1200.json")),
    ] {
        let want: Vec<Vec<usize>> = serde_json::from_str(fixture).unwrap();
        let got: Vec<Vec<usize>> = kfold(n, 10, 46).into_iter().map(|f| f.test).collect();
        assert_eq!(got, want, "KFold(10, shuffle=True, random_state=46) over {n} items");
    }
}

#[test]
fn readers_give_the_official_item_order() {
    let want: serde_json::Value =
        serde_json::from_str(include_str!("../../../tests/fixtures/item_order.json")).unwrap();
    for kind in [CorpusKind::Emodb, CorpusKind::Casia] {
        let name = kind.name();
        let Some(root) = shared_corpus(name, "readers_give_the_official_item_order") else { return };
        let corpus = Corpus::open(kind, &root).unwrap();
        let got: Vec<String> =
            corpus.items.iter().map(|i| i.path.strip_prefix(&root).unwrap().to_string_lossy().into_owned()).collect();
        let want: Vec<String> = serde_json::from_value(want[name].clone()).unwrap();
        assert_eq!(got, want, "{name} item order");
        assert!(corpus.skipped.is_empty(), "{:?}", corpus.skipped);
    }
    let Some(dir) = shared_corpus("emodb", "readers_give_the_official_item_order") else { return };
    let emodb = Corpus::open(CorpusKind::Emodb, &dir).unwrap();
    assert_eq!(emodb.counts(), vec![127, 81, 46, 69, 71, 79, 62]);
    assert_eq!(emodb.speakers().len(), 10);
}

#[test]
fn bad_corpora_get_clear_errors() {
    let root = scratch("bad-corpora");
    let missing = Corpus::open(CorpusKind::Emodb, &root.join("nope")).unwrap_err();
    assert!(matches!(missing, CorpusError::NotFound(_)), "{missing}");
    std::fs::create_dir_all(root.join("empty")).unwrap();
    let empty = Corpus::open(CorpusKind::Emodb, &root.join("empty")).unwrap_err();
    assert!(empty.to_string().contains("no audio files"), "{empty}");
    synthetic_corpus(&root.join("one"), 1);
    std::fs::remove_dir_all(root.join("one/mid")).unwrap();
    std::fs::remove_dir_all(root.join("one/high")).unwrap();
    let one = Corpus::open(CorpusKind::Folder, &root.join("one")).unwrap_err();
    assert!(one.to_string().contains("only one emotion"), "{one}");
    let unknown = "timit".parse::<CorpusKind>().unwrap_err();
    assert!(unknown.to_string().contains("unknown corpus") && unknown.to_string().contains("nemo"), "{unknown}");
    // Files with names that are not EmoDB names are listed, not dropped in silence.
    std::fs::create_dir_all(root.join("mixed")).unwrap();
    std::fs::write(root.join("mixed/03a01Wa.wav"), encode_wav(&[0.0; 100], 1, 16_000)).unwrap();
    std::fs::write(root.join("mixed/03a01Na.wav"), encode_wav(&[0.0; 100], 1, 16_000)).unwrap();
    std::fs::write(root.join("mixed/hello.wav"), encode_wav(&[0.0; 100], 1, 16_000)).unwrap();
    let mixed = Corpus::open(CorpusKind::Emodb, &root.join("mixed")).unwrap();
    assert_eq!(mixed.items.len(), 2);
    assert_eq!(mixed.skipped.len(), 1);
}

#[test]
fn class_subsets_renumber_labels_in_the_given_order() {
    let Some(emodb) = shared_corpus("emodb", "class_subsets_renumber_labels_in_the_given_order") else { return };
    let Some(casia) = shared_corpus("casia", "class_subsets_renumber_labels_in_the_given_order") else { return };
    let emodb = Corpus::open(CorpusKind::Emodb, &emodb).unwrap();
    let five: Vec<String> = ["angry", "fear", "happy", "neutral", "sad"].iter().map(|s| s.to_string()).collect();
    let subset = emodb.select(&five).unwrap();
    assert_eq!(subset.counts(), vec![127, 69, 71, 79, 62]);
    assert_eq!(subset.skipped.len(), 81 + 46);
    let casia = Corpus::open(CorpusKind::Casia, &casia).unwrap();
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
    let summary = timnet_train::report::CorpusSummary {
        name: "folder".into(),
        labels: vec!["high".into(), "low".into(), "mid".into()],
        counts: vec![10; 3],
        used: 30,
        ..Default::default()
    };
    timnet_train::report::write(&run, &results, &[summary]).unwrap();
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
    let corpus = Corpus::open(CorpusKind::Folder, &target).unwrap();
    let result = timnet_train::evaluate::evaluate(&weights, corpus, None, None).unwrap();
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
    let corpus = Corpus::open(CorpusKind::Folder, &only_one).unwrap();
    let error = timnet_train::evaluate::evaluate(&weights, corpus, None, None).unwrap_err().to_string();
    assert!(error.contains("fewer than two"), "{error}");
}

#[test]
fn a_mix_leaves_each_corpus_out_and_scores_its_validation_speakers_per_corpus() {
    let root = scratch("mix-loco");
    let (a, b) = (root.join("a"), root.join("b"));
    synthetic_corpus(&a, 6);
    synthetic_corpus(&b, 4);
    let mut c = support::mix_config(&[&a, &b], Protocol::LeaveOneCorpusOut, 2);
    c.classes = Some(vec!["high".into(), "low".into(), "mid".into()]);
    c.select_on_validation = true;
    c.fit.balance_corpora = true;
    let run = Run::prepare(&root.join("run"), c, false, false).unwrap();
    let results = run.execute(&mut Quiet, None).unwrap().expect("not interrupted");
    assert_eq!(results.len(), 2);
    assert_eq!((results[0].name.as_str(), results[0].test_items), ("unseen folder", 18));
    assert_eq!(results[1].test_items, 12);
    // Trained on the other corpus alone, less its validation tenth.
    assert_eq!(results[0].train_items, 12 - 3);
    assert!(results.iter().all(|r| r.scores.best_on_test.is_some() && r.scores.selected_on_validation.is_some()));
    let metrics = std::fs::read_to_string(root.join("run/metrics.jsonl")).unwrap();
    assert!(metrics.contains("validation/folder"), "per-corpus validation scores are logged");
    let summary = timnet_train::report::CorpusSummary {
        name: "folder".into(),
        labels: vec!["x".into(); 3],
        counts: vec![1; 3],
        ..Default::default()
    };
    timnet_train::report::write(&run, &results, &[summary.clone(), summary]).unwrap();
    let report = std::fs::read_to_string(root.join("run/report.md")).unwrap();
    assert!(!report.contains("best epoch on the test fold"), "no test-chosen figure on unseen corpora:\n{report}");
    assert!(report.contains("validation hold-out"), "{report}");
}

#[test]
fn a_mix_shares_one_label_space_and_skips_what_it_lacks() {
    let root = scratch("mix-labels");
    synthetic_corpus(&root.join("a"), 2);
    let a = Corpus::open(CorpusKind::Folder, &root.join("a")).unwrap();
    let mixed = a.relabel(&["mid".to_string(), "high".to_string(), "sad".to_string()]).unwrap();
    assert_eq!(mixed.labels, ["mid", "high", "sad"]);
    assert_eq!(mixed.counts(), vec![2, 2, 0], "sad has no items here, low is not in the mix");
    assert_eq!(mixed.skipped.len(), 2);
    assert!(mixed.skipped.iter().all(|(_, why)| why.contains("not in the mix")));
}

#[test]
fn per_speaker_normalisation_pools_each_speaker_and_survives_the_cache() {
    let (root, c) = per_speaker_mix("mix-speaker-norm", 3, 2);
    let cache = root.join("cache");
    let data = c.prepare_data(&mut Quiet, Some(&cache)).unwrap().data;
    let (coeffs, size) = (data.coeffs, data.frames * data.coeffs);
    assert_eq!(data.own.len(), data.len());
    // Folder corpora name no speakers: each corpus is pooled as one voice.
    for corpus in 0..2 {
        let rows: Vec<usize> = (0..data.len()).filter(|&i| data.corpus[i] == corpus).collect();
        for (k, (mean, var)) in pooled_moments(&data, &rows).into_iter().enumerate() {
            assert!(
                mean.abs() < 1e-4 && ((var - 1.0).abs() < 1e-3 || var < 1e-9),
                "corpus {corpus} c{k}: {mean} {var}"
            );
        }
        for &i in &rows {
            // The pool's statistics, not the utterance's own: each tone keeps what sets it
            // apart from the others (per-utterance normalisation would centre every one on 0).
            let own = data.own[i].clone();
            let shift = (0..coeffs)
                .map(|k| own.clone().map(|t| data.features[i * size + t * coeffs + k]).sum::<f32>() / own.len() as f32)
                .fold(0.0f32, |m, x| m.max(x.abs()));
            assert!(shift > 0.5, "row {i}: its mean is within {shift} of the pool's");
            let padding: Vec<usize> = (0..data.frames).filter(|t| !own.contains(t)).collect();
            assert!(!padding.is_empty(), "the 0.6 s tones are padded to 1 s");
            assert!(padding.iter().all(|t| data.features[i * size + t * coeffs..][..coeffs].iter().all(|&x| x == 0.0)));
        }
    }
    // Prepared again, the features come from the cache (not rewritten) with their own frames.
    let written = |dir: &std::path::Path| -> Vec<std::time::SystemTime> {
        let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        files.iter().map(|f| std::fs::metadata(f).unwrap().modified().unwrap()).collect()
    };
    let before = written(&cache);
    let again = c.prepare_data(&mut Quiet, Some(&cache)).unwrap().data;
    assert_eq!((before.len(), written(&cache)), (2, before.clone()));
    assert_eq!((again.features, again.own), (data.features, data.own));
}

/// Two synthetic folder corpora (`a` and `b` utterances of each of three tones) in `scratch(name)`,
/// left out one at a time, with per-speaker normalisation.
fn per_speaker_mix(name: &str, a: usize, b: usize) -> (std::path::PathBuf, timnet_train::run::RunConfig) {
    let root = scratch(name);
    let dirs = [root.join("a"), root.join("b")];
    synthetic_corpus(&dirs[0], a);
    synthetic_corpus(&dirs[1], b);
    let mut c = support::mix_config(&[&dirs[0], &dirs[1]], Protocol::LeaveOneCorpusOut, 1);
    c.classes = Some(vec!["high".into(), "low".into(), "mid".into()]);
    c.normalisation = timnet::features::Normalisation::PerSpeaker;
    (root, c)
}

/// Each coefficient's mean and variance over the own frames of `rows` together.
fn pooled_moments(data: &timnet_train::data::Dataset, rows: &[usize]) -> Vec<(f64, f64)> {
    let (coeffs, size) = (data.coeffs, data.frames * data.coeffs);
    let frames: Vec<&[f32]> = rows
        .iter()
        .flat_map(|&i| data.own[i].clone().map(move |t| (i, t)))
        .map(|(i, t)| &data.features[i * size + t * coeffs..i * size + (t + 1) * coeffs])
        .collect();
    assert!(frames.len() > 3 * rows.len(), "{} own frames", frames.len());
    timnet_testkit::column_moments(&frames)
}

#[test]
fn a_voice_known_by_a_few_takes_is_normalised_by_them_and_they_are_never_scored() {
    let (root, mut c) = per_speaker_mix("mix-speaker-takes", 4, 3);
    c.speaker_takes = Some(2);
    c.select_on_validation = true;
    let run = Run::prepare(&root.join("run"), c.clone(), false, false).unwrap();
    let prepared = c.prepare_data(&mut Quiet, None).unwrap();
    let data = &prepared.data;
    // Each corpus is one voice here; two of its utterances are its takes.
    assert_eq!(data.enrolment.len(), 4, "{:?}", data.enrolment);
    for corpus in 0..2 {
        let rows: Vec<usize> = (0..data.len()).filter(|&i| data.corpus[i] == corpus).collect();
        let takes: Vec<usize> = data.enrolment.iter().copied().filter(|&i| data.corpus[i] == corpus).collect();
        assert_eq!(takes.len(), 2);
        // The takes' own frames have mean 0 and variance 1; all of the voice's frames do not,
        // so the statistics came from the takes alone.
        for (k, (mean, var)) in pooled_moments(data, &takes).into_iter().enumerate() {
            assert!(mean.abs() < 1e-4 && ((var - 1.0).abs() < 1e-3 || var < 1e-9), "c{k}: {mean} {var}");
        }
        let off = pooled_moments(data, &rows).iter().map(|(m, v)| m.abs().max((v - 1.0).abs())).fold(0.0, f64::max);
        assert!(off > 0.1, "corpus {corpus}: the whole voice is within {off} of mean 0, variance 1");
    }
    // A test or validation utterance is never one of its voice's takes.
    let folds = run.folds(&prepared).unwrap();
    for (index, fold) in folds.iter().enumerate() {
        let left_out = fold.test.first().map(|&i| data.corpus[i]).unwrap();
        assert_eq!(fold.test.len(), [12, 9][left_out] - 2, "{}", fold.name);
        assert!(fold.test.iter().all(|i| !data.enrolment.contains(i)));
        let (fit, validation) = run.fit_and_validation(data, index, fold);
        assert!(validation.iter().all(|i| !data.enrolment.contains(i)));
        assert!(fit.iter().all(|&i| data.corpus[i] != left_out));
    }
    // The same takes are drawn again, and none without per-speaker normalisation.
    assert_eq!(c.prepare_data(&mut Quiet, None).unwrap().data.enrolment, data.enrolment);
    c.normalisation = timnet::features::Normalisation::PerUtterance;
    let e = c.prepare_data(&mut Quiet, None).err().unwrap().to_string();
    assert!(e.contains("per-speaker normalisation"), "{e}");
}

/// A corpus tree with these (relative path) files, each a short WAV.
fn tree(root: &std::path::Path, files: &[&str]) {
    for f in files {
        let path = root.join(f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, encode_wav(&[0.1; 400], 1, 16_000)).unwrap();
    }
}

#[test]
fn tess_reads_both_folders_once_each() {
    let root = scratch("reader-tess");
    tree(
        &root.join("datasets"),
        &[
            "train/OAF_angry/OAF_back_angry.wav",
            "train/YAF_pleasant_surprised/YAF_bath_ps.wav",
            "testnew/0testYAF_gaze_ps39.wav",
            "testnew/751testOA_bite_neutral48.wav",
            // The same utterance as the first, under testnew's naming.
            "testnew/9testOAF_back_angry3.wav",
            "testnew/notes.wav",
        ],
    );
    let tess = Corpus::open(CorpusKind::Tess, &root).unwrap();
    assert_eq!(tess.items.len(), 4);
    assert_eq!(tess.speakers(), ["OAF", "YAF"]);
    let label = |name: &str| tess.labels.iter().position(|l| l == name).unwrap();
    assert_eq!(tess.counts()[label("surprise")], 2);
    assert_eq!(tess.skipped.len(), 2, "{:?}", tess.skipped);
    assert!(tess.skipped.iter().any(|(_, why)| why.contains("the same utterance")));
}

#[test]
fn nemo_takes_emotion_and_speaker_from_its_table() {
    let root = scratch("reader-nemo");
    tree(&root.join("samples"), &["EB0_anger_1.wav", "WR0_surprised_64.wav", "KS0_neutral_2.wav", "XX0_anger_9.wav"]);
    std::fs::write(
        root.join("data.tsv"),
        "file_id\temotion\traw_text\tnormalized_text\tspeaker_id\tgender\tage\n\
         EB0_anger_1.wav\tanger\tA.\ta\t        EB0\tfemale\t27\n\
         WR0_surprised_64.wav\tsurprised\tB.\tb\tWR0\tmale\t23\n\
         KS0_neutral_2.wav\tneutral\tC.\tc\tKS0\tmale\t23\n",
    )
    .unwrap();
    let nemo = Corpus::open(CorpusKind::Nemo, &root).unwrap();
    assert_eq!(nemo.items.len(), 3);
    assert_eq!(nemo.skipped.len(), 1, "a file the table does not list");
    let speakers: Vec<_> = nemo.items.iter().map(|i| i.speaker.clone().unwrap()).collect();
    assert!(speakers.contains(&"EB0".to_string()) && speakers.contains(&"WR0".to_string()));
    assert_eq!(nemo.labels[nemo.items[0].label], "angry");
}

#[test]
fn ased_takes_emotion_and_speaker_from_names() {
    let root = scratch("reader-ased");
    tree(
        &root,
        &[
            "01Neutral/n1-01-01-01-01.wav",
            "05Angry/a5-03-01-02-50.wav",
            "05Angry/a5-03-02-02-50.wav",
            "05Angry/readme.wav",
        ],
    );
    let ased = Corpus::open(CorpusKind::Ased, &root).unwrap();
    assert_eq!(ased.items.len(), 3);
    assert_eq!(ased.speakers(), ["50", "01"]);
    assert_eq!(ased.skipped.len(), 1);
}

/// Until it is taught a voice, a per-speaker model meets one recording normalised on its own:
/// the answers its sidecar records are to that, so that reloading the model repeats them from
/// the audio alone (as `crates/core/tests/shipped_weights.rs` does for the shipped models).
#[test]
fn a_per_speaker_model_records_its_answers_to_one_recording_alone() {
    use burn::prelude::*;
    let (root, mut c) = per_speaker_mix("mix-speaker-recorded", 4, 3);
    c.protocol = Protocol::Final;
    let run = Run::prepare(&root.join("run"), c, false, false).unwrap();
    run.execute(&mut Quiet, None).unwrap().expect("not interrupted");
    let device = Device::flex();
    let weights = timnet::weights::Weights::load(&root.join("run/weights"), &device).unwrap();
    let s = &weights.sidecar;
    assert_eq!(s.normalisation, timnet::features::Normalisation::PerSpeaker);
    assert_eq!(s.recorded.len(), 3, "one utterance of each emotion");
    for recorded in &s.recorded {
        // Both corpora hold the same synthetic files.
        let audio = timnet::audio::prepare(&std::fs::read(root.join("a").join(&recorded.file)).unwrap()).unwrap();
        let f = s.front_end().clip(&audio.samples);
        let x = Tensor::<3>::from_data(TensorData::new(f.data, [1, f.frames, f.coeffs]), &device);
        let logits = weights.model.valid().forward(x).into_data().try_to_vec::<f32>().unwrap();
        let diff = timnet_testkit::max_abs_diff(&timnet::analysis::softmax(&logits), &recorded.probabilities);
        assert!(diff < 1e-4, "{}: {diff}", recorded.file);
    }
}
