//! CASIA: one folder per emotion. Speakers are not recoverable from the public part's names.

use std::path::Path;

use super::{Corpus, CorpusError, Item, audio_files, labels, subdirs};

const LABELS: &[&str] = &["angry", "fear", "happy", "neutral", "sad", "surprise"];
pub const CLIP_SAMPLES: usize = 88_000;

pub fn read(dir: &Path) -> Result<Corpus, CorpusError> {
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for (label, name) in LABELS.iter().enumerate() {
        let folder = dir.join(name);
        if folder.is_dir() {
            items.extend(audio_files(&folder)?.into_iter().map(|path| Item { path, label, speaker: None }));
        }
    }
    for folder in subdirs(dir)? {
        if !LABELS.iter().any(|l| folder.ends_with(l)) {
            for path in audio_files(&folder)? {
                skipped.push((path, "folder is not a CASIA emotion".to_string()));
            }
        }
    }
    Ok(Corpus::from_items("casia", dir, labels(LABELS), items, CLIP_SAMPLES, skipped))
}
