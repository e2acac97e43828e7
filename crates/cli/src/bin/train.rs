//! `train`: reproduce TIM-Net's protocol on a corpus and write weights, metrics and a report.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use timnet::features::Normalisation;
use timnet::model::{Ablations, TimNetConfig};
use timnet_cli::{command_line, corpus_names, corpus_pairs};
use timnet_train::augment::Augmentation;
use timnet_train::corpus::Corpus;
use timnet_train::data::Dataset;
use timnet_train::fit::{Backend, EpochLog, FitOptions};
use timnet_train::folds::Fold;
use timnet_train::report;
use timnet_train::run::{CorpusSpec, FoldResult, Metric, Progress, Protocol, Run, RunConfig};

#[derive(Clone, Copy, ValueEnum)]
enum ProtocolArg {
    /// k shuffled folds of utterances (the paper's).
    Kfold,
    /// Leave one speaker out.
    Loso,
    /// Test on --test-speakers, train on the rest.
    Holdout,
    /// Leave one corpus out: per corpus of a mix, train on the others and test on it.
    Loco,
    /// k folds of a mix whose test sets share no speaker.
    Speakers,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum Select {
    /// The official code's figure (best epoch on the test fold) and the last epoch.
    Test,
    /// Also hold out a validation set and report the epoch chosen on it (for a mix: a tenth of
    /// each training corpus's speakers).
    Val,
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    /// The fused CPU training step (fast).
    Cpu,
    /// burn's autodiff on its flex CPU backend (the straightforward reference; slower).
    Flex,
    /// burn's autodiff on a GPU through wgpu: Vulkan, Metal or DX12 (needs the program built
    /// with `--features wgpu`).
    Wgpu,
    /// burn's autodiff on an NVIDIA GPU through CUDA (needs the program built with
    /// `--features cuda` and, to run, the NVIDIA driver).
    Cuda,
}

#[derive(Clone, Copy, ValueEnum)]
enum AblationArg {
    Tcn,
    NoBidirection,
    NoMultiscale,
    NoDynamicFusion,
}

#[derive(Clone, Copy, ValueEnum)]
enum MetricArg {
    War,
    Uar,
}

#[derive(Clone, Copy, ValueEnum)]
enum AugmentArg {
    Speed,
    Gain,
    Noise,
    Reverb,
    Crop,
    Mask,
    /// All of the above.
    All,
}

#[derive(Parser)]
#[command(
    name = "train",
    version,
    about = "Train and evaluate TIM-Net as the paper's code does, on one corpus or a mix"
)]
struct Args {
    #[arg(long, num_args = 2, value_names = ["NAME", "DIR"], required = true,
        help = format!("A corpus and its directory; repeat for a mix. NAME: {}", corpus_names()))]
    corpus: Vec<String>,
    #[arg(long, value_enum, default_value = "kfold")]
    protocol: ProtocolArg,
    /// Folds for --protocol kfold and speakers.
    #[arg(long, default_value_t = 10)]
    folds: usize,
    /// Test speakers for --protocol holdout, comma separated.
    #[arg(long, value_delimiter = ',')]
    test_speakers: Vec<String>,
    #[arg(long, value_enum, default_value = "test")]
    select: Select,
    /// The figure that chooses the epoch with --select val (default: WAR for one corpus, as the
    /// official code; UAR for a mix).
    #[arg(long, value_enum)]
    select_by: Option<MetricArg>,
    /// Train on all the data for shipping (no test set; with --select val, a validation set
    /// is still held out and scored).
    #[arg(long = "final")]
    final_weights: bool,
    /// Train on these emotions only, in this order (comma separated; a mix defaults to angry,
    /// fear, happy, neutral, sad).
    #[arg(long, value_delimiter = ',')]
    classes: Vec<String>,
    /// Pad or crop every clip to this many samples at 22,050 Hz instead of the default (the
    /// corpus's official length; 3 s for a mix).
    #[arg(long)]
    clip_samples: Option<usize>,
    /// The mel filterbank's top edge in Hz, the same for every input (default: 11,025 Hz, the
    /// Nyquist rate). 8000 gives 16 kHz and 48 kHz recordings alike spectra.
    #[arg(long)]
    band_limit: Option<f32>,
    /// Normalise each utterance's MFCCs to mean 0 and variance 1 per coefficient.
    #[arg(long)]
    cmvn: bool,
    /// Normalise each utterance's MFCCs to mean 0 per coefficient, keeping their spread.
    #[arg(long, conflicts_with = "cmvn")]
    cmn: bool,
    /// Normalise the MFCCs to mean 0 and variance 1 per coefficient over all of a speaker's
    /// utterances together (by corpus where a corpus names no speakers): what sets one
    /// utterance apart from the same voice's others is kept. Label-free, but it reads every
    /// test speaker's utterances before scoring any of them.
    #[arg(long, conflicts_with_all = ["cmvn", "cmn"])]
    speaker_norm: bool,
    /// With --speaker-norm: each speaker's statistics from K of their utterances, drawn without
    /// looking at labels, as a new voice would give a few takes first; those K are never scored,
    /// so no test utterance is read before it is scored.
    #[arg(long, value_name = "K", requires = "speaker_norm", value_parser = clap::value_parser!(u64).range(1..))]
    speaker_takes: Option<u64>,
    /// Augmented copies of each utterance, made once and cached (0: no augmentation).
    #[arg(long, default_value_t = 0)]
    copies: usize,
    /// Which augmentations to use, comma separated (speed, gain, noise, reverb, crop, mask, all).
    #[arg(long, value_enum, value_delimiter = ',')]
    augment: Vec<AugmentArg>,
    /// Batches with an equal share of every corpus of a mix.
    #[arg(long)]
    balance: bool,
    /// Mixup on every training batch with this α: each utterance blended with another of its
    /// batch (often of another corpus), features and labels alike (0: off).
    #[arg(long, default_value_t = 0.0)]
    mixup: f64,
    /// Domain-adversarial training: a corpus critic learns to tell the training corpora apart
    /// from the fused features, and its gradient reaches the network reversed, weighted by up
    /// to this (ramped up from 0 over training; 0: off). A mix on the CPU step only.
    #[arg(long, default_value_t = 0.0)]
    adversary: f64,
    /// Weight averaging: from the start of this epoch (counted from 1) on, the model scored
    /// after each epoch and kept at the end is the mean of the weights after every step since
    /// (0: off). The CPU step only.
    #[arg(long, value_name = "EPOCH", default_value_t = 0)]
    average_from: usize,
    #[arg(long, default_value_t = 500)]
    epochs: usize,
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    #[arg(long, default_value_t = 46)]
    seed: u64,
    /// Temporal-Aware Blocks per direction (10 for IEMOCAP).
    #[arg(long)]
    tabs: Option<usize>,
    /// Filters of every block (the paper's 39): a wider variant, measured beside the paper's.
    #[arg(long)]
    filters: Option<usize>,
    /// One of the paper's ablations.
    #[arg(long, value_enum)]
    ablation: Option<AblationArg>,
    /// Run directory (default runs/<corpora>-<protocol>).
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
    /// With `--backend wgpu` or `cuda`: the GPUs to share each batch among, as a count (the
    /// first N the runtime lists) or names, comma-separated (wgpu: default, cpu, discrete:K,
    /// integrated:K, virtual:K; cuda: cuda:K). Gradients are summed on the first, where Adam
    /// steps.
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    devices: Vec<String>,
    /// Plain log lines instead of progress bars.
    #[arg(long)]
    quiet: bool,
}

