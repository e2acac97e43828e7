//! `timnet adapt`: a model taught one person's voice from a folder of labelled takes, and
//! `timnet adapt-eval`: how much that helps on speakers a model never heard.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use timnet::adapt::{FitSettings, Settings, Take, label_takes, personalised};
use timnet::analysis::{Analyzer, block_on};
use timnet::audio::prepare;
use timnet::burn::module::Module;
use timnet::burn::prelude::Device;
use timnet::weights::{Precision, Weights};
use timnet_train::adaptation::{Network, Summary, Trial, speaker_means, summarise, trials, utterances};
use timnet_train::data::default_cache;
use timnet_train::run::{Progress, Run, weights_dir};

/// The takes in `dir`: one folder per emotion, named as the model names it, each holding that
/// emotion's recordings. Every file must be readable audio: a take that cannot be read is an
/// error, not skipped, so that the person knows which one to record again.
pub fn read_takes(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let listing = |dir: &Path| -> Result<Vec<PathBuf>> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read the takes folder {}", dir.display()))?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()
            .with_context(|| dir.display().to_string())?;
        // Hidden files (.DS_Store and the like) are no takes.
        paths.retain(|p| !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')));
        paths.sort();
        Ok(paths)
    };
    let mut takes = Vec::new();
    for entry in listing(dir)? {
        if !entry.is_dir() {
            bail!(
                "{}: takes go in one folder per emotion (for example {}/angry/take1.wav)",
                entry.display(),
                dir.display()
            );
        }
        let emotion = entry.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        for file in listing(&entry)? {
            takes.push((emotion.clone(), file));
        }
    }
    Ok(takes)
}

/// The settings given on the command line.
pub fn settings(
    centre: bool,
    steps: usize,
    learning_rate: f32,
    penalty: f32,
    guard: Option<usize>,
    batch_norm: f32,
) -> Result<Settings> {
    if steps > 10_000 {
        bail!("--steps must be at most 10,000");
    }
    if !(learning_rate > 0.0 && learning_rate <= 1.0) {
        bail!("--learning-rate must be above 0 and at most 1");
    }
    if !(0.0..=1e6).contains(&penalty) {
        bail!("--penalty must be 0 to 1,000,000");
    }
    if !(0.0..=1.0).contains(&batch_norm) {
        bail!("--batch-norm must be 0 to 1");
    }
    Ok(Settings { centre, fit: FitSettings { steps, learning_rate, penalty }, guard, batch_norm })
}

/// Adapt `weights` to the takes in `takes_dir` and write the result to `out`.
pub fn adapt(out: &mut impl Write, weights: Weights, takes_dir: &Path, to: &Path, settings: &Settings) -> Result<()> {
    let files = read_takes(takes_dir)?;
    let labels = label_takes(&weights.sidecar.labels, files.iter().map(|(e, _)| e.as_str()))?;
    let mut analyzer = Analyzer::new(weights, Device::flex());
    let mut prepared = Vec::with_capacity(files.len());
    let mut unreadable = Vec::new();
    for (_, file) in &files {
        let take = timnet::files::read_regular(file, timnet::files::MAX_AUDIO_BYTES)
            .map_err(anyhow::Error::from)
            .and_then(|bytes| Ok(prepare(&bytes)?));
        match take {
            Ok(take) => prepared.push(take),
            Err(e) => unreadable.push(format!("{}: {e:#}", file.display())),
        }
    }
    if !unreadable.is_empty() {
        bail!(
            "{} take(s) cannot be read; record them again or remove them:\n  {}",
            unreadable.len(),
            unreadable.join("\n  ")
        );
    }
    let read = |analyzer: &Analyzer| {
        let takes = prepared.iter().zip(&labels).map(|(p, &label)| block_on(analyzer.take(p, label)));
        takes.collect::<Result<Vec<Take>, _>>()
    };
    // A per-speaker model first learns the voice's statistics from all the takes: the takes'
    // features below, and every later answer, are normalised by them. Its answers before are
    // those to each take normalised on its own.
    let mut as_it_was = None;
    if let Some(voiced) = analyzer.voiced(&prepared)? {
        as_it_was = Some(read(&analyzer)?);
        analyzer = Analyzer::new(voiced, Device::flex());
    }
    if settings.batch_norm > 0.0 {
        analyzer = Analyzer::new(analyzer.renormalised(&prepared, settings.batch_norm), Device::flex());
    }
    let takes = read(&analyzer)?;
    let start = block_on(analyzer.head())?;
    let outcome = timnet::adapt::adapt_from(&start, as_it_was.as_deref().unwrap_or(&takes), &takes, settings);
    let scores = format!(
        "on your takes, each scored by a model adapted without it: {:.0}% right before, {:.0}% after",
        100.0 * outcome.before,
        100.0 * outcome.after
    );
    if outcome.kept {
        bail!(
            "{scores}: adapting got fewer of your takes right, so nothing was written; record more takes, \
             or adapt anyway with --guard off"
        );
    }
    let adapted = personalised(analyzer.weights(), &outcome.head, &takes, settings)?;
    adapted.save(to, Precision::Full).with_context(|| format!("cannot write {}", to.display()))?;
    let counts = adapted.sidecar.personalised.as_ref().map(|p| &p.takes).cloned().unwrap_or_default();
    let mut text = String::from("takes:");
    counts.iter().for_each(|(emotion, n)| text += &format!(" {emotion} {n},"));
    text.pop();
    if adapted.sidecar.voice.is_some() {
        text += &format!("\nvoice: every recording now normalised by the statistics of these {} takes", prepared.len());
    }
    text += &format!("\n{scores}\nwrote {}\n", to.display());
    out.write_all(text.as_bytes()).context("cannot write the answer")
}

