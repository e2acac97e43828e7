//! `timnet`: look inside a model, compute features, and predict emotions from audio files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use npyz::WriterBuilder;
use timnet::adapt::Settings;
use timnet::analysis::Analyzer;
use timnet::audio::{fit_length, prepare};
use timnet::burn::prelude::*;
use timnet::features::{Features, Mfcc, Normalisation};
use timnet::weights::{Precision, Weights};
use timnet_cli::adapt::{self, Set};
use timnet_cli::{Source, corpus_names, corpus_pairs, load_weights};
use timnet_train::corpus::Corpus;
use timnet_train::data::default_cache;
use timnet_train::evaluate::evaluate;

#[derive(Parser)]
#[command(name = "timnet", version, about = "TIM-Net speech emotion recognition")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Which weights: a directory, or a shipped model by name; the default shipped model without
/// either.
#[derive(clap::Args)]
struct Model {
    /// A weights directory (model.json + model.bpk).
    #[arg(long)]
    weights: Option<PathBuf>,
    #[arg(long, conflicts_with = "weights", help = format!("A shipped model by name. {}", timnet_cli::model_names()))]
    model: Option<String>,
}

impl Model {
    fn load(&self) -> Result<(Weights, Source)> {
        load_weights(self.weights.as_deref(), self.model.as_deref())
    }
}

#[derive(Subcommand)]
enum Command {
    /// Print the architecture table and the parameter counts.
    Info {
        #[command(flatten)]
        model: Model,
        /// The same as --weights (the older form).
        #[arg(conflicts_with_all = ["weights", "model"], hide = true)]
        dir: Option<PathBuf>,
        /// Also list every tensor: its name, Keras name, shape and role.
        #[arg(long)]
        tensors: bool,
    },
    /// Compute MFCCs (frames x 39) of an audio file.
    Mfcc {
        file: PathBuf,
        /// Write to a .npy or .csv file instead of printing CSV.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Centre-pad or crop to this many samples at 22,050 Hz first, as training does (2 to a
        /// minute's worth, 1,323,000).
        #[arg(long)]
        length: Option<usize>,
    },
    /// Predict the emotion of each audio file (or say that it holds no speech).
    Predict {
        files: Vec<PathBuf>,
        #[command(flatten)]
        model: Model,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Score trained weights on a labelled corpus, on the emotions both share (cross-corpus).
    Eval {
        #[command(flatten)]
        model: Model,
        #[arg(long, num_args = 2, value_names = ["NAME", "DIR"], required = true,
            help = format!("The corpus and its directory. NAME: {}", corpus_names()))]
        corpus: Vec<String>,
        /// The emotions to score, comma separated (default: angry, fear, happy, neutral, sad
        /// when both have them, else every shared emotion).
        #[arg(long, value_delimiter = ',')]
        classes: Vec<String>,
        /// Normalise each recording on its own, as `predict` does for a per-speaker model not yet
        /// taught a voice (by default such a model is given each speaker's statistics over all
        /// of their recordings in the corpus, or, once taught a voice, that voice's statistics
        /// for every recording, as `predict` uses them; other models normalise each recording
        /// alone anyway).
        #[arg(long)]
        alone: bool,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Teach a model one person's voice from a few labelled takes; writes a weights directory
    /// that predict, eval, info and the page load.
    Adapt {
        #[command(flatten)]
        model: Model,
        /// One folder per emotion (named as the model names it: angry, fear, ...), each holding
        /// that emotion's takes, in any format `predict` reads.
        #[arg(long)]
        takes: PathBuf,
        /// The directory to write the adapted model.bpk and model.json into.
        #[arg(long)]
        out: PathBuf,
        /// Skip the label-free step that evens the mean answer over the takes.
        #[arg(long)]
        no_centre: bool,
        /// Adam steps of the labelled fit of the fusion weights and the head (0: none).
        #[arg(long, default_value_t = Settings::default().fit.steps)]
        steps: usize,
        #[arg(long, default_value_t = Settings::default().fit.learning_rate)]
        learning_rate: f32,
        /// λ of the penalty ½λ‖θ − θ₀‖² that keeps the weights near the model's.
        #[arg(long, default_value_t = Settings::default().fit.penalty)]
        penalty: f32,
        /// Keep the model as it was where adapting gets more than N more of the takes wrong than
        /// the model did, each take scored by a model adapted without it (N, or off; by default
        /// as the page adapts).
        #[arg(long, value_name = "N|off", value_parser = guard)]
        guard: Option<Guard>,
        /// The share (0 to 1) of the takes' own statistics in every BatchNorm of the network,
        /// re-estimated before the fit (0: the model's alone).
        #[arg(long, default_value_t = Settings::default().batch_norm)]
        batch_norm: f32,
    },
    /// Measure adaptation on the speakers of a training run's fold: for each speaker, k takes
    /// per emotion drawn at random, the speaker's other utterances scored before and after.
    AdaptEval {
        /// The run directory (its run.json says the corpora, front end and splits).
        #[arg(long)]
        run: PathBuf,
        /// The fold to score (0-based; every fold when not given).
        #[arg(long)]
        fold: Option<usize>,
        /// Where the folds' models are, laid out as the run's weights/ (a model, or fold-1/ ...
        /// for several folds); the run's own weights/ by default.
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Which speakers to score [default: test].
        #[arg(long, value_enum)]
        set: Option<Set>,
        /// Takes per emotion, comma separated.
        #[arg(long, value_delimiter = ',', default_values_t = [1, 2, 4])]
        k: Vec<usize>,
        /// Random draws of the takes per speaker and k.
        #[arg(long, default_value_t = 5)]
        draws: usize,
        /// Compare the settings of a small grid instead of the default settings alone.
        #[arg(long, conflicts_with = "choose")]
        grid: bool,
        /// Per fold, choose the grid's settings on the validation speakers, then score the test
        /// speakers with them (and with the label-free step alone).
        #[arg(long, conflicts_with = "set")]
        choose: bool,
        /// Also write every trial and summary as JSON into this file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Enrol and score only these emotions, comma separated (the model keeps all of its
        /// own): EmoDB's speakers, for one, have too few utterances of disgust for k takes of
        /// every one of its seven.
        #[arg(long, value_delimiter = ',')]
        classes: Vec<String>,
    },
    /// Write a copy of trained weights, in half precision with --half (half the file: what the
    /// page ships). The sidecar, its recorded predictions included, goes with it.
    Export {
        /// The weights directory to copy.
        weights: PathBuf,
        /// The directory to write model.bpk and model.json into.
        out: PathBuf,
        #[arg(long)]
        half: bool,
    },
}

