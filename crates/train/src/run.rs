//! A whole training run: corpus → features → splits → one fit per split → report, in a run
//! directory that holds everything needed to resume after an interruption.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use timnet::features::{Features, MfccConfig, Normalisation};
use timnet::model::TimNetConfig;
use timnet::weights::{Precision, Provenance, RecordedPrediction, Sidecar, Weights};

use crate::augment::Augmentation;
use crate::corpus::{Corpus, CorpusKind, MIX_CLIP_SAMPLES};
use crate::data::{Dataset, FrontEndSettings, extract};
use crate::error::write_atomic;
use crate::evaluate::PAPER_SHARED;
use crate::fit::{EpochLog, FitOptions, FitState, run_epoch};
use crate::folds::{
    Fold, holdout, kfold, leave_one_corpus_out, leave_one_speaker_out, speaker_folds, speaker_validation,
    stratified_holdout,
};
use crate::metrics::Scores;
use crate::{Result, TrainError, mix};

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
    /// Per corpus of a mix: train on the others, test on every utterance of it.
    LeaveOneCorpusOut,
    /// k folds of the mix whose test sets share no speaker.
    SpeakerFolds {
        k: usize,
    },
    /// Train on everything (the shipped weights); no test set.
    Final,
}

/// The figure that chooses an epoch on the validation set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Metric {
    /// Accuracy, as the official code's checkpointing does.
    #[default]
    War,
    /// Mean per-class recall: what a mix's imbalanced classes call for.
    Uar,
}

impl Metric {
    pub fn of(self, s: &Scores) -> f64 {
        match self {
            Metric::War => s.war,
            Metric::Uar => s.uar,
        }
    }
}

/// One corpus of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorpusSpec {
    pub corpus: CorpusKind,
    pub dir: PathBuf,
}

/// Everything that defines a run; stored in the run directory so that `--resume` continues
/// exactly the same run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RunFile")]
pub struct RunConfig {
    pub corpora: Vec<CorpusSpec>,
    /// The emotions to train on, in this order; by default a single corpus's own, and the five
    /// every training corpus has (angry, fear, happy, neutral, sad) for a mix.
    pub classes: Option<Vec<String>>,
    /// Overrides the clip length (samples at 22,050 Hz): by default a single corpus's official
    /// one, and 3 s for a mix.
    pub clip_samples: Option<usize>,
    pub protocol: Protocol,
    /// Hold out a validation set and select the epoch on it: a stratified 10% of each training
    /// split for a single corpus; a tenth of each training corpus's speakers for a mix.
    pub select_on_validation: bool,
    pub select_by: Metric,
    /// The mel filterbank's top edge in Hz (None: the Nyquist rate, 11,025 Hz).
    pub band_limit: Option<f32>,
    pub normalisation: Normalisation,
    /// With per-speaker normalisation: each speaker's statistics from this many of their
    /// utterances, which are then never scored (None: from all of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker_takes: Option<usize>,
    pub augmentation: Augmentation,
    pub model: TimNetConfig,
    pub fit: FitOptions,
    pub command: String,
}

/// run.json as written, by this version (`corpora`) or an earlier one (`corpus`, `corpus_dir`).
#[derive(Deserialize)]
struct RunFile {
    #[serde(default)]
    corpora: Vec<CorpusSpec>,
    corpus: Option<CorpusKind>,
    corpus_dir: Option<PathBuf>,
    classes: Option<Vec<String>>,
    #[serde(default)]
    clip_samples: Option<usize>,
    protocol: Protocol,
    select_on_validation: bool,
    #[serde(default)]
    select_by: Metric,
    #[serde(default)]
    band_limit: Option<f32>,
    #[serde(default)]
    normalisation: Normalisation,
    #[serde(default)]
    speaker_takes: Option<usize>,
    #[serde(default)]
    augmentation: Augmentation,
    model: TimNetConfig,
    fit: FitOptions,
    command: String,
}

impl TryFrom<RunFile> for RunConfig {
    type Error = String;

