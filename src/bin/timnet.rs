//! `timnet`: look inside a model, compute features, and predict emotions from audio files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use burn::prelude::*;
use clap::{Parser, Subcommand};
use npyz::WriterBuilder;
use timnet::analysis::{Analyzer, block_on};
use timnet::audio::{fit_length, prepare};
use timnet::corpus::Corpus;
use timnet::features::{Features, Mfcc};
use timnet::train::data::default_cache;
use timnet::train::evaluate::evaluate;
use timnet::weights::{Precision, Weights};

#[derive(Parser)]
#[command(name = "timnet", version, about = "TIM-Net speech emotion recognition")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the architecture table and the parameter counts.
    Info {
        /// A weights directory (model.json + model.bpk); the shipped weights without one.
        weights: Option<PathBuf>,
    },
    /// Compute MFCCs (frames x 39) of an audio file.
    Mfcc {
        file: PathBuf,
        /// Write to a .npy or .csv file instead of printing CSV.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Centre-pad or crop to this many samples at 22,050 Hz first, as training does.
        #[arg(long)]
        length: Option<usize>,
    },
    /// Predict the emotion of each audio file.
    Predict {
        files: Vec<PathBuf>,
        /// A weights directory; defaults to the shipped weights (model-weights/emodb).
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Score trained weights on a labelled corpus, on the emotions both share (cross-corpus).
    Eval {
        /// A weights directory; defaults to the shipped weights (model-weights/emodb).
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Corpus name (emodb, casia, ravdess, savee, emovo, iemocap, folder) and its directory.
        #[arg(long, num_args = 2, value_names = ["NAME", "DIR"], required = true)]
        corpus: Vec<String>,
        /// The emotions to score, comma separated (default: angry, fear, happy, neutral, sad
        /// when both have them, else every shared emotion).
        #[arg(long, value_delimiter = ',')]
        classes: Vec<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
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
    timnet::cli::end_quietly_on_closed_pipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info { weights } => info(weights.as_deref()),
        Command::Mfcc { file, out, length } => mfcc(&file, out.as_deref(), length),
        Command::Predict { files, weights, json } => predict(&files, weights.as_deref(), json),
        Command::Eval { weights, corpus, classes, json } => eval(weights.as_deref(), &corpus, &classes, json),
        Command::Export { weights, out, half } => export(&weights, &out, half),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The weights in `dir`, else in `TIMNET_WEIGHTS`, else the shipped ones compiled into this
/// program; with words naming where they came from.
fn load(dir: Option<&Path>) -> Result<(Weights, String), String> {
    let dir = dir.map(PathBuf::from).or_else(|| std::env::var_os("TIMNET_WEIGHTS").map(PathBuf::from));
    let device = Device::flex();
    match dir {
        Some(dir) => Weights::load(&dir, &device)
            .map(|w| (w, dir.display().to_string()))
            .map_err(|e| format!("cannot load weights from {}: {e}", dir.display())),
        None => Weights::shipped(&device)
            .map(|w| (w, "shipped (model-weights/emodb)".into()))
            .map_err(|e| format!("the shipped weights do not load: {e}")),
    }
}

fn info(weights: Option<&Path>) -> Result<(), String> {
    let (w, from) = load(weights)?;
    let (config, s) = (&w.sidecar.model, &w.sidecar);
    println!("{:<38} {:>10} {:>10}", "layer", "output", "params");
    for row in config.layers() {
        println!("{:<38} {:>10} {:>10}", row.name, row.output, group(row.params));
    }
    // burn's count includes BatchNorm's running statistics, as Keras's total does.
    let total = w.model.num_params();
    println!("\ntrainable parameters: {}", group(total - config.running_statistics()));
    println!("with BatchNorm running statistics (as Keras counts): {}", group(total));
    println!("\nweights: {from}");
    println!("labels: {}", s.labels.join(", "));
    println!("clip: {} samples at {} Hz ({} frames)", s.clip_samples, s.features.sample_rate, s.clip_frames());
    let interim = if s.provenance.interim { " (interim)" } else { "" };
    println!("trained on {}{interim}: {}", s.provenance.corpus, s.provenance.command);
    if !s.provenance.notes.is_empty() {
        println!("notes: {}", s.provenance.notes);
    }
    Ok(())
}

fn export(weights: &Path, out: &Path, half: bool) -> Result<(), String> {
    let (mut w, _) = load(Some(weights))?;
    let precision = if half { Precision::Half } else { Precision::Full };
    if half {
        let notes = &mut w.sidecar.provenance.notes;
        notes.push_str(if notes.is_empty() { "" } else { "; " });
        notes.push_str("stored in half precision (timnet export --half)");
    }
    w.save(out, precision).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    println!("wrote {} ({precision:?} precision)", out.display());
    Ok(())
}

fn read_audio(file: &Path) -> Result<timnet::audio::Prepared, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    prepare(&bytes).map_err(|e| format!("{}: {e}", file.display()))
}

fn mfcc(file: &Path, out: Option<&Path>, length: Option<usize>) -> Result<(), String> {
    let prepared = read_audio(file)?;
    for note in &prepared.notes {
        eprintln!("note: {note}");
    }
    let samples = match length {
        Some(n) if n < 2 => return Err("--length must be at least 2 samples".into()),
        Some(n) => fit_length(&prepared.samples, n),
        None => prepared.samples,
    };
    let features = Mfcc::default().compute(&samples);
    match out {
        Some(path) if path.extension().is_some_and(|e| e == "npy") => write_npy(path, &features),
        Some(path) => std::fs::write(path, csv(&features)).map_err(|e| format!("{}: {e}", path.display())),
        None => {
            print!("{}", csv(&features));
            Ok(())
        }
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

fn write_npy(path: &Path, features: &Features) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    let file = std::io::BufWriter::new(std::fs::File::create(path).map_err(fail)?);
    let mut writer = npyz::WriteOptions::<f32>::new()
        .default_dtype()
        .shape(&[features.frames as u64, features.coeffs as u64])
        .writer(file)
        .begin_nd()
        .map_err(fail)?;
    writer.extend(features.data.iter().copied()).map_err(fail)?;
    writer.finish().map_err(fail)
}

fn predict(files: &[PathBuf], weights: Option<&Path>, json: bool) -> Result<(), String> {
    if files.is_empty() {
        return Err("name at least one audio file".into());
    }
    let analyzer = Analyzer::new(load(weights)?.0, Device::flex());
    let mut failures = 0;
    let mut reports = Vec::new();
    for file in files {
        let analysis = read_audio(file).and_then(|p| block_on(analyzer.analyse(&p)).map_err(|e| e.to_string()));
        match analysis {
            Ok(a) if json => reports.push(serde_json::json!({ "file": file, "top": a.top().0, "analysis": a })),
            Ok(a) => {
                let (label, p) = a.top();
                println!(
                    "{}: {label} ({:.1}%) over {:.2} s in {} window(s)",
                    file.display(),
                    100.0 * p,
                    a.seconds,
                    a.windows.len()
                );
                for (l, p) in a.labels.iter().zip(&a.probabilities) {
                    println!("  {l:<10} {:>5.1}%  {}", 100.0 * p, "█".repeat((p * 40.0).round() as usize));
                }
                for note in &a.notes {
                    println!("  note: {note}");
                }
            }
            Err(message) => {
                failures += 1;
                if json {
                    reports.push(serde_json::json!({ "file": file, "error": message }));
                } else {
                    eprintln!("error: {message}");
                }
            }
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&reports).map_err(|e| e.to_string())?);
    }
    match failures {
        0 => Ok(()),
        n => Err(format!("{n} of {} file(s) could not be analysed", files.len())),
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

fn eval(weights: Option<&Path>, corpus: &[String], classes: &[String], json: bool) -> Result<(), String> {
    let [name, dir] = corpus else { return Err("--corpus NAME DIR is required".into()) };
    let (weights, weights_from) = load(weights)?;
    let corpus = Corpus::open(name, Path::new(dir)).map_err(|e| e.to_string())?;
    let classes = (!classes.is_empty()).then_some(classes);
    let result = evaluate(&weights, corpus, classes, default_cache().as_deref())?;
    if json {
        let report = serde_json::json!({
            "weights": weights_from, "corpus": name, "directory": dir,
            "classes": result.classes, "items": result.items,
            "uar": result.scores.uar, "war": result.scores.war, "confusion": result.scores.confusion,
            "unreadable": result.unreadable,
        });
        println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
        return Ok(());
    }
    println!(
        "{} on {name} ({} utterances; {}): UAR {:.2}%  WAR {:.2}%",
        weights_from,
        result.items,
        result.classes.join(", "),
        100.0 * result.scores.uar,
        100.0 * result.scores.war
    );
    println!("\nconfusion (rows: true, columns: predicted)");
    print!("{:>10}", "");
    result.classes.iter().for_each(|c| print!(" {c:>8}"));
    println!();
    for (c, row) in result.classes.iter().zip(&result.scores.confusion) {
        print!("{c:>10}");
        row.iter().for_each(|n| print!(" {n:>8}"));
        println!();
    }
    for (file, reason) in &result.unreadable {
        eprintln!("unreadable: {}: {reason}", file.display());
    }
    Ok(())
}
