//! EMOVO (Italian): speaker folders holding `EEE-SS-SSS.wav`, EEE the emotion prefix.

use std::path::Path;

use super::{Corpus, CorpusError, Item, audio_files, file_name, labels, subdirs};

const LABELS: &[&str] = &["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"];
pub const CLIP_SAMPLES: usize = 96_000;

/// rab rabbia, dis disgusto, pau paura, gio gioia, neu neutro, tri tristezza, sor sorpresa.
pub(crate) fn label(name: &str) -> Option<usize> {
    let prefix = name.get(..3)?;
    ["rab", "dis", "pau", "gio", "neu", "tri", "sor"].iter().position(|p| *p == prefix)
}

pub fn read(dir: &Path) -> Result<Corpus, CorpusError> {
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for folder in subdirs(dir)? {
        let speaker = file_name(&folder);
        for path in audio_files(&folder)? {
            match label(&file_name(&path)) {
                Some(label) => items.push(Item { path, label, speaker: Some(speaker.clone()) }),
                None => skipped.push((path, "name has no EMOVO emotion prefix".to_string())),
            }
        }
    }
    Ok(Corpus::from_items("emovo", dir, labels(LABELS), items, CLIP_SAMPLES, skipped))
}

#[cfg(test)]
mod tests {
    #[test]
    fn prefixes_map_to_labels() {
        assert_eq!(super::label("rab-f1-b1.wav"), Some(0));
        assert_eq!(super::label("sor-m3-n5.wav"), Some(6));
        assert_eq!(super::label("xyz-m3-n5.wav"), None);
    }
}
