//! ASED (Amharic): folders `01Neutral/` … `05Angry/`, names `xn-yy-aa-gg-bb.wav`: x the emotion
//! letter, yy the sentence, aa the repetition, gg the gender, bb the speaker (01 to 65).

use std::path::Path;

use super::{Corpus, CorpusError, Item, audio_files, file_name, labels, subdirs};

const LABELS: &[&str] = &["angry", "fear", "happy", "neutral", "sad"];
pub const CLIP_SAMPLES: usize = super::MIX_CLIP_SAMPLES;

fn label(letter: char) -> Option<usize> {
    let name = match letter {
        'n' => "neutral",
        'f' => "fear",
        'h' => "happy",
        's' => "sad",
        'a' => "angry",
        _ => return None,
    };
    LABELS.iter().position(|l| *l == name)
}

/// (label, speaker) of an ASED name.
fn parse(name: &str) -> Option<(usize, String)> {
    let parts: Vec<&str> = name.strip_suffix(".wav")?.split('-').collect();
    if parts.len() != 5 || !parts[1..].iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit())) {
        return None;
    }
    Some((label(parts[0].chars().next()?.to_ascii_lowercase())?, parts[4].to_string()))
}

pub fn read(dir: &Path) -> Result<Corpus, CorpusError> {
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for folder in subdirs(dir)? {
        for path in audio_files(&folder)? {
            match parse(&file_name(&path)) {
                Some((label, speaker)) => items.push(Item { label, speaker: Some(speaker), path }),
                None => skipped.push((path, "name is not an ASED name (xn-yy-aa-gg-bb.wav)".to_string())),
            }
        }
    }
    Ok(Corpus::from_items("ased", dir, labels(LABELS), items, CLIP_SAMPLES, skipped))
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_give_emotion_and_speaker() {
        assert_eq!(super::parse("a5-03-01-02-50.wav"), Some((0, "50".into())));
        assert_eq!(super::parse("n1-01-01-01-01.wav"), Some((3, "01".into())));
        assert_eq!(super::parse("x1-01-01-01-01.wav"), None);
        assert_eq!(super::parse("a5-03-01.wav"), None);
    }
}
