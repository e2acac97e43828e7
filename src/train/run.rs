//! A whole training run: corpus → features → splits → one fit per split → report, in a run
//! directory that holds everything needed to resume after an interruption.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::data::{Dataset, extract};
use super::fit::{EpochLog, FitOptions, FitState, run_epoch};
use super::folds::{Fold, holdout, kfold, leave_one_speaker_out, stratified_holdout};
use super::metrics::Scores;
use super::mix;
use crate::corpus::Corpus;
use crate::features::MfccConfig;
use crate::model::TimNetConfig;
use crate::weights::{Precision, Provenance, RecordedPrediction, Sidecar, Weights};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Protocol {
    /// scikit-learn's KFold(k, shuffle=True, random_state=46), as the official code.
    KFold {
        k: usize,
    },
    LeaveOneSpeakerOut,
    Holdout {
        test_speakers: Vec<String>,
    },
    /// Train on everything (the shipped weights); no test set.
    Final,
}

/// Everything that defines a run; stored in the run directory so that `--resume` continues
/// exactly the same run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub corpus: String,
    pub corpus_dir: PathBuf,
    pub classes: Option<Vec<String>>,
    /// Overrides the corpus's clip length (samples at 22,050 Hz).
    #[serde(default)]
    pub clip_samples: Option<usize>,
    pub protocol: Protocol,
    /// Hold out a stratified 10% of each training split and select the epoch on it.
    pub select_on_validation: bool,
    pub model: TimNetConfig,
    pub fit: FitOptions,
    pub command: String,
}

/// One split's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldResult {
    pub name: String,
    pub train_items: usize,
    pub test_items: usize,
    /// Flattened, so fold-N.json keeps the three figures at its top level.
    #[serde(flatten)]
    pub scores: FoldScores,
    pub seconds: f64,
}

/// What a caller sees while a run goes on.
pub trait Progress {
    fn corpus(&mut self, _corpus: &Corpus, _data: &Dataset) {}
    fn fold_started(&mut self, _index: usize, _folds: usize, _fold: &Fold, _epochs: usize, _done: usize) {}
    fn epoch(&mut self, _log: &EpochLog) {}
    fn fold_finished(&mut self, _result: &FoldResult) {}
    /// Polled between epochs; true stops the run after writing a checkpoint.
    fn interrupted(&self) -> bool {
        false
    }
}

pub struct Run {
    pub dir: PathBuf,
    pub config: RunConfig,
}