fn main() -> ExitCode {
    timnet_cli::end_quietly_on_closed_pipe();
    let cli = Cli::parse();
    let mut out = std::io::stdout().lock();
    let result = match cli.command {
        Command::Info { model, dir, tensors } => match dir {
            Some(dir) => load_weights(Some(&dir), None),
            None => model.load(),
        }
        .and_then(|w| info(&mut out, w, tensors)),
        Command::Mfcc { file, out: to, length } => mfcc(&mut out, &file, to.as_deref(), length),
        Command::Predict { files, model, json } => predict(&mut out, &files, &model, json),
        Command::Eval { model, corpus, classes, alone, json } => eval(&mut out, &model, &corpus, &classes, alone, json),
        Command::Export { weights, out: to, half } => export(&mut out, &weights, &to, half),
        Command::Adapt { model, takes, out: to, no_centre, steps, learning_rate, penalty, guard, batch_norm } => {
            let guard = guard.map_or(Settings::default().guard, |Guard(g)| g);
            adapt::settings(!no_centre, steps, learning_rate, penalty, guard, batch_norm)
                .and_then(|settings| adapt::adapt(&mut out, model.load()?.0, &takes, &to, &settings))
        }
        Command::AdaptEval { run, fold, weights, set, k, draws, grid, choose, json, classes } => {
            let classes = (!classes.is_empty()).then_some(classes.as_slice());
            let evaluation =
                adapt::Evaluation { run_dir: &run, fold, weights: weights.as_deref(), ks: &k, draws, classes };
            adapt_eval(&mut out, &evaluation, set.unwrap_or(Set::Test), grid, choose, json.as_deref())
        }
    }
    .and_then(|()| out.flush().context("cannot write the answer"));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Where the answer goes; every write is checked (a full disk is an error, not a panic).
type Out<'a> = std::io::StdoutLock<'a>;

/// `--guard`: a number of takes, or off.
#[derive(Clone, Copy)]
struct Guard(Option<usize>);

fn guard(text: &str) -> std::result::Result<Guard, String> {
    match text {
        "off" => Ok(Guard(None)),
        n => n.parse().map(|n| Guard(Some(n))).map_err(|_| format!("a number of takes, or off; not {n:?}")),
    }
}

fn info(out: &mut Out, (w, from): (Weights, Source), tensors: bool) -> Result<()> {
    let (config, s) = (&w.sidecar.model, &w.sidecar);
    let table = config.params();
    let mut text = format!("{:<38} {:>10} {:>10}\n", "layer", "output", "params");
    for row in table.layer_rows() {
        text += &format!("{:<38} {:>10} {:>10}\n", row.name, row.output, group(row.params));
    }
    // burn's count includes BatchNorm's running statistics, as Keras's total does.
    let total = w.model.num_params();
    text += &format!("\ntrainable parameters: {}\n", group(table.trainable_count()));
    text += &format!("with BatchNorm running statistics (as Keras counts): {}\n", group(total));
    if tensors {
        text += &format!("\n{:<34} {:<28} {:<14} role\n", "tensor", "Keras name", "Keras shape");
        for p in &table.params {
            text += &format!("{:<34} {:<28} {:<14} {:?}\n", p.name, p.keras, format!("{:?}", p.shape), p.role);
        }
    }
    text += &format!("\nweights: {from}\n");
    text += &format!("labels: {}\n", s.labels.join(", "));
    text +=
        &format!("clip: {} samples at {} Hz ({} frames)\n", s.clip_samples, s.features.sample_rate, s.clip_frames());
    let band = s.features.fmax.map_or("to the Nyquist rate".to_string(), |hz| format!("up to {hz} Hz"));
    text += &format!("front end: MFCC {band}; normalisation {:?}\n", s.normalisation);
    if s.voice.is_some() {
        text += "voice: normalised by the statistics of the takes it was taught\n";
    } else if s.normalisation == Normalisation::PerSpeaker {
        text += "voice: none taught yet (timnet adapt); each recording is normalised on its own\n";
    }
    let interim = if s.provenance.interim { " (interim)" } else { "" };
    text += &format!("trained on {}{interim}: {}\n", s.provenance.corpus, s.provenance.command);
    if !s.provenance.notes.is_empty() {
        text += &format!("notes: {}\n", s.provenance.notes);
    }
    if let Some(p) = &s.personalised {
        let takes: Vec<String> = p.takes.iter().map(|(e, n)| format!("{e} {n}")).collect();
        text += &format!(
            "personalised: adapted from {} (record {}) on {} take(s) ({}); settings {:?}\n",
            p.from_corpus,
            &p.from_sha256[..p.from_sha256.len().min(12)],
            p.takes.values().sum::<usize>(),
            takes.join(", "),
            p.settings
        );
    }
    out.write_all(text.as_bytes()).context("cannot write the answer")
}

fn export(out: &mut Out, weights: &Path, to: &Path, half: bool) -> Result<()> {
    let (mut w, _) = load_weights(Some(weights), None)?;
    let precision = if half { Precision::Half } else { Precision::Full };
    if half {
        let notes = &mut w.sidecar.provenance.notes;
        notes.push_str(if notes.is_empty() { "" } else { "; " });
        notes.push_str("stored in half precision (timnet export --half)");
    }
    w.save(to, precision).with_context(|| format!("cannot write {}", to.display()))?;
    writeln!(out, "wrote {} ({precision:?} precision)", to.display()).context("cannot write the answer")
}

fn read_file(file: &Path) -> Result<Vec<u8>> {
    timnet::files::read_regular(file, timnet::files::MAX_AUDIO_BYTES).with_context(|| file.display().to_string())
}

fn read_audio(file: &Path) -> Result<timnet::audio::Prepared> {
    prepare(&read_file(file)?).with_context(|| file.display().to_string())
}

/// The longest --length: a minute at the feature rate.
const MOST_LENGTH: usize = timnet::weights::MAX_CLIP_SAMPLES;

fn mfcc(out: &mut Out, file: &Path, to: Option<&Path>, length: Option<usize>) -> Result<()> {
    if let Some(n) = length
        && !(2..=MOST_LENGTH).contains(&n)
    {
        bail!("--length must be 2 to {MOST_LENGTH} samples (a minute at 22,050 Hz)");
    }
    let prepared = read_audio(file)?;
    for note in &prepared.notes {
        eprintln!("note: {note}");
    }
    let samples = match length {
        Some(n) => fit_length(&prepared.samples, n),
        None => prepared.samples,
    };
    let features = Mfcc::default().compute(&samples);
    match to {
        Some(path) if path.extension().is_some_and(|e| e == "npy") => write_npy(path, &features),
        Some(path) => std::fs::write(path, csv(&features)).with_context(|| path.display().to_string()),
        None => out.write_all(csv(&features).as_bytes()).context("cannot write the answer"),
    }
}

fn csv(features: &Features) -> String {
    let mut text = String::new();
    for t in 0..features.frames {
        let row: Vec<String> = features.row(t).iter().map(|v| format!("{v}")).collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    text
}

fn write_npy(path: &Path, features: &Features) -> Result<()> {
    let context = || path.display().to_string();
    let file = std::io::BufWriter::new(std::fs::File::create(path).with_context(context)?);
    let mut writer = npyz::WriteOptions::<f32>::new()
        .default_dtype()
        .shape(&[features.frames as u64, features.coeffs as u64])
        .writer(file)
        .begin_nd()
        .with_context(context)?;
    writer.extend(features.data.iter().copied()).with_context(context)?;
    writer.finish().with_context(context)
}

/// A path for JSON: its text, and where it is not UTF-8, its bytes too (JSON strings hold only
/// Unicode, so the text alone would lose them).
fn path_json(path: &Path) -> serde_json::Value {
    let text = path.to_string_lossy();
    match path.to_str() {
        Some(_) => serde_json::json!(text),
        None => {
            #[cfg(unix)]
            let bytes: Vec<u8> = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()).to_vec();
            #[cfg(not(unix))]
            let bytes: Vec<u8> = text.as_bytes().to_vec();
            serde_json::json!({ "lossy": text, "bytes": bytes })
        }
    }
}

fn predict(out: &mut Out, files: &[PathBuf], model: &Model, json: bool) -> Result<()> {
    if files.is_empty() {
        bail!("name at least one audio file");
    }
    let analyzer = Analyzer::new(model.load()?.0, Device::flex());
    let mut failures = 0;
    let mut reports = Vec::new();
    let mut text = String::new();
    for file in files {
        // Decoded and analysed window by window: an hour of audio needs no more memory than a minute.
        let analysis = read_file(file)
            .and_then(|bytes| analyzer.analyse_bytes(&bytes).with_context(|| file.display().to_string()));
        match analysis {
            Ok(a) if json => {
                // Without speech there is no answer: `top` is null; the probabilities stay in
                // the analysis, beside its `speech: false`.
                let top = a.speech.then(|| a.top().0.to_string());
                reports
                    .push(serde_json::json!({ "file": path_json(file), "top": top, "doubt": a.doubt(), "analysis": a }))
            }
            Ok(a) if !a.speech => {
                text += &format!(
                    "{}: no speech detected over {:.2} s in {} window(s)\n",
                    file.display(),
                    a.seconds,
                    a.windows.len()
                );
                for note in &a.notes {
                    text += &format!("  note: {note}\n");
                }
            }
            Ok(a) => {
                let (label, p) = a.top();
                text += &format!(
                    "{}: {label} ({:.1}%) over {:.2} s in {} window(s)\n",
                    file.display(),
                    100.0 * p,
                    a.seconds,
                    a.windows.len()
                );
                for (l, p) in a.labels.iter().zip(&a.probabilities) {
                    text += &format!("  {l:<10} {:>5.1}%  {}\n", 100.0 * p, "█".repeat((p * 40.0).round() as usize));
                }
                if let Some(doubt) = a.doubt() {
                    text += &format!("  {doubt}\n");
                }
                for note in &a.notes {
                    text += &format!("  note: {note}\n");
                }
            }
            Err(error) => {
                failures += 1;
                if json {
                    reports.push(serde_json::json!({ "file": path_json(file), "error": format!("{error:#}") }));
                } else {
                    eprintln!("error: {error:#}");
                }
            }
        }
    }
    if json {
        text = serde_json::to_string_pretty(&reports)? + "\n";
    }
    out.write_all(text.as_bytes()).context("cannot write the answer")?;
    match failures {
        0 => Ok(()),
        n => bail!("{n} of {} file(s) could not be analysed", files.len()),
    }
}

/// 104496 → "104,496".
fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn eval(out: &mut Out, model: &Model, corpus: &[String], classes: &[String], alone: bool, json: bool) -> Result<()> {
    let [(kind, dir)] = <[_; 1]>::try_from(corpus_pairs(corpus)?)
        .map_err(|_| anyhow::anyhow!("eval scores one corpus: --corpus NAME DIR, once"))?;
    let (mut weights, weights_from) = model.load()?;
    // One recording of a speaker is normalised as per-utterance normalisation does.
    if alone && weights.sidecar.normalisation == Normalisation::PerSpeaker {
        weights.sidecar.normalisation = Normalisation::PerUtterance;
    }
    let corpus = Corpus::open(kind, &dir)?;
    let classes = (!classes.is_empty()).then_some(classes);
    let result = evaluate(&weights, corpus, classes, default_cache().as_deref())?;
    let text = if json {
        let report = serde_json::json!({
            "weights": weights_from.to_string(), "corpus": kind.name(), "directory": path_json(&dir),
            "classes": result.classes, "items": result.items, "by_taught_voice": result.by_taught_voice,
            "uar": result.scores.uar, "war": result.scores.war, "confusion": result.scores.confusion,
            "unreadable": result.unreadable.iter().map(|(p, why)| serde_json::json!([path_json(p), why])).collect::<Vec<_>>(),
        });
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        let mut text = format!(
            "{} on {kind} ({} utterances; {}): UAR {:.2}%  WAR {:.2}%\n",
            weights_from,
            result.items,
            result.classes.join(", "),
            100.0 * result.scores.uar,
            100.0 * result.scores.war
        );
        if result.by_taught_voice {
            text += "every recording normalised by the statistics of the voice the model was taught\n";
        }
        text += "\nconfusion (rows: true, columns: predicted)\n";
        text += &format!("{:>10}", "");
        result.classes.iter().for_each(|c| text += &format!(" {c:>8}"));
        text += "\n";
        for (c, row) in result.classes.iter().zip(&result.scores.confusion) {
            text += &format!("{c:>10}");
            row.iter().for_each(|n| text += &format!(" {n:>8}"));
            text += "\n";
        }
        text
    };
    out.write_all(text.as_bytes()).context("cannot write the answer")?;
    for (file, reason) in &result.unreadable {
        eprintln!("unreadable: {}: {reason}", file.display());
    }
    Ok(())
}

fn adapt_eval(
    out: &mut Out,
    evaluation: &adapt::Evaluation,
    set: Set,
    grid: bool,
    choose: bool,
    json: Option<&Path>,
) -> Result<()> {
    if evaluation.ks.is_empty() || evaluation.ks.iter().any(|&k| !(1..=50).contains(&k)) {
        bail!("--k takes 1 to 50 takes per emotion");
    }
    if !(1..=100).contains(&evaluation.draws) {
        bail!("--draws must be 1 to 100");
    }
    let (text, report) = if choose {
        let results = evaluation.chosen()?;
        let mut text = String::new();
        for r in &results {
            let guard = r.guard.map_or("none".to_string(), |g| format!("more than {g} more take(s) wrong"));
            text += &format!("chosen on validation speakers: {}; guard: {guard}\n", r.chosen);
            text += &adapt::table(&r.validation);
            text += &adapt::table(&r.guarded);
            text += &adapt::table(&r.test);
            text += "\n";
        }
        text += &adapt::overall(&results, evaluation.ks);
        (text, serde_json::to_value(&results)?)
    } else {
        let settings = if grid { adapt::grid() } else { vec![("default".to_string(), Settings::default())] };
        let results = evaluation.run(set, &settings)?;
        let mut text: String = results.iter().map(adapt::table).collect();
        if results.len() > 1 {
            text += &adapt::pooled(&results, evaluation.ks);
        }
        (text, serde_json::to_value(&results)?)
    };
    out.write_all(text.as_bytes()).context("cannot write the answer")?;
    if let Some(path) = json {
        let text = serde_json::to_string(&report)? + "\n";
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
