//! RAVDESS speech: `Actor_XX/03-01-EE-II-SS-RR-AA.wav`, EE the emotion code (01..08), AA the actor.

use std::path::Path;

use super::{Corpus, CorpusError, Item, audio_files, file_name, labels, subdirs};

const LABELS: &[&str] = &["angry", "calm", "disgust", "fear", "happy", "neutral", "sad", "surprise"];
pub const CLIP_SAMPLES: usize = 110_000;

/// RAVDESS codes: 01 neutral, 02 calm, 03 happy, 04 sad, 05 angry, 06 fearful, 07 disgust, 08 surprised.
fn label(code: &str) -> Option<usize> {
    let name = match code {
        "01" => "neutral",
        "02" => "calm",
        "03" => "happy",
        "04" => "sad",
        "05" => "angry",
        "06" => "fear",
        "07" => "disgust",
        "08" => "surprise",
        _ => return None,
    };
    LABELS.iter().position(|l| *l == name)
}

pub fn read(dir: &Path) -> Result<Corpus, CorpusError> {
    let mut folders = subdirs(dir)?;
    folders.insert(0, dir.to_path_buf());
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for folder in folders {
        for path in audio_files(&folder)? {
            let name = file_name(&path);
            let parts: Vec<&str> = name.trim_end_matches(".wav").split('-').collect();
            match (parts.len(), parts.get(2).and_then(|c| label(c))) {
                (7, Some(label)) => items.push(Item { label, speaker: Some(parts[6].to_string()), path }),
                _ => skipped.push((path, "name is not a RAVDESS name (03-01-EE-II-SS-RR-AA.wav)".to_string())),
            }
        }
    }
    Ok(Corpus::from_items("ravdess", dir, labels(LABELS), items, CLIP_SAMPLES, skipped))
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_map_to_labels() {
        assert_eq!(super::label("05"), Some(0));
        assert_eq!(super::label("02"), Some(1));
        assert_eq!(super::label("08"), Some(7));
        assert_eq!(super::label("09"), None);
    }
}