/// Write and remove 1 MiB at `probe`, before hours of work depend on the directory: a full
/// disk or a read-only one answers here, in words, rather than at the first checkpoint.
fn prove_writable(probe: &Path) -> std::io::Result<()> {
    std::fs::write(probe, vec![0u8; 1 << 20])?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

impl Run {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Start a new run in `dir` (refusing to overwrite one unless `force`), or resume the run
    /// there (refusing if its configuration differs).
    pub fn prepare(dir: &Path, config: RunConfig, force: bool, resume: bool) -> Result<Self, String> {
        let stored = dir.join("run.json");
        if resume {
            let text =
                std::fs::read_to_string(&stored).map_err(|e| format!("cannot resume: {} ({e})", stored.display()))?;
            let previous: RunConfig = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", stored.display()))?;
            let mut same = config.clone();
            same.command = previous.command.clone();
            if same != previous {
                return Err(format!("cannot resume: {} was started with other settings", dir.display()));
            }
            return Ok(Self { dir: dir.into(), config: previous });
        }
        if dir.exists() && std::fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(false) {
            if !force {
                return Err(format!(
                    "{} already holds a run; use --resume to continue it or --force to replace it",
                    dir.display()
                ));
            }
            std::fs::remove_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        prove_writable(&dir.join(".write-test")).map_err(|e| format!("{} is not writable: {e}", dir.display()))?;
        let run = Self { dir: dir.into(), config };
        run.write("run.json", &serde_json::to_string_pretty(&run.config).map_err(|e| e.to_string())?)?;
        Ok(run)
    }

    fn write(&self, name: &str, text: &str) -> Result<(), String> {
        write_atomic(&self.path(name), text.as_bytes())
    }

    fn append_metrics(&self, fold: &str, log: &EpochLog) -> Result<(), String> {
        let line = serde_json::json!({ "fold": fold, "epoch": log.epoch, "loss": log.loss, "seconds": log.seconds, "scores": log.scores });
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("metrics.jsonl"))
            .map_err(|e| format!("metrics.jsonl: {e}"))?;
        writeln!(file, "{line}").map_err(|e| format!("metrics.jsonl: {e}"))
    }

    /// Execute (or continue) the run. Returns the finished folds, or `Ok(None)` when it was
    /// interrupted (a checkpoint has been written).
    pub fn execute(
        &self,
        progress: &mut dyn Progress,
        cache: Option<&Path>,
    ) -> Result<Option<Vec<FoldResult>>, String> {
        let c = &self.config;
        let mut corpus = Corpus::open(&c.corpus, &c.corpus_dir).map_err(|e| e.to_string())?;
        if let Some(classes) = &c.classes {
            corpus = corpus.select(classes).map_err(|e| e.to_string())?;
        }
        if let Some(samples) = c.clip_samples {
            corpus.clip_samples = samples;
        }
        let mut model_config = c.model.clone();
        model_config.classes = corpus.labels.len();
        let data = extract(&corpus, &MfccConfig::default(), cache)?;
        progress.corpus(&corpus, &data);
        let speakers: Vec<Option<String>> = data.items.iter().map(|&i| corpus.items[i].speaker.clone()).collect();
        let folds = match &c.protocol {
            Protocol::KFold { k } => kfold(data.len(), *k, 46),
            Protocol::LeaveOneSpeakerOut => leave_one_speaker_out(&speakers)?,
            Protocol::Holdout { test_speakers } => vec![holdout(&speakers, test_speakers)?],
            Protocol::Final => {
                vec![Fold { name: "all data".into(), train: (0..data.len()).collect(), test: Vec::new() }]
            }
        };
        let mut results = Vec::new();
        for (index, fold) in folds.iter().enumerate() {
            let done_file = self.path(&format!("fold-{index}.json"));
            if let Ok(text) = std::fs::read_to_string(&done_file) {
                results.push(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", done_file.display()))?);
                continue;
            }
            let (train, validation) = if c.select_on_validation {
                stratified_holdout(&fold.train, &data.labels, 0.1, mix(&[c.fit.seed, index as u64, 0xa1]))
            } else {
                (fold.train.clone(), Vec::new())
            };
            let checkpoint = self.path("checkpoint");
            let mut state = FitState::new(&model_config, &c.fit, mix(&[c.fit.seed, index as u64]));
            let mut logs = self.load_checkpoint(&checkpoint, index, &mut state)?.unwrap_or_default();
            progress.fold_started(index, folds.len(), fold, c.fit.epochs, state.epochs_done);
            let sets: [(&str, &[usize]); 2] = [("test", &fold.test), ("validation", &validation)];
            while state.epochs_done < c.fit.epochs {
                let log = run_epoch(&mut state, &data, &train, &sets, &c.fit, index as u64);
                self.append_metrics(&fold.name, &log)?;
                progress.epoch(&log);
                logs.push(log);
                let last = state.epochs_done == c.fit.epochs;
                if progress.interrupted() || !last {
                    self.save_checkpoint(&checkpoint, index, &state, &logs)?;
                }
                if progress.interrupted() && !last {
                    return Ok(None);
                }
            }
            let result = summarise(fold, train.len(), &logs);
            // One split: weights/; several: weights/fold-N/, each the last epoch's model.
            let weights_dir = weights_dir(folds.len(), index);
            let split = format!("{}; split {:?}", corpus_note(&corpus), fold.name);
            self.save_weights(&mut state, &corpus, &data, &model_config, &weights_dir, &split)?;
            self.write(
                &format!("fold-{index}.json"),
                &serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?,
            )?;
            let _ = std::fs::remove_dir_all(&checkpoint);
            progress.fold_finished(&result);
            results.push(result);
        }
        Ok(Some(results))
    }

    fn save_weights(
        &self,
        state: &mut FitState,
        corpus: &Corpus,
        data: &Dataset,
        config: &TimNetConfig,
        dir: &str,
        notes: &str,
    ) -> Result<(), String> {
        let c = &self.config;
        let provenance = Provenance {
            corpus: corpus.name.clone(),
            command: c.command.clone(),
            epochs: state.epochs_done,
            interim: c.fit.epochs < 500,
            notes: format!("{notes}; protocol {:?}", c.protocol),
        };
        let mut sidecar = Sidecar::new(config.clone(), corpus.labels.clone(), corpus.clip_samples, provenance);
        sidecar.recorded = record_predictions(state, corpus, data);
        Weights { model: state.model()?, sidecar }.save(&self.path(dir), Precision::Full).map_err(|e| e.to_string())
    }

    fn save_checkpoint(&self, dir: &Path, fold: usize, state: &FitState, logs: &[EpochLog]) -> Result<(), String> {
        // Written beside, then swapped in, so that a kill mid-write leaves the last good one.
        let fresh = dir.with_extension("new");
        let _ = std::fs::remove_dir_all(&fresh);
        std::fs::create_dir_all(&fresh).map_err(|e| format!("{}: {e}", fresh.display()))?;
        state.save(&fresh)?;
        let meta = serde_json::json!({ "fold": fold, "epochs_done": state.epochs_done, "logs": logs });
        std::fs::write(fresh.join("state.json"), meta.to_string()).map_err(|e| e.to_string())?;
        let old = dir.with_extension("old");
        let _ = std::fs::remove_dir_all(&old);
        if dir.exists() {
            std::fs::rename(dir, &old).map_err(|e| e.to_string())?;
        }
        std::fs::rename(&fresh, dir).map_err(|e| e.to_string())?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }

    /// Restore the checkpoint of split `fold` into `state`; returns the epochs' logs so far, or
    /// `None` when there is no checkpoint of that split.
    fn load_checkpoint(&self, dir: &Path, fold: usize, state: &mut FitState) -> Result<Option<Vec<EpochLog>>, String> {
        // A kill between the two renames leaves the previous checkpoint under .old.
        let old = dir.with_extension("old");
        if !dir.exists() && old.exists() {
            std::fs::rename(&old, dir).map_err(|e| e.to_string())?;
        }
        let Ok(text) = std::fs::read_to_string(dir.join("state.json")) else { return Ok(None) };
        #[derive(Deserialize)]
        struct Meta {
            fold: usize,
            epochs_done: usize,
            logs: Vec<EpochLog>,
        }
        let meta: Meta = serde_json::from_str(&text).map_err(|e| format!("checkpoint: {e}"))?;
        if meta.fold != fold {
            return Ok(None);
        }
        state.load(dir).map_err(|e| format!("checkpoint: {e}"))?;
        state.epochs_done = meta.epochs_done;
        Ok(Some(meta.logs))
    }
}

/// Where split `index` of `splits` keeps its weights, inside the run directory.
pub fn weights_dir(splits: usize, index: usize) -> String {
    if splits == 1 { "weights".into() } else { format!("weights/fold-{}", index + 1) }
}

fn corpus_note(corpus: &Corpus) -> String {
    format!("{} utterances", corpus.items.len())
}

/// The first utterance of each class and the trained model's probabilities for it.
fn record_predictions(state: &mut FitState, corpus: &Corpus, data: &Dataset) -> Vec<RecordedPrediction> {
    let mut rows = Vec::new();
    for label in 0..corpus.labels.len() {
        if let Some(row) = data.labels.iter().position(|&l| l == label) {
            rows.push(row);
        }
    }
    let predictions = super::fit::probabilities(state, data, &rows);
    rows.iter()
        .zip(predictions)
        .map(|(&row, probabilities)| {
            let item = &corpus.items[data.items[row]];
            let file = item.path.strip_prefix(&corpus.root).unwrap_or(&item.path);
            RecordedPrediction {
                file: file.to_string_lossy().replace('\\', "/"),
                label: corpus.labels[item.label].clone(),
                probabilities,
            }
        })
        .collect()
}

fn summarise(fold: &Fold, train_items: usize, logs: &[EpochLog]) -> FoldResult {
    FoldResult {
        name: fold.name.clone(),
        train_items,
        test_items: fold.test.len(),
        scores: FoldScores::of(logs),
        seconds: logs.iter().map(|l| l.seconds).sum(),
    }
}

/// One split's three figures, from its epochs' logs in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldScores {
    /// The official figure: the best epoch on the test fold (optimistic).
    pub best_on_test: Option<(usize, Scores)>,
    pub last_epoch: Option<Scores>,
    /// Test scores at the epoch that scored best on the validation hold-out.
    pub selected_on_validation: Option<(usize, Scores)>,
}

impl FoldScores {
    pub fn of(logs: &[EpochLog]) -> Self {
        let find = |log: &EpochLog, set: &str| log.scores.iter().find(|(n, _)| n == set).map(|(_, s)| s.clone());
        // Ties go to the earliest epoch, as Keras's ModelCheckpoint(save_best_only) keeps the first.
        let best_by = |set: &str| {
            logs.iter().filter_map(|l| find(l, set).map(|s| (l.epoch, s))).fold(
                None::<(usize, Scores)>,
                |best, (e, s)| match best {
                    Some((_, ref b)) if b.war >= s.war => best,
                    _ => Some((e, s)),
                },
            )
        };
        let selected_on_validation = best_by("validation").and_then(|(epoch, _)| {
            logs.iter().find(|l| l.epoch == epoch).and_then(|l| find(l, "test")).map(|s| (epoch, s))
        });
        Self {
            best_on_test: best_by("test"),
            last_epoch: logs.last().and_then(|l| find(l, "test")),
            selected_on_validation,
        }
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, bytes).map_err(|e| format!("{}: {e}", partial.display()))?;
    std::fs::rename(&partial, path).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// /dev/full answers every write with "no space left", as a full disk does.
    #[test]
    fn a_full_disk_is_reported_in_words() {
        let e = super::prove_writable(std::path::Path::new("/dev/full")).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::StorageFull, "{e}");
        assert!(e.to_string().contains("No space left on device"), "{e}");
    }
}
