//! `train`: reproduce TIM-Net's protocol on a corpus and write weights, metrics and a report.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use timnet::corpus::Corpus;
use timnet::model::{Ablations, TimNetConfig};
use timnet::train::data::Dataset;
use timnet::train::fit::{Backend, EpochLog, FitOptions};
use timnet::train::folds::Fold;
use timnet::train::report;
use timnet::train::run::{FoldResult, Progress, Protocol, Run, RunConfig};

#[derive(Clone, Copy, ValueEnum)]
enum ProtocolArg {
    Kfold,
    Loso,
    Holdout,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum Select {
    /// The official code's figure (best epoch on the test fold) and the last epoch.
    Test,
    /// Also hold out 10% of each training split and report the epoch chosen on it.
    Val,
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    /// The fused CPU training step (fast).
    Cpu,
    /// burn's autodiff on its flex CPU backend (the straightforward reference; slower).
    Flex,
}

#[derive(Parser)]
#[command(name = "train", version, about = "Train and evaluate TIM-Net as the paper's code does")]
struct Args {
    /// Corpus name (emodb, casia, ravdess, savee, emovo, iemocap, folder) and its directory.
    #[arg(long, num_args = 2, value_names = ["NAME", "DIR"])]
    corpus: Vec<String>,
    #[arg(long, value_enum, default_value = "kfold")]
    protocol: ProtocolArg,
    /// Folds for --protocol kfold.
    #[arg(long, default_value_t = 10)]
    folds: usize,
    /// Test speakers for --protocol holdout, comma separated.
    #[arg(long, value_delimiter = ',')]
    test_speakers: Vec<String>,
    #[arg(long, value_enum, default_value = "test")]
    select: Select,
    /// Train on all the data for shipping (no test set).
    #[arg(long = "final")]
    final_weights: bool,
    /// Train on these emotions only, in this order (comma separated).
    #[arg(long, value_delimiter = ',')]
    classes: Vec<String>,
    /// Pad or crop every clip to this many samples at 22,050 Hz instead of the corpus's length.
    #[arg(long)]
    clip_samples: Option<usize>,
    #[arg(long, default_value_t = 500)]
    epochs: usize,
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    #[arg(long, default_value_t = 46)]
    seed: u64,
    /// Temporal-Aware Blocks per direction (10 for IEMOCAP).
    #[arg(long)]
    tabs: Option<usize>,
    /// Ablation: tcn, no-bidirection, no-multiscale or no-dynamic-fusion.
    #[arg(long)]
    ablation: Option<String>,
    /// Run directory (default runs/<corpus>-<protocol>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long)]
    resume: bool,
    /// Replace an existing run directory.
    #[arg(long)]
    force: bool,
    /// Feature cache directory (default ~/.cache/timnet).
    #[arg(long)]
    cache: Option<PathBuf>,
    /// How the training step is computed.
    #[arg(long, value_enum, default_value = "cpu")]
    backend: BackendArg,
    /// Plain log lines instead of progress bars.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    timnet::cli::end_quietly_on_closed_pipe();
    match run(Args::parse()) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<ExitCode, String> {
    let [name, dir] =
        <[String; 2]>::try_from(args.corpus.clone()).map_err(|_| "--corpus NAME DIR is required".to_string())?;
    let protocol = if args.final_weights {
        Protocol::Final
    } else {
        match args.protocol {
            ProtocolArg::Kfold if args.folds >= 2 => Protocol::KFold { k: args.folds },
            ProtocolArg::Kfold => return Err("--folds must be at least 2".into()),
            ProtocolArg::Loso => Protocol::LeaveOneSpeakerOut,
            ProtocolArg::Holdout if !args.test_speakers.is_empty() => {
                Protocol::Holdout { test_speakers: args.test_speakers.clone() }
            }
            ProtocolArg::Holdout => return Err("--protocol holdout needs --test-speakers".into()),
        }
    };
    if args.clip_samples.is_some_and(|n| n < 2) {
        return Err("--clip-samples must be at least 2".into());
    }
    if args.epochs == 0 || args.batch_size == 0 {
        return Err("--epochs and --batch-size must be at least 1".into());
    }
    let mut model = TimNetConfig::default();
    if let Some(tabs) = args.tabs {
        model.tabs = tabs;
    }
    model.ablations = match args.ablation.as_deref() {
        None => Ablations::default(),
        Some("tcn") => Ablations { tcn: true, ..Default::default() },
        Some("no-bidirection") => Ablations { no_bidirection: true, ..Default::default() },
        Some("no-multiscale") => Ablations { no_multiscale: true, ..Default::default() },
        Some("no-dynamic-fusion") => Ablations { no_dynamic_fusion: true, ..Default::default() },
        Some(other) => return Err(format!("unknown ablation {other:?}")),
    };
    model.validate()?;
    let tag = match &protocol {
        Protocol::KFold { k } => format!("{k}fold"),
        Protocol::LeaveOneSpeakerOut => "loso".into(),
        Protocol::Holdout { .. } => "holdout".into(),
        Protocol::Final => "final".into(),
    };
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("runs/{name}-{tag}")));
    let config = RunConfig {
        corpus: name,
        corpus_dir: dir.into(),
        classes: (!args.classes.is_empty()).then(|| args.classes.clone()),
        clip_samples: args.clip_samples,
        protocol,
        select_on_validation: args.select == Select::Val,
        model,
        fit: FitOptions {
            epochs: args.epochs,
            batch_size: args.batch_size,
            seed: args.seed,
            backend: match args.backend {
                BackendArg::Cpu => Backend::Fused,
                BackendArg::Flex => Backend::Flex,
            },
            ..FitOptions::default()
        },
        command: std::env::args().map(quote).collect::<Vec<_>>().join(" "),
    };
    let run = Run::prepare(&out, config, args.force, args.resume)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            // A second Ctrl-C does not wait for the checkpoint.
            std::process::exit(130);
        }
        eprintln!("\ninterrupted: finishing this epoch and writing a checkpoint (Ctrl-C again to quit now)");
    })
    .map_err(|e| e.to_string())?;
    let cache = args.cache.clone().or_else(timnet::train::data::default_cache);
    let mut progress = Bars::new(args.quiet, stop);
    match run.execute(&mut progress, cache.as_deref())? {
        None => {
            eprintln!("checkpoint written; continue with: train --resume --out {} --corpus ...", out.display());
            Ok(ExitCode::from(130))
        }
        Some(results) => {
            progress.finish();
            let written = report::write(&run, &results, &progress.corpus_summary)?;
            println!("{}", written.summary);
            println!("run directory: {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn quote(arg: String) -> String {
    if arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=,:".contains(c)) {
        arg
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// indicatif bars for folds and epochs, or plain lines with --quiet.
struct Bars {
    quiet: bool,
    stop: Arc<AtomicBool>,
    folds: Option<ProgressBar>,
    epochs: Option<ProgressBar>,
    corpus_summary: report::CorpusSummary,
}

impl Bars {
    fn new(quiet: bool, stop: Arc<AtomicBool>) -> Self {
        Self { quiet, stop, folds: None, epochs: None, corpus_summary: Default::default() }
    }

    fn finish(&self) {
        for bar in [&self.epochs, &self.folds].into_iter().flatten() {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Bars {
    fn corpus(&mut self, corpus: &Corpus, data: &Dataset) {
        self.corpus_summary = report::CorpusSummary::new(corpus, data);
        eprintln!("{}", self.corpus_summary.describe());
    }

    fn fold_started(&mut self, index: usize, folds: usize, fold: &Fold, epochs: usize, done: usize) {
        let resumed = if done > 0 { format!(", resuming after epoch {done}") } else { String::new() };
        let line = format!(
            "{} ({}/{folds}): {} train, {} test{resumed}",
            fold.name,
            index + 1,
            fold.train.len(),
            fold.test.len()
        );
        if self.quiet {
            eprintln!("{line}");
            return;
        }
        let bars = indicatif::MultiProgress::new();
        let fold_bar = bars.add(ProgressBar::new(folds as u64).with_position(index as u64));
        fold_bar.set_style(ProgressStyle::with_template("folds  {bar:30} {pos}/{len} {msg}").expect("template"));
        fold_bar.set_message(line);
        let epoch_bar = bars.add(ProgressBar::new(epochs as u64).with_position(done as u64));
        epoch_bar.set_style(
            ProgressStyle::with_template("epochs {bar:30} {pos}/{len} {msg} (ETA {eta})").expect("template"),
        );
        self.folds = Some(fold_bar);
        self.epochs = Some(epoch_bar);
    }

    fn epoch(&mut self, log: &EpochLog) {
        let scores: Vec<String> = log
            .scores
            .iter()
            .map(|(set, s)| format!("{set} WAR {:.1}% UAR {:.1}%", 100.0 * s.war, 100.0 * s.uar))
            .collect();
        let msg = format!("loss {:.4} {}", log.loss, scores.join(" "));
        match &self.epochs {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(msg);
            }
            None => eprintln!("epoch {} ({:.1} s): {msg}", log.epoch, log.seconds),
        }
    }

    fn fold_finished(&mut self, result: &FoldResult) {
        if let Some(bar) = &self.folds {
            bar.inc(1);
        }
        if let Some((epoch, s)) = &result.scores.best_on_test {
            let last = result
                .scores
                .last_epoch
                .as_ref()
                .map_or(String::new(), |l| format!("; last epoch WAR {:.2}%", 100.0 * l.war));
            let line = format!(
                "{}: best epoch {epoch} WAR {:.2}% UAR {:.2}%{last}",
                result.name,
                100.0 * s.war,
                100.0 * s.uar
            );
            match &self.folds {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }
    }

    fn interrupted(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}
