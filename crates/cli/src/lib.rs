//! What the `timnet` and `train` programs share: how they find weights, name corpora on the
//! command line, and behave on a closed pipe.

pub mod adapt;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use timnet::burn::prelude::Device;
use timnet::weights::{Weights, shipped};
use timnet_train::corpus::CorpusKind;

/// End quietly when standard output is a closed pipe (`timnet predict a.wav | head -1`), as Unix
/// tools do: Rust ignores SIGPIPE, so the next print would panic instead.
pub fn end_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restores a signal's default disposition; called first in main, before any other
    // thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The names `--corpus` accepts, for help texts and errors.
pub fn corpus_names() -> String {
    CorpusKind::names().join(", ")
}

/// The shipped models, one line each, for help texts: "mix (the default): ...".
pub fn model_names() -> String {
    timnet::weights::shipped::ALL
        .iter()
        .enumerate()
        .map(|(i, m)| format!("{}{}: {}", m.name, if i == 0 { " (the default)" } else { "" }, m.summary))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `--corpus NAME DIR`, given any number of times, as (kind, directory) pairs.
pub fn corpus_pairs(values: &[String]) -> Result<Vec<(CorpusKind, PathBuf)>> {
    if values.is_empty() || !values.len().is_multiple_of(2) {
        anyhow::bail!("--corpus takes a name and a directory (NAME DIR), once per corpus");
    }
    values
        .chunks_exact(2)
        .map(|pair| {
            // The corpus names are one enum's (`CorpusKind`), so the help, the parser and the
            // readers cannot disagree.
            let kind: CorpusKind = pair[0]
                .to_lowercase()
                .parse()
                .map_err(|_| anyhow::anyhow!("unknown corpus {:?}; known: {}", pair[0], corpus_names()))?;
            Ok((kind, PathBuf::from(&pair[1])))
        })
        .collect()
}

/// Where weights come from.
pub enum Source {
    Dir(PathBuf),
    Shipped(&'static shipped::Shipped),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Dir(dir) => write!(f, "{}", dir.display()),
            Source::Shipped(m) => write!(f, "shipped model {} ({})", m.name, m.dir),
        }
    }
}

/// The weights in `dir`, else the shipped model `model`, else those in `TIMNET_WEIGHTS`, else
/// the default shipped model compiled into the program; with where they came from.
pub fn load_weights(dir: Option<&Path>, model: Option<&str>) -> Result<(Weights, Source)> {
    let device = Device::flex();
    let dir = match (dir, model) {
        (Some(dir), _) => Some(dir.to_path_buf()),
        (None, Some(_)) => None,
        (None, None) => std::env::var_os("TIMNET_WEIGHTS").map(PathBuf::from),
    };
    if let Some(dir) = dir {
        let weights =
            Weights::load(&dir, &device).with_context(|| format!("cannot load weights from {}", dir.display()))?;
        return Ok((weights, Source::Dir(dir)));
    }
    let shipped = match model {
        Some(name) => shipped::named(name).ok_or_else(|| {
            let names: Vec<&str> = shipped::ALL.iter().map(|m| m.name).collect();
            anyhow::anyhow!("no shipped model {name:?}; there are: {}", names.join(", "))
        })?,
        None => shipped::DEFAULT,
    };
    let weights = Weights::from_shipped(shipped, &device)
        .with_context(|| format!("the shipped model {} does not load", shipped.name))?;
    Ok((weights, Source::Shipped(shipped)))
}

/// A command line as a person would type it again: arguments quoted where the shell needs it.
pub fn command_line() -> String {
    std::env::args().map(quote).collect::<Vec<_>>().join(" ")
}

fn quote(arg: String) -> String {
    if !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=,:+".contains(c)) {
        arg
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}
