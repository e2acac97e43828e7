//! Speech-emotion corpora on disk: which files, which emotion, which speaker.
//!
//! Each corpus is a small module that knows its layout, its label order and the clip length the
//! official code pads it to (PROTOCOL.md). Items come out in the official code's order — class by
//! class in label order, natural order of file names within a class — because that order decides
//! the k-fold split. Files that cannot be labelled are listed, never dropped in silence.

mod ased;
mod casia;
mod emodb;
mod emovo;
mod folder;
mod iemocap;
mod nemo;
mod ravdess;
mod savee;
mod tess;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CorpusError {
    #[error("{0}: no such directory")]
    NotFound(PathBuf),
    #[error("{0}: no audio files found (is this the right directory for this corpus?)")]
    Empty(PathBuf),
    #[error("only one emotion ({0}) has files; training needs at least two")]
    OneClass(String),
    #[error("unknown corpus {0:?}; known: {known}", known = CorpusKind::names().join(", "))]
    Unknown(String),
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{0}")]
    Selection(String),
}

/// The corpora this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CorpusKind {
    Emodb,
    Casia,
    Ravdess,
    Tess,
    Nemo,
    Ased,
    Savee,
    Emovo,
    Iemocap,
    /// Any corpus laid out as one folder per emotion.
    Folder,
}

impl CorpusKind {
    pub const ALL: [CorpusKind; 10] = [
        CorpusKind::Emodb,
        CorpusKind::Casia,
        CorpusKind::Ravdess,
        CorpusKind::Tess,
        CorpusKind::Nemo,
        CorpusKind::Ased,
        CorpusKind::Savee,
        CorpusKind::Emovo,
        CorpusKind::Iemocap,
        CorpusKind::Folder,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CorpusKind::Emodb => "emodb",
            CorpusKind::Casia => "casia",
            CorpusKind::Ravdess => "ravdess",
            CorpusKind::Tess => "tess",
            CorpusKind::Nemo => "nemo",
            CorpusKind::Ased => "ased",
            CorpusKind::Savee => "savee",
            CorpusKind::Emovo => "emovo",
            CorpusKind::Iemocap => "iemocap",
            CorpusKind::Folder => "folder",
        }
    }

    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|k| k.name()).collect()
    }

    fn read(self, dir: &Path) -> Result<Corpus, CorpusError> {
        match self {
            CorpusKind::Emodb => emodb::read(dir),
            CorpusKind::Casia => casia::read(dir),
            CorpusKind::Ravdess => ravdess::read(dir),
            CorpusKind::Tess => tess::read(dir),
            CorpusKind::Nemo => nemo::read(dir),
            CorpusKind::Ased => ased::read(dir),
            CorpusKind::Savee => savee::read(dir),
            CorpusKind::Emovo => emovo::read(dir),
            CorpusKind::Iemocap => iemocap::read(dir),
            CorpusKind::Folder => folder::read(dir),
        }
    }
}

impl std::str::FromStr for CorpusKind {
    type Err = CorpusError;

    fn from_str(name: &str) -> Result<Self, CorpusError> {
        Self::ALL.into_iter().find(|k| k.name() == name).ok_or_else(|| CorpusError::Unknown(name.to_string()))
    }
}

impl std::fmt::Display for CorpusKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The one clip length of corpora that have no official one, and of every multi-corpus mix:
/// 3 s at 22,050 Hz, which holds nearly every utterance of the six training corpora (their
/// medians are 1.6 to 3.5 s) with little padding.
pub const MIX_CLIP_SAMPLES: usize = 66_150;

/// One utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub path: PathBuf,
    /// Index into [`Corpus::labels`].
    pub label: usize,
    pub speaker: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Corpus {
    pub name: String,
    pub root: PathBuf,
    pub labels: Vec<String>,
    pub items: Vec<Item>,
    /// Samples at 22,050 Hz every clip is centre-padded or cropped to.
    pub clip_samples: usize,
    /// Audio files found but not used, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
}

impl Corpus {
    /// A corpus from its items, grouped class by class in label order (each class keeps its
    /// natural order).
    pub(crate) fn from_items(
        name: &str,
        root: &Path,
        labels: Vec<String>,
        mut items: Vec<Item>,
        clip_samples: usize,
        skipped: Vec<(PathBuf, String)>,
    ) -> Self {
        items.sort_by_key(|i| i.label);
        Self { name: name.into(), root: root.into(), labels, items, clip_samples, skipped }
    }