/// The settings `adapt-eval --grid` compares: the label-free step alone, the labelled fit
/// alone, both at several penalties, longer and faster fits, BatchNorm's statistics
/// re-estimated on the takes (alone, and before the fit), and the default one guarded.
pub fn grid() -> Vec<(String, Settings)> {
    let fit = |steps: usize, learning_rate: f32, penalty: f32| FitSettings { steps, learning_rate, penalty };
    let mut grid = vec![
        ("centre only".to_string(), Settings { centre: true, fit: fit(0, 0.01, 0.0), ..Settings::default() }),
        ("fit λ=0.1".to_string(), Settings { centre: false, fit: fit(100, 0.01, 0.1), ..Settings::default() }),
    ];
    for penalty in [0.01, 0.1, 1.0] {
        grid.push((
            format!("centre+fit λ={penalty}"),
            Settings { centre: true, fit: fit(100, 0.01, penalty), ..Settings::default() },
        ));
    }
    let longer = Settings { centre: true, fit: fit(300, 0.03, 0.01), ..Settings::default() };
    grid.push(("centre+fit λ=0.01 ×3".to_string(), longer));
    grid.push(("centre+fit λ=0.001 ×3".to_string(), Settings { fit: fit(300, 0.03, 0.001), ..longer }));
    grid.push(("centre+fit λ=0.01 ×10".to_string(), Settings { fit: fit(1000, 0.03, 0.01), ..longer }));
    // BatchNorm's statistics re-estimated on the takes: alone (label-free), and before the fit.
    let renormalise_only = Settings { centre: false, fit: fit(0, 0.01, 0.0), batch_norm: 1.0, ..longer };
    grid.push(("BN only".to_string(), renormalise_only));
    for share in [0.5, 1.0] {
        grid.push((format!("BN {share} centre+fit λ=0.01 ×3"), Settings { batch_norm: share, ..longer }));
    }
    grid.push((
        "BN 1 centre+fit λ=0.001 ×3".to_string(),
        Settings { fit: fit(300, 0.03, 0.001), batch_norm: 1.0, ..longer },
    ));
    for more_wrong in GUARDS {
        grid.push((guarded_name("centre+fit λ=0.01 ×3", more_wrong), longer.guarded(more_wrong)));
    }
    grid
}

/// The guards `adapt-eval` tries: the model kept where adapting gets any more of the takes
/// wrong, or more than one more.
const GUARDS: [usize; 2] = [0, 1];

fn guarded_name(name: &str, more_wrong: usize) -> String {
    format!("{name} guard {more_wrong}")
}

/// Which utterances of a run's fold `adapt-eval` scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Set {
    /// The fold's test items (in leave-one-corpus-out, the corpus left out).
    Test,
    /// The validation speakers held out of the fold's training corpora: for choosing settings.
    Validation,
}

struct Quiet;
impl Progress for Quiet {}

/// One fold's figures: the trials and their summary by k.
#[derive(serde::Serialize)]
pub struct FoldAdaptation {
    pub fold: String,
    pub weights: String,
    pub set: String,
    pub settings: Vec<(String, Settings)>,
    pub summary: Vec<Summary>,
    pub trials: Vec<Trial>,
}

/// What `adapt-eval` is asked to do.
pub struct Evaluation<'a> {
    pub run_dir: &'a Path,
    /// One fold (0-based), or all.
    pub fold: Option<usize>,
    /// Where the folds' models are, laid out as a run's `weights/` (the run's own by default).
    pub weights: Option<&'a Path>,
    pub ks: &'a [usize],
    pub draws: usize,
    /// Only these of the run's emotions, where given.
    pub classes: Option<&'a [String]>,
}