    fn try_from(f: RunFile) -> std::result::Result<Self, String> {
        let mut corpora = f.corpora;
        if let (Some(corpus), Some(dir)) = (f.corpus, f.corpus_dir) {
            corpora.insert(0, CorpusSpec { corpus, dir });
        }
        if corpora.is_empty() {
            return Err("run.json names no corpus".into());
        }
        Ok(RunConfig {
            corpora,
            classes: f.classes,
            clip_samples: f.clip_samples,
            protocol: f.protocol,
            select_on_validation: f.select_on_validation,
            select_by: f.select_by,
            band_limit: f.band_limit,
            normalisation: f.normalisation,
            speaker_takes: f.speaker_takes,
            augmentation: f.augmentation,
            model: f.model,
            fit: f.fit,
            command: f.command,
        })
    }
}

impl RunConfig {
    /// A run on one corpus with the paper's settings otherwise.
    pub fn new(corpora: Vec<CorpusSpec>, protocol: Protocol, model: TimNetConfig, fit: FitOptions) -> Self {
        Self {
            corpora,
            classes: None,
            clip_samples: None,
            protocol,
            select_on_validation: false,
            select_by: Metric::War,
            band_limit: None,
            normalisation: Normalisation::None,
            speaker_takes: None,
            augmentation: Augmentation::default(),
            model,
            fit,
            command: String::new(),
        }
    }

    pub fn is_mix(&self) -> bool {
        self.corpora.len() > 1
    }

    /// The corpora's names joined: "emodb", or "emodb+casia+...".
    pub fn corpus_names(&self) -> String {
        self.corpora.iter().map(|c| c.corpus.name()).collect::<Vec<_>>().join("+")
    }

    fn front_end(&self, corpora: &[Corpus]) -> FrontEndSettings {
        let clip_samples = match (self.clip_samples, corpora) {
            (Some(n), _) => n,
            (None, [one]) => one.clip_samples,
            (None, _) => MIX_CLIP_SAMPLES,
        };
        let mfcc = MfccConfig { fmax: self.band_limit, ..MfccConfig::default() };
        FrontEndSettings { mfcc, clip_samples, normalisation: self.normalisation }
    }
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
    /// Once per corpus, after its features are ready.
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

/// The corpora of a run, read and put in one label space, with their features.
pub struct Prepared {
    pub corpora: Vec<Corpus>,
    pub labels: Vec<String>,
    pub front_end: FrontEndSettings,
    pub data: Dataset,
}

impl RunConfig {
    /// Read the corpora, put them in one label space and compute (or load) their features.
    pub fn prepare_data(&self, progress: &mut dyn Progress, cache: Option<&Path>) -> Result<Prepared> {
        if self.speaker_takes.is_some() && self.normalisation != Normalisation::PerSpeaker {
            return Err(TrainError::Setup("a speaker's takes are only used by per-speaker normalisation".into()));
        }
        let mut corpora = Vec::new();
        for spec in &self.corpora {
            corpora.push(Corpus::open(spec.corpus, &spec.dir)?);
        }
        let labels: Vec<String> = match (&self.classes, corpora.as_slice()) {
            (Some(classes), _) => classes.clone(),
            (None, [one]) => one.labels.clone(),
            (None, _) => PAPER_SHARED.iter().map(|s| s.to_string()).collect(),
        };
        corpora = match corpora.as_slice() {
            // One corpus keeps its own label numbering when its labels are used as they are.
            [one] if one.labels == labels => corpora,
            [_] => vec![corpora.remove(0).select(&labels)?],
            _ => corpora.into_iter().map(|c| c.relabel(&labels)).collect::<std::result::Result<_, _>>()?,
        };
        let front_end = self.front_end(&corpora);
        let mut parts = Vec::new();
        for corpus in &corpora {
            let mut part = extract(corpus, &front_end, &self.augmentation, self.fit.seed, self.speaker_takes, cache)?;
            progress.corpus(corpus, &part);
            if self.is_mix() {
                // Speakers of different corpora are different people, whatever their ids.
                part.speakers = part.speakers.into_iter().map(|s| s.map(|s| format!("{}/{s}", corpus.name))).collect();
            }
            parts.push(part);
        }
        Ok(Prepared { labels, front_end, data: Dataset::concat(parts), corpora })
    }
}

impl Run {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The run stored in `dir`, to look at (not to continue: see [`Run::prepare`]).
    pub fn open(dir: &Path) -> Result<Self> {
        let stored = dir.join("run.json");
        let text =
            std::fs::read_to_string(&stored).map_err(|e| TrainError::Setup(format!("{} ({e})", stored.display())))?;
        let config: RunConfig = serde_json::from_str(&text).map_err(|e| TrainError::damaged(&stored, e))?;
        Ok(Self { dir: dir.into(), config })
    }

