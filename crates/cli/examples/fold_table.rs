//! The per-fold table and the figures of a training run, read from its metrics.jsonl: the tables
//! of docs/results.md come from here. It reads a run still under way as far as it has gone, and
//! with `--epochs N` scores only epochs 1 to N, which sets a 500-epoch run beside a shorter one
//! (the ablations) at the same epoch.
//!
//!   cargo run --example fold_table -- runs/casia-10fold
//!   cargo run --example fold_table -- runs/emodb-10fold --epochs 200

use std::path::PathBuf;

use clap::Parser;

#[derive(Parser)]
#[command(about = "Per-fold table and figures of a training run, from its metrics.jsonl")]
struct Args {
    /// The run directory (train --out).
    run: PathBuf,
    /// Score only epochs 1 to N (default: all of the run's epochs).
    #[arg(long)]
    epochs: Option<usize>,
}

fn main() {
    let args = Args::parse();
    match timnet_train::report::fold_table(&args.run, args.epochs) {
        Ok(table) => print!("{table}"),
        Err(e) => {
            eprintln!("fold_table: {e}");
            std::process::exit(1);
        }
    }
}