    /// Read a corpus of `kind` from `dir`.
    pub fn open(kind: CorpusKind, dir: &Path) -> Result<Self, CorpusError> {
        if !dir.is_dir() {
            return Err(CorpusError::NotFound(dir.to_path_buf()));
        }
        kind.read(dir)?.check()
    }

    fn check(self) -> Result<Self, CorpusError> {
        if self.items.is_empty() {
            return Err(CorpusError::Empty(self.root.clone()));
        }
        let mut present: Vec<usize> = self.items.iter().map(|i| i.label).collect();
        present.sort_unstable();
        present.dedup();
        if present.len() < 2 {
            return Err(CorpusError::OneClass(self.labels[present[0]].clone()));
        }
        Ok(self)
    }

    /// Keep only the named emotions (in the given order), renumbering labels; the rest are
    /// listed as skipped.
    pub fn select(mut self, wanted: &[String]) -> Result<Self, CorpusError> {
        let mut map = vec![None; self.labels.len()];
        for (new, name) in wanted.iter().enumerate() {
            let old = self.labels.iter().position(|l| l == name).ok_or_else(|| {
                CorpusError::Selection(format!(
                    "{} has no emotion {name:?} (it has {})",
                    self.name,
                    self.labels.join(", ")
                ))
            })?;
            map[old] = Some(new);
        }
        let mut items = Vec::new();
        for item in self.items {
            match map[item.label] {
                Some(label) => items.push(Item { label, ..item }),
                None => self.skipped.push((item.path, format!("emotion {} not selected", self.labels[item.label]))),
            }
        }
        // Class by class in the new label order, keeping the natural order within a class.
        items.sort_by_key(|i| i.label);
        Corpus { labels: wanted.to_vec(), items, ..self }.check()
    }

    /// The same utterances in another label space (a multi-corpus mix's): items whose emotion
    /// `labels` lacks are listed as skipped, the rest renumbered; labels this corpus lacks
    /// simply have no items here.
    pub fn relabel(mut self, labels: &[String]) -> Result<Self, CorpusError> {
        let map: Vec<Option<usize>> = self.labels.iter().map(|l| labels.iter().position(|m| m == l)).collect();
        let mut items = Vec::new();
        for item in self.items {
            match map[item.label] {
                Some(label) => items.push(Item { label, ..item }),
                None => {
                    self.skipped.push((item.path, format!("emotion {} is not in the mix", self.labels[item.label])))
                }
            }
        }
        items.sort_by_key(|i| i.label);
        Corpus { labels: labels.to_vec(), items, ..self }.check()
    }

    /// Utterances per label.
    pub fn counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.labels.len()];
        self.items.iter().for_each(|i| counts[i.label] += 1);
        counts
    }

    /// Distinct speakers in order of first appearance.
    pub fn speakers(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for s in self.items.iter().filter_map(|i| i.speaker.as_ref()) {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        out
    }
}

/// Audio files directly in `dir`, in natural order of their names.
pub(crate) fn audio_files(dir: &Path) -> Result<Vec<PathBuf>, CorpusError> {
    let io = |e: std::io::Error| CorpusError::Io { path: dir.to_path_buf(), message: e.to_string() };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let audio = path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
            matches!(e.to_ascii_lowercase().as_str(), "wav" | "flac" | "mp3" | "ogg" | "aif" | "aiff")
        });
        if path.is_file() && audio {
            files.push(path);
        }
    }
    sort_natural(&mut files);
    Ok(files)
}

/// Subdirectories of `dir`, in natural order.
pub(crate) fn subdirs(dir: &Path) -> Result<Vec<PathBuf>, CorpusError> {
    let io = |e: std::io::Error| CorpusError::Io { path: dir.to_path_buf(), message: e.to_string() };
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            dirs.push(path);
        }
    }
    sort_natural(&mut dirs);
    Ok(dirs)
}

/// natsort's PATH order for names in one folder: digit runs compare as numbers.
pub(crate) fn sort_natural(paths: &mut [PathBuf]) {
    paths.sort_by(|a, b| natord::compare(&a.to_string_lossy(), &b.to_string_lossy()));
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

pub(crate) fn labels(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}