    /// Fold `index`'s training items split into those fitted and the validation items that
    /// choose the epoch (none without `--select val`), as training split them. A validation
    /// speaker's enrolment is not scored.
    pub fn fit_and_validation(&self, data: &Dataset, index: usize, fold: &Fold) -> (Vec<usize>, Vec<usize>) {
        let c = &self.config;
        let holdout_seed = mix(&[c.fit.seed, index as u64, 0xa1]);
        let (fit, validation) = match (c.select_on_validation, c.is_mix()) {
            (false, _) => (fold.train.clone(), Vec::new()),
            (true, false) => stratified_holdout(&fold.train, &data.labels, 0.1, holdout_seed),
            (true, true) => {
                speaker_validation(&fold.train, &data.corpus, &data.speakers, &data.labels, 0.1, holdout_seed)
            }
        };
        (fit, data.scored(&validation))
    }

    /// Start a new run in `dir` (refusing to overwrite one unless `force`), or resume the run
    /// there (refusing if its configuration differs).
    pub fn prepare(dir: &Path, config: RunConfig, force: bool, resume: bool) -> Result<Self> {
        let stored = dir.join("run.json");
        if resume {
            let text = std::fs::read_to_string(&stored)
                .map_err(|e| TrainError::Resume(format!("{} ({e})", stored.display())))?;
            let previous: RunConfig = serde_json::from_str(&text).map_err(|e| TrainError::damaged(&stored, e))?;
            let mut same = config.clone();
            same.command = previous.command.clone();
            if same != previous {
                return Err(TrainError::Resume(format!("{} was started with other settings", dir.display())));
            }
            return Ok(Self { dir: dir.into(), config: previous });
        }
        if dir.exists() && std::fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(false) {
            if !force {
                return Err(TrainError::Setup(format!(
                    "{} already holds a run; use --resume to continue it or --force to replace it",
                    dir.display()
                )));
            }
            std::fs::remove_dir_all(dir).map_err(TrainError::io(dir))?;
        }
        std::fs::create_dir_all(dir).map_err(TrainError::io(dir))?;
        prove_writable(&dir.join(".write-test"))
            .map_err(|e| TrainError::Setup(format!("{} is not writable: {e}", dir.display())))?;
        let run = Self { dir: dir.into(), config };
        run.write("run.json", &serde_json::to_string_pretty(&run.config).unwrap_or_default())?;
        Ok(run)
    }

    fn write(&self, name: &str, text: &str) -> Result<()> {
        write_atomic(&self.path(name), text.as_bytes())
    }

    fn append_metrics(&self, fold: &str, log: &EpochLog) -> Result<()> {
        let mut line = serde_json::json!({ "fold": fold, "epoch": log.epoch, "loss": log.loss, "seconds": log.seconds, "scores": log.scores });
        if let Some(critic) = log.critic_loss {
            line["critic_loss"] = critic.into();
        }
        let path = self.path("metrics.jsonl");
        let mut file =
            std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(TrainError::io(&path))?;
        writeln!(file, "{line}").map_err(TrainError::io(&path))
    }

    /// The splits of `data` by the run's protocol; a test speaker's enrolment is not scored.
    pub fn folds(&self, prepared: &Prepared) -> Result<Vec<Fold>> {
        let data = &prepared.data;
        let folds = match &self.config.protocol {
            Protocol::KFold { k } => kfold(data.len(), *k, 46),
            Protocol::LeaveOneSpeakerOut => leave_one_speaker_out(&data.speakers)?,
            Protocol::Holdout { test_speakers } => vec![holdout(&data.speakers, test_speakers)?],
            Protocol::LeaveOneCorpusOut => {
                let names: Vec<String> = prepared.corpora.iter().map(|c| c.name.clone()).collect();
                leave_one_corpus_out(&data.corpus, &names)?
            }
            Protocol::SpeakerFolds { k } => speaker_folds(&data.speakers, *k)?,
            Protocol::Final => {
                vec![Fold { name: "all data".into(), train: (0..data.len()).collect(), test: Vec::new() }]
            }
        };
        Ok(folds.into_iter().map(|f| Fold { test: data.scored(&f.test), ..f }).collect())
    }

