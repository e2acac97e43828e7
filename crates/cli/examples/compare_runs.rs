//! Runs on the same folds, compared fold by fold against a baseline: the ablations of
//! docs/results.md against the full model trained for the same epochs.
//!
//!   cargo run --example compare_runs -- runs/emodb-10fold-200 runs/emodb-10fold-tcn runs/emodb-10fold-no-bidirection

use std::path::PathBuf;

use clap::Parser;

#[derive(Parser)]
#[command(about = "Per-fold differences of runs on the same folds from a baseline run")]
struct Args {
    /// The baseline run directory (train --out).
    base: PathBuf,
    /// The runs to compare with it.
    #[arg(required = true)]
    others: Vec<PathBuf>,
}

fn main() {
    let args = Args::parse();
    match timnet_train::compare::paired_table(&args.base, &args.others) {
        Ok(table) => print!("{table}"),
        Err(e) => {
            eprintln!("compare_runs: {e}");
            std::process::exit(1);
        }
    }
}