/// A run's data and splits, read once for all its folds.
struct Opened {
    run: Run,
    prepared: timnet_train::run::Prepared,
    folds: Vec<timnet_train::folds::Fold>,
}

impl Evaluation<'_> {
    fn open(&self) -> Result<(Opened, Vec<usize>)> {
        let run = Run::open(self.run_dir)?;
        let mut config = run.config.clone();
        if let Some(classes) = self.classes {
            config.classes = Some(classes.to_vec());
        }
        let prepared = config.prepare_data(&mut Quiet, default_cache().as_deref())?;
        let folds = run.folds(&prepared)?;
        let indices: Vec<usize> = match self.fold {
            Some(index) if index >= folds.len() => {
                bail!(
                    "{} has {} fold(s), numbered from 0; there is no fold {index}",
                    self.run_dir.display(),
                    folds.len()
                )
            }
            Some(index) => vec![index],
            None => (0..folds.len()).collect(),
        };
        Ok((Opened { run, prepared, folds }, indices))
    }

    /// Adaptation by each of `settings` on `set` of every fold asked for.
    pub fn run(&self, set: Set, settings: &[(String, Settings)]) -> Result<Vec<FoldAdaptation>> {
        let (opened, indices) = self.open()?;
        indices.into_iter().map(|index| self.fold_result(&opened, index, set, settings)).collect()
    }

    /// Per fold, the unguarded settings of [`grid`] that keep BatchNorm's statistics and do best on the fold's validation
    /// speakers at the middle k, then the guard for them that leaves the fewest validation
    /// speakers more than two points worse off (the higher mean where that ties, no guard
    /// first); then the fold's test speakers scored with the label-free step alone, the chosen
    /// settings, and those guarded as chosen: no test speaker chooses anything.
    pub fn chosen(&self) -> Result<Vec<Chosen>> {
        let (opened, indices) = self.open()?;
        // BatchNorm re-estimated on the takes is compared by `--grid`, not chosen here: on every
        // fold's validation speakers it came within 0.7 points of the fit alone and never beat it
        // by more than 0.1 (docs/results.md), and the page does not apply it.
        let grid: Vec<(String, Settings)> =
            grid().into_iter().filter(|(_, s)| s.guard.is_none() && s.batch_norm == 0.0).collect();
        let k = self.ks[self.ks.len() / 2];
        let mut out = Vec::new();
        for index in indices {
            let validation = self.fold_result(&opened, index, Set::Validation, &grid)?;
            let Some(at_k) = validation.summary.iter().find(|s| s.k == k) else {
                bail!("no validation speaker of fold {index} has more than {k} utterances of each emotion");
            };
            let best = (0..grid.len()).max_by(|&a, &b| at_k.after[a].total_cmp(&at_k.after[b])).unwrap_or(0);
            let (name, fit) = grid[best].clone();
            let mut guards = vec![(name.clone(), fit)];
            guards.extend(GUARDS.map(|g| (guarded_name(&name, g), fit.guarded(g))));
            let guarded = self.fold_result(&opened, index, Set::Validation, &guards)?;
            let choice = fewest_losers(&guarded.trials, k, guards.len());
            let mut settings = vec![grid[0].clone(), (name.clone(), fit)];
            settings.push(guards[choice].clone());
            let test = self.fold_result(&opened, index, Set::Test, &settings)?;
            out.push(Chosen { chosen: name, guard: guards[choice].1.guard, validation, guarded, test });
        }
        Ok(out)
    }

    fn fold_result(
        &self,
        Opened { run, prepared, folds }: &Opened,
        index: usize,
        set: Set,
        settings: &[(String, Settings)],
    ) -> Result<FoldAdaptation> {
        let fold = &folds[index];
        let root = self.weights.map_or_else(|| self.run_dir.join("weights"), Path::to_path_buf);
        // weights_dir names the run's own layout: weights/ or weights/fold-N/.
        let weights_dir = match weights_dir(folds.len(), index).strip_prefix("weights") {
            Some(rest) => root.join(rest.trim_start_matches('/')),
            None => root,
        };
        let rows = match set {
            Set::Test => fold.test.clone(),
            Set::Validation => {
                // Only voices the model has not heard: a corpus with too few speakers to hold
                // any out (TESS) is validated on utterances of speakers it trained on.
                let (fit, validation) = run.fit_and_validation(&prepared.data, index, fold);
                let speakers = &prepared.data.speakers;
                let heard: std::collections::BTreeSet<&String> =
                    fit.iter().filter_map(|&i| speakers[i].as_ref()).collect();
                validation.into_iter().filter(|&i| speakers[i].as_ref().is_some_and(|s| !heard.contains(s))).collect()
            }
        };
        let weights = Weights::load(&weights_dir, &Device::flex())
            .with_context(|| format!("cannot load weights from {}", weights_dir.display()))?;
        let columns: Vec<usize> = prepared
            .labels
            .iter()
            .map(|l| weights.sidecar.labels.iter().position(|m| m == l))
            .collect::<Option<_>>()
            .with_context(|| {
                format!("the model's emotions ({}) are not the run's", weights.sidecar.labels.join(", "))
            })?;
        let model = weights.model.valid();
        let utterances = utterances(&model, &prepared.data, &rows, &columns)?;
        let start = block_on(Analyzer::new(weights, Device::flex()).head())?;
        let only: Vec<Settings> = settings.iter().map(|(_, s)| *s).collect();
        let seed = timnet_train::mix(&[46, index as u64]);
        let network = Network { model: &model, data: &prepared.data };
        let trials = trials(&start, &utterances, Some(&network), &columns, self.ks, self.draws, &only, seed)?;
        Ok(FoldAdaptation {
            fold: fold.name.clone(),
            weights: weights_dir.display().to_string(),
            set: format!("{set:?}").to_lowercase(),
            settings: settings.to_vec(),
            summary: summarise(&trials, self.ks),
            trials,
        })
    }
}

