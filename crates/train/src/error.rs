//! What can go wrong in training and evaluation, in words a person can act on.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::corpus::CorpusError;

#[derive(Debug, Error)]
pub enum TrainError {
    #[error(transparent)]
    Corpus(#[from] CorpusError),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// A file of ours (run.json, a checkpoint, a cache) that does not hold what it should.
    #[error("{}: {message}", path.display())]
    Damaged { path: PathBuf, message: String },
    #[error(transparent)]
    Weights(#[from] timnet::weights::WeightsError),
    #[error("the trained network could not be read out: {0}")]
    Keras(#[from] timnet::model::KerasImportError),
    #[error("the model's record: {0}")]
    Record(String),
    #[error("cannot resume: {0}")]
    Resume(String),
    /// A run's settings that cannot work: a protocol the corpus cannot support, a bad option.
    #[error("{0}")]
    Setup(String),
    #[error("cannot evaluate: {0}")]
    Evaluation(String),
    #[error("plot: {0}")]
    Plot(String),
}

pub type Result<T, E = TrainError> = std::result::Result<T, E>;

impl TrainError {
    /// An I/O error with the path it happened on.
    pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
        move |source| TrainError::Io { path: path.to_path_buf(), source }
    }

    /// A file whose contents are not what they should be.
    pub fn damaged(path: &Path, message: impl std::fmt::Display) -> TrainError {
        TrainError::Damaged { path: path.to_path_buf(), message: message.to_string() }
    }
}

/// Write `bytes` to `path` so that a crash leaves either the old file or the new one, never a
/// part: a temporary file beside it, flushed to the disk, then renamed over it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(TrainError::io(dir))?;
    file.write_all(bytes).map_err(TrainError::io(path))?;
    file.as_file().sync_all().map_err(TrainError::io(path))?;
    file.persist(path).map_err(|e| TrainError::io(path)(e.error))?;
    // The rename itself is durable once the directory is flushed too.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