    /// Execute (or continue) the run. Returns the finished folds, or `Ok(None)` when it was
    /// interrupted (a checkpoint has been written).
    pub fn execute(&self, progress: &mut dyn Progress, cache: Option<&Path>) -> Result<Option<Vec<FoldResult>>> {
        let c = &self.config;
        let prepared = c.prepare_data(progress, cache)?;
        let data = &prepared.data;
        let mut model_config = c.model.clone();
        model_config.classes = prepared.labels.len();
        let folds = self.folds(&prepared)?;
        let mut results = Vec::new();
        for (index, fold) in folds.iter().enumerate() {
            let done_file = self.path(&format!("fold-{index}.json"));
            if let Ok(text) = std::fs::read_to_string(&done_file) {
                results.push(serde_json::from_str(&text).map_err(|e| TrainError::damaged(&done_file, e))?);
                continue;
            }
            let (train, validation) = self.fit_and_validation(data, index, fold);
            // A mix also scores each corpus's validation speakers on their own.
            let per_corpus: Vec<(String, Vec<usize>)> = if c.is_mix() {
                prepared
                    .corpora
                    .iter()
                    .enumerate()
                    .map(|(k, corpus)| {
                        (
                            format!("validation/{}", corpus.name),
                            validation.iter().copied().filter(|&i| data.corpus[i] == k).collect(),
                        )
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let checkpoint = self.path("checkpoint");
            let mut state = FitState::new(&model_config, &c.fit, mix(&[c.fit.seed, index as u64]))?;
            if c.fit.adversary > 0.0 {
                state.add_critic(prepared.corpora.len(), mix(&[c.fit.seed, index as u64, 0xc21]))?;
            }
            let mut logs = self.load_checkpoint(&checkpoint, index, &mut state)?.unwrap_or_default();
            progress.fold_started(index, folds.len(), fold, c.fit.epochs, state.epochs_done);
            let mut sets: Vec<(&str, &[usize])> = vec![("test", &fold.test), ("validation", &validation)];
            sets.extend(per_corpus.iter().map(|(name, rows)| (name.as_str(), rows.as_slice())));
            while state.epochs_done < c.fit.epochs {
                let log = run_epoch(&mut state, data, &train, &sets, &c.fit, index as u64)?;
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
            // Where the weights were averaged, the average is the model (and what was scored).
            state.adopt_average();
            let result = summarise(fold, train.len(), &logs, c.select_by);
            // One split: weights/; several: weights/fold-N/, each the last epoch's model.
            let weights_dir = weights_dir(folds.len(), index);
            let split = format!("{} utterances; split {:?}", data.len(), fold.name);
            self.save_weights(&mut state, &prepared, &model_config, &weights_dir, &split)?;
            self.write(&format!("fold-{index}.json"), &serde_json::to_string_pretty(&result).unwrap_or_default())?;
            let _ = std::fs::remove_dir_all(&checkpoint);
            progress.fold_finished(&result);
            results.push(result);
        }
        Ok(Some(results))
    }

    fn save_weights(
        &self,
        state: &mut FitState,
        prepared: &Prepared,
        config: &TimNetConfig,
        dir: &str,
        notes: &str,
    ) -> Result<()> {
        let c = &self.config;
        let provenance = Provenance {
            corpus: c.corpus_names(),
            command: c.command.clone(),
            epochs: state.epochs_done,
            interim: c.fit.epochs < 500 && !c.is_mix(),
            notes: format!("{notes}; protocol {:?}", c.protocol),
        };
        let front = &prepared.front_end;
        let mut sidecar = Sidecar::new(config.clone(), prepared.labels.clone(), front.clip_samples, provenance);
        sidecar.features = front.mfcc.clone();
        sidecar.normalisation = front.normalisation;
        sidecar.recorded = record_predictions(state, prepared);
        Weights { model: state.model()?, sidecar }.save(&self.path(dir), Precision::Full)?;
        Ok(())
    }

    fn save_checkpoint(&self, dir: &Path, fold: usize, state: &FitState, logs: &[EpochLog]) -> Result<()> {
        // Written beside, then swapped in, so that a kill mid-write leaves the last good one.
        let fresh = dir.with_extension("new");
        let _ = std::fs::remove_dir_all(&fresh);
        std::fs::create_dir_all(&fresh).map_err(TrainError::io(&fresh))?;
        state.save(&fresh)?;
        let meta = serde_json::json!({ "fold": fold, "epochs_done": state.epochs_done, "logs": logs });
        write_atomic(&fresh.join("state.json"), meta.to_string().as_bytes())?;
        let old = dir.with_extension("old");
        let _ = std::fs::remove_dir_all(&old);
        if dir.exists() {
            std::fs::rename(dir, &old).map_err(TrainError::io(dir))?;
        }
        std::fs::rename(&fresh, dir).map_err(TrainError::io(dir))?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }

    /// Restore the checkpoint of split `fold` into `state`; returns the epochs' logs so far, or
    /// `None` when there is no checkpoint of that split.
    fn load_checkpoint(&self, dir: &Path, fold: usize, state: &mut FitState) -> Result<Option<Vec<EpochLog>>> {
        // A kill between the two renames leaves the previous checkpoint under .old.
        let old = dir.with_extension("old");
        if !dir.exists() && old.exists() {
            std::fs::rename(&old, dir).map_err(TrainError::io(dir))?;
        }
        let meta_path = dir.join("state.json");
        let Ok(text) = std::fs::read_to_string(&meta_path) else { return Ok(None) };
        #[derive(Deserialize)]
        struct Meta {
            fold: usize,
            epochs_done: usize,
            logs: Vec<EpochLog>,
        }
        let meta: Meta = serde_json::from_str(&text).map_err(|e| TrainError::damaged(&meta_path, e))?;
        if meta.fold != fold {
            return Ok(None);
        }
        state.load(dir)?;
        state.epochs_done = meta.epochs_done;
        Ok(Some(meta.logs))
    }
}

/// Where split `index` of `splits` keeps its weights, inside the run directory.
pub fn weights_dir(splits: usize, index: usize) -> String {
    if splits == 1 { "weights".into() } else { format!("weights/fold-{}", index + 1) }
}

/// The first utterance of each class and the trained model's probabilities for it.
fn record_predictions(state: &mut FitState, prepared: &Prepared) -> Vec<RecordedPrediction> {
    let data = &prepared.data;
    let mut rows = Vec::new();
    for label in 0..prepared.labels.len() {
        if let Some(row) = data.labels.iter().position(|&l| l == label) {
            rows.push(row);
        }
    }
    let predictions = if prepared.front_end.normalisation == Normalisation::PerSpeaker {
        // Until it is taught a voice, a per-speaker model meets one recording normalised on its
        // own: its recorded answers are to that. Per-utterance normalisation of the speaker-
        // normalised row gives it, as it undoes any shift and scale of a coefficient.
        let mut x = data.gather(&rows);
        let size = data.frames * data.coeffs;
        for (row, features) in rows.iter().zip(x.chunks_exact_mut(size)) {
            let mut f = Features { frames: data.frames, coeffs: data.coeffs, data: features.to_vec() };
            Normalisation::PerUtterance.apply(&mut f, data.own[*row].clone());
            features.copy_from_slice(&f.data);
        }
        crate::fit::probabilities_of(state, x, rows.len(), data.frames)
    } else {
        crate::fit::probabilities(state, data, &rows)
    };
    rows.iter()
        .zip(predictions)
        .map(|(&row, probabilities)| {
            let corpus = &prepared.corpora[data.corpus[row]];
            let item = &corpus.items[data.items[row]];
            let file = item.path.strip_prefix(&corpus.root).unwrap_or(&item.path);
            RecordedPrediction {
                corpus: corpus.name.clone(),
                file: file.to_string_lossy().replace('\\', "/"),
                label: prepared.labels[item.label].clone(),
                probabilities,
            }
        })
        .collect()
}

fn summarise(fold: &Fold, train_items: usize, logs: &[EpochLog], metric: Metric) -> FoldResult {
    FoldResult {
        name: fold.name.clone(),
        train_items,
        test_items: fold.test.len(),
        scores: FoldScores::of(logs, metric),
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
    pub fn of(logs: &[EpochLog], metric: Metric) -> Self {
        let find = |log: &EpochLog, set: &str| log.scores.iter().find(|(n, _)| n == set).map(|(_, s)| s.clone());
        // Ties go to the earliest epoch, as Keras's ModelCheckpoint(save_best_only) keeps the first.
        let best_by = |set: &str| {
            logs.iter().filter_map(|l| find(l, set).map(|s| (l.epoch, s))).fold(
                None::<(usize, Scores)>,
                |best, (e, s)| match best {
                    Some((_, ref b)) if metric.of(b) >= metric.of(&s) => best,
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