/// A fold's settings and guard chosen on validation speakers, and its test speakers' figures.
#[derive(serde::Serialize)]
pub struct Chosen {
    pub chosen: String,
    /// The guard chosen: the model kept where adapting gets more than this many more takes
    /// wrong; none: no guard.
    pub guard: Option<usize>,
    /// The validation speakers with each settings of the grid.
    pub validation: FoldAdaptation,
    /// The validation speakers with the chosen settings, unguarded and with each guard.
    pub guarded: FoldAdaptation,
    pub test: FoldAdaptation,
}

/// Which of `columns` settings leaves the fewest speakers more than two points worse off at k;
/// of those, the one with the highest mean over speakers; of those, the first.
fn fewest_losers(trials: &[Trial], k: usize, columns: usize) -> usize {
    let scored: Vec<(usize, f64)> = (0..columns)
        .map(|column| {
            let speakers = speaker_means(trials, k, column);
            let mean = speakers.iter().map(|(_, after)| after).sum::<f64>() / speakers.len().max(1) as f64;
            (losers(&speakers), mean)
        })
        .collect();
    (0..columns).min_by(|&a, &b| scored[a].0.cmp(&scored[b].0).then(scored[b].1.total_cmp(&scored[a].1))).unwrap_or(0)
}

/// How many speakers lose more than two points.
fn losers(speakers: &[(f64, f64)]) -> usize {
    speakers.iter().filter(|(before, after)| after - before < -0.02).count()
}

/// A fold's summary as a table.
pub fn table(result: &FoldAdaptation) -> String {
    let speakers = result.summary.first().map_or(0, |s| s.speakers);
    let mut text = format!(
        "{} ({speakers} speakers of the {} set; UAR mean over speakers, then ± the spread and ≥ the \
         smallest of the speakers' gains)\n",
        result.fold, result.set
    );
    text += &format!("{:>3} {:>8}", "k", "before");
    result.settings.iter().for_each(|(name, _)| text += &format!(" {name:>20}"));
    text += "\n";
    if result.summary.is_empty() {
        text += "  no speaker to enrol: none is named, or none has enough utterances of each emotion\n";
    }
    for s in &result.summary {
        text += &format!("{:>3} {:>7.1}%", s.k, 100.0 * s.before);
        for ((a, spread), worst) in s.after.iter().zip(&s.gain_spread).zip(&s.worst_gain) {
            text += &format!(" {:>6.1}% ±{:>4.1} ≥{:>+5.1}", 100.0 * a, 100.0 * spread, 100.0 * worst);
        }
        text += "\n";
    }
    text
}

