//! EmoDB (Berlin): `SSTTTEV.wav`, SS the speaker, E the emotion letter (German initials).

use std::path::Path;

use super::{Corpus, CorpusError, Item, audio_files, file_name, labels};

const LABELS: &[&str] = &["angry", "boredom", "disgust", "fear", "happy", "neutral", "sad"];
pub const CLIP_SAMPLES: usize = 96_000;

fn label(letter: char) -> Option<usize> {
    // W Wut, L Langeweile, E Ekel, A Angst, F Freude, N neutral, T Trauer.
    "WLEAFNT".find(letter)
}

pub fn read(dir: &Path) -> Result<Corpus, CorpusError> {
    let root = if dir.join("wav").is_dir() { dir.join("wav") } else { dir.to_path_buf() };
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for path in audio_files(&root)? {
        let name = file_name(&path);
        match name.chars().nth(5).and_then(label) {
            Some(label) if name.len() >= 7 => items.push(Item { label, speaker: Some(name[..2].to_string()), path }),
            _ => skipped.push((path, "name is not an EmoDB name (SSTTTEV.wav)".to_string())),
        }
    }
    Ok(Corpus::from_items("emodb", &root, labels(LABELS), items, CLIP_SAMPLES, skipped))
}