/// The most a numeric option may be: far past any sensible run, and small enough that nothing
/// derived from it overflows.
const MOST_EPOCHS: usize = 100_000;
const MOST_BATCH: usize = 65_536;
const MOST_COPIES: usize = 16;
const MOST_FOLDS: usize = 1_000;

fn main() -> ExitCode {
    timnet_cli::end_quietly_on_closed_pipe();
    match run(Args::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn protocol(args: &Args, mix: bool) -> Result<Protocol> {
    if args.final_weights {
        return Ok(Protocol::Final);
    }
    if !(2..=MOST_FOLDS).contains(&args.folds) {
        bail!("--folds must be 2 to {MOST_FOLDS}");
    }
    Ok(match args.protocol {
        ProtocolArg::Kfold => Protocol::KFold { k: args.folds },
        ProtocolArg::Loso => Protocol::LeaveOneSpeakerOut,
        ProtocolArg::Holdout if !args.test_speakers.is_empty() => {
            Protocol::Holdout { test_speakers: args.test_speakers.clone() }
        }
        ProtocolArg::Holdout => bail!("--protocol holdout needs --test-speakers"),
        ProtocolArg::Loco if mix => Protocol::LeaveOneCorpusOut,
        ProtocolArg::Loco => bail!("--protocol loco needs at least two corpora (--corpus NAME DIR, repeated)"),
        ProtocolArg::Speakers => Protocol::SpeakerFolds { k: args.folds },
    })
}

fn augmentation(args: &Args) -> Result<Augmentation> {
    if args.copies > MOST_COPIES {
        bail!("--copies is {}; at most {MOST_COPIES}", args.copies);
    }
    let mut a = Augmentation { copies: args.copies, ..Augmentation::default() };
    for choice in &args.augment {
        match choice {
            AugmentArg::Speed => a.speed = true,
            AugmentArg::Gain => a.gain = true,
            AugmentArg::Noise => a.noise = true,
            AugmentArg::Reverb => a.reverb = true,
            AugmentArg::Crop => a.crop = true,
            AugmentArg::Mask => a.mask = true,
            AugmentArg::All => a = Augmentation::all(args.copies),
        }
    }
    if a.copies == 0 && (a.speed || a.gain || a.noise || a.reverb || a.crop) {
        bail!(
            "--augment {} makes copies of the utterances: give --copies N (1 to {MOST_COPIES})",
            "speed, gain, noise, reverb and crop"
        );
    }
    if args.speaker_norm && a.makes_copies() {
        bail!("--speaker-norm does not yet combine with augmented copies (--copies): leave one of them out");
    }
    Ok(a)
}

fn run(args: Args) -> Result<ExitCode> {
    let corpora: Vec<CorpusSpec> =
        corpus_pairs(&args.corpus)?.into_iter().map(|(corpus, dir)| CorpusSpec { corpus, dir }).collect();
    let mix = corpora.len() > 1;
    let protocol = protocol(&args, mix)?;
    let clips = timnet::weights::CLIP_SAMPLES;
    if args.clip_samples.is_some_and(|n| !clips.contains(&n)) {
        bail!("--clip-samples must be {} (half a second) to {} (a minute)", clips.start(), clips.end());
    }
    if !(1..=MOST_EPOCHS).contains(&args.epochs) || !(1..=MOST_BATCH).contains(&args.batch_size) {
        bail!("--epochs must be 1 to {MOST_EPOCHS} and --batch-size 1 to {MOST_BATCH}");
    }
    if args.band_limit.is_some_and(|hz| !(hz > 0.0 && hz <= timnet::audio::MODEL_RATE as f32 / 2.0)) {
        bail!("--band-limit must be above 0 and at most 11025 Hz (half the feature rate)");
    }
    let mut model = TimNetConfig::default();
    if let Some(tabs) = args.tabs {
        model.tabs = tabs;
    }
    if let Some(filters) = args.filters {
        model.filters = filters;
    }
    model.ablations = match args.ablation {
        None => Ablations::default(),
        Some(AblationArg::Tcn) => Ablations { tcn: true, ..Default::default() },
        Some(AblationArg::NoBidirection) => Ablations { no_bidirection: true, ..Default::default() },
        Some(AblationArg::NoMultiscale) => Ablations { no_multiscale: true, ..Default::default() },
        Some(AblationArg::NoDynamicFusion) => Ablations { no_dynamic_fusion: true, ..Default::default() },
    };
    model.validate().map_err(anyhow::Error::msg)?;
    let backend = match args.backend {
        BackendArg::Cpu => Backend::Fused,
        BackendArg::Flex => Backend::Flex,
        BackendArg::Wgpu => Backend::Wgpu,
        BackendArg::Cuda => Backend::Cuda,
    };
    // Before the corpora are read: a missing GPU is said at once.
    match backend.gpu() {
        Some(runtime) => drop(timnet_train::gpu::devices(runtime, &args.devices)?),
        None if !args.devices.is_empty() => anyhow::bail!("--devices needs a GPU backend (--backend wgpu or cuda)"),
        None => {}
    }
    let augmentation = augmentation(&args)?;
    if !(args.mixup.is_finite() && args.mixup >= 0.0) {
        anyhow::bail!("--mixup takes an α of 0 (off) or more, not {}", args.mixup);
    }
    if !(args.adversary.is_finite() && args.adversary >= 0.0) {
        anyhow::bail!("--adversary takes a weight of 0 (off) or more, not {}", args.adversary);
    }
    if args.adversary > 0.0 && !mix {
        anyhow::bail!("--adversary tells corpora apart: give two corpora or more (--corpus NAME DIR, repeated)");
    }
    if args.adversary > 0.0 && backend != Backend::Fused {
        anyhow::bail!("--adversary runs on the CPU step only (--backend cpu)");
    }
    if args.average_from > args.epochs {
        anyhow::bail!("--average-from {} starts after the last epoch (--epochs {})", args.average_from, args.epochs);
    }
    if args.average_from > 0 && backend != Backend::Fused {
        anyhow::bail!("--average-from runs on the CPU step only (--backend cpu)");
    }
    let fit = FitOptions {
        epochs: args.epochs,
        batch_size: args.batch_size,
        seed: args.seed,
        backend,
        balance_corpora: args.balance,
        mask: augmentation.mask,
        mixup: args.mixup,
        adversary: args.adversary,
        average_from: args.average_from,
        devices: args.devices.clone(),
        ..FitOptions::default()
    };
    let select_by = match args.select_by {
        Some(MetricArg::War) => Metric::War,
        Some(MetricArg::Uar) => Metric::Uar,
        None if mix => Metric::Uar,
        None => Metric::War,
    };
    let config = RunConfig {
        classes: (!args.classes.is_empty()).then(|| args.classes.clone()),
        clip_samples: args.clip_samples,
        select_on_validation: args.select == Select::Val,
        select_by,
        band_limit: args.band_limit,
        normalisation: match (args.cmvn, args.cmn, args.speaker_norm) {
            (true, _, _) => Normalisation::PerUtterance,
            (_, true, _) => Normalisation::PerUtteranceMean,
            (_, _, true) => Normalisation::PerSpeaker,
            _ => Normalisation::None,
        },
        speaker_takes: args.speaker_takes.map(|k| k as usize),
        augmentation,
        command: command_line(),
        ..RunConfig::new(corpora, protocol, model, fit)
    };
    let tag = match &config.protocol {
        Protocol::KFold { k } => format!("{k}fold"),
        Protocol::LeaveOneSpeakerOut => "loso".into(),
        Protocol::Holdout { .. } => "holdout".into(),
        Protocol::LeaveOneCorpusOut => "loco".into(),
        Protocol::SpeakerFolds { k } => format!("{k}speakerfold"),
        Protocol::Final => "final".into(),
    };
    let name = if mix { "mix".to_string() } else { config.corpus_names() };
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("runs/{name}-{tag}")));
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
    .context("cannot catch Ctrl-C")?;
    let cache = args.cache.clone().or_else(timnet_train::data::default_cache);
    let mut progress = Bars::new(args.quiet, stop);
    match run.execute(&mut progress, cache.as_deref())? {
        None => {
            eprintln!("checkpoint written; continue with: train --resume --out {} --corpus ...", out.display());
            Ok(ExitCode::from(130))
        }
        Some(results) => {
            progress.finish();
            let written = report::write(&run, &results, &progress.corpora)?;
            println!("{}", written.summary);
            println!("run directory: {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// indicatif bars for folds and epochs, or plain lines with --quiet.
struct Bars {
    quiet: bool,
    stop: Arc<AtomicBool>,
    folds: Option<ProgressBar>,
    epochs: Option<ProgressBar>,
    corpora: Vec<report::CorpusSummary>,
}

impl Bars {
    fn new(quiet: bool, stop: Arc<AtomicBool>) -> Self {
        Self { quiet, stop, folds: None, epochs: None, corpora: Vec::new() }
    }

    fn finish(&self) {
        for bar in [&self.epochs, &self.folds].into_iter().flatten() {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Bars {
    fn corpus(&mut self, corpus: &Corpus, data: &Dataset) {
        let summary = report::CorpusSummary::new(corpus, data);
        eprintln!("{}", summary.describe());
        self.corpora.push(summary);
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
        fold_bar.set_style(
            ProgressStyle::with_template("folds  {bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        fold_bar.set_message(line);
        let epoch_bar = bars.add(ProgressBar::new(epochs as u64).with_position(done as u64));
        epoch_bar.set_style(
            ProgressStyle::with_template("epochs {bar:30} {pos}/{len} {msg} (ETA {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
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
        let critic = log.critic_loss.map(|l| format!(" critic {l:.4}")).unwrap_or_default();
        let msg = format!("loss {:.4}{critic} {}", log.loss, scores.join(" "));
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