/// Every fold's speakers pooled into one table (each speaker named with its fold, since two
/// corpora may both have a speaker "01"), and per k and settings how many speakers lose more
/// than two points: the figure over speakers where each fold leaves out one (EmoDB's).
pub fn pooled(results: &[FoldAdaptation], ks: &[usize]) -> String {
    let Some(first) = results.first() else {
        return String::new();
    };
    let trials: Vec<Trial> = results
        .iter()
        .flat_map(|r| r.trials.iter().map(|t| Trial { speaker: format!("{}: {}", r.fold, t.speaker), ..t.clone() }))
        .collect();
    let all = FoldAdaptation {
        fold: format!("all {} folds", results.len()),
        weights: String::new(),
        set: first.set.clone(),
        settings: first.settings.clone(),
        summary: summarise(&trials, ks),
        trials: Vec::new(),
    };
    let mut text = table(&all);
    for &k in ks {
        for (column, (name, _)) in first.settings.iter().enumerate() {
            let speakers = speaker_means(&trials, k, column);
            if !speakers.is_empty() {
                let n = speakers.len();
                text += &format!("k = {k}, {name}: {} of {n} speakers lose more than 2 points\n", losers(&speakers));
            }
        }
    }
    text
}

/// Over the folds' test speakers, per k: the mean over corpora of each corpus's mean, the mean
/// over all speakers pooled, the smallest gain of any speaker, and how many lost more than two
/// points; before, with the label-free step alone, with the settings chosen per fold, and with
/// those guarded as chosen.
pub fn overall(results: &[Chosen], ks: &[usize]) -> String {
    let mut text = String::from(
        "all unseen corpora (test speakers; the label-free step alone, then the settings chosen per fold, \
         unguarded and guarded as chosen)\n",
    );
    text += &format!(
        "{:>3} {:>7} {:>8} | corpus mean: {:>7} {:>7} {:>7} {:>7} | speaker mean: {:>7} {:>7} {:>7} | worst speaker (speakers losing over 2 points): chosen; guarded\n",
        "k", "corpora", "speakers", "before", "alone", "chosen", "guarded", "before", "chosen", "guarded"
    );
    for &k in ks {
        let folds: Vec<&Summary> = results.iter().filter_map(|r| r.test.summary.iter().find(|s| s.k == k)).collect();
        if folds.is_empty() {
            continue;
        }
        let mean = |f: &dyn Fn(&Summary) -> f64| 100.0 * folds.iter().map(|s| f(s)).sum::<f64>() / folds.len() as f64;
        // Each speaker's mean over draws, pooled over the folds.
        let pooled = |column: usize| -> Vec<(f64, f64)> {
            results.iter().flat_map(|r| speaker_means(&r.test.trials, k, column)).collect()
        };
        let (chosen, guarded) = (pooled(1), pooled(2));
        let average = |speakers: &[(f64, f64)], after: bool| {
            100.0 * speakers.iter().map(|(b, a)| if after { *a } else { *b }).sum::<f64>()
                / speakers.len().max(1) as f64
        };
        let worst = |speakers: &[(f64, f64)]| {
            let worst = speakers.iter().map(|(b, a)| a - b).fold(f64::INFINITY, f64::min);
            format!("{:>+5.1} ({} of {})", 100.0 * worst, losers(speakers), speakers.len())
        };
        text += &format!(
            "{k:>3} {:>7} {:>8} |              {:>6.1}% {:>6.1}% {:>6.1}% {:>6.1}% |               {:>6.1}% {:>6.1}% {:>6.1}% | {}; {}\n",
            folds.len(),
            chosen.len(),
            mean(&|s| s.before),
            mean(&|s| s.after[0]),
            mean(&|s| s.after[1]),
            mean(&|s| s.after[2]),
            average(&chosen, false),
            average(&chosen, true),
            average(&guarded, true),
            worst(&chosen),
            worst(&guarded),
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(speaker: &str, draw: usize, before: f64, after: [f64; 3]) -> Trial {
        Trial { speaker: speaker.into(), k: 2, draw, tested: 10, before, after: after.to_vec() }
    }

    #[test]
    fn the_guard_chosen_leaves_the_fewest_speakers_worse_off_then_scores_best() {
        // Settings 0 has the best mean but leaves speaker b 5 points worse off (over its two
        // draws); settings 1 and 2 leave no one worse off, and 1 scores higher.
        let trials = [
            trial("a", 0, 0.5, [0.8, 0.6, 0.55]),
            trial("a", 1, 0.5, [0.8, 0.6, 0.55]),
            trial("b", 0, 0.5, [0.40, 0.5, 0.5]),
            trial("b", 1, 0.5, [0.50, 0.5, 0.5]),
        ];
        assert_eq!(losers(&speaker_means(&trials, 2, 0)), 1);
        assert_eq!(fewest_losers(&trials, 2, 3), 1);
        // Without the loser, the best mean wins; on a full tie, the first.
        assert_eq!(fewest_losers(&trials[..2], 2, 3), 0);
        let tie = [trial("a", 0, 0.5, [0.6, 0.6, 0.6])];
        assert_eq!(fewest_losers(&tie, 2, 3), 0);
    }
}
