//! SAVEE: `DC_a01.wav` flat, or `DC/a01.wav`; the prefix is the speaker, the letters the emotion.

use std::path::Path;

use super::{Corpus, CorpusError, Item, audio_files, file_name, labels, subdirs};

const LABELS: &[&str] = &["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"];
pub const CLIP_SAMPLES: usize = 130_000;

/// a anger, d disgust, f fear, h happiness, n neutral, sa sadness, su surprise.
pub(crate) fn label(stem: &str) -> Option<usize> {
    let code: String = stem.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    let index = ["a", "d", "f", "h", "n", "sa", "su"].iter().position(|c| *c == code)?;
    Some(index)
}

pub fn read(dir: &Path) -> Result<Corpus, CorpusError> {
    let mut found = Vec::new();
    for path in audio_files(dir)? {
        let name = file_name(&path);
        match name.split_once('_') {
            Some((speaker, rest)) => found.push((path.clone(), speaker.to_string(), rest.to_string())),
            None => found.push((path.clone(), String::new(), name)),
        }
    }
    for folder in subdirs(dir)? {
        let speaker = file_name(&folder);
        for path in audio_files(&folder)? {
            let name = file_name(&path);
            found.push((path, speaker.clone(), name));
        }
    }
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for (path, speaker, rest) in found {
        match label(&rest) {
            Some(label) if !speaker.is_empty() => items.push(Item { path, label, speaker: Some(speaker) }),
            _ => skipped.push((path, "name is not a SAVEE name (DC_a01.wav or DC/a01.wav)".to_string())),
        }
    }
    Ok(Corpus::from_items("savee", dir, labels(LABELS), items, CLIP_SAMPLES, skipped))
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_map_to_labels() {
        assert_eq!(super::label("a01.wav"), Some(0));
        assert_eq!(super::label("sa12.wav"), Some(5));
        assert_eq!(super::label("su03.wav"), Some(6));
        assert_eq!(super::label("x01.wav"), None);
    }
}
