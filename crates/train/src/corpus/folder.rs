//! Any corpus laid out as one folder per label (labels sorted by name).

use std::path::Path;

use super::{Corpus, CorpusError, Item, audio_files, file_name, subdirs};

/// The clip length used when a corpus does not name one: EmoDB's 4.35 s.
pub const CLIP_SAMPLES: usize = 96_000;

pub fn read(dir: &Path) -> Result<Corpus, CorpusError> {
    let mut labels = Vec::new();
    let mut items = Vec::new();
    for folder in subdirs(dir)? {
        let files = audio_files(&folder)?;
        if files.is_empty() {
            continue;
        }
        let label = labels.len();
        labels.push(file_name(&folder));
        items.extend(files.into_iter().map(|path| Item { path, label, speaker: None }));
    }
    if labels.is_empty() {
        return Err(CorpusError::Empty(dir.into()));
    }
    Ok(Corpus::from_items("folder", dir, labels, items, CLIP_SAMPLES, Vec::new()))
}
