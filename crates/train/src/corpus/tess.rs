//! TESS (Toronto emotional speech set): two speakers (OAF, YAF) saying "Say the word ___" in
//! seven emotions. The public copy this reads splits it in two folders: `train/<SPK>_<emotion>/
//! <SPK>_<word>_<emotion>.wav` and `testnew/<n>test<SPK>_<word>_<emotion><n>.wav`; together they
//! are the 2,800 utterances, each (speaker, word, emotion) once. A repeat is listed as skipped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{Corpus, CorpusError, Item, audio_files, file_name, labels, subdirs};

const LABELS: &[&str] = &["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"];
pub const CLIP_SAMPLES: usize = super::MIX_CLIP_SAMPLES;

fn label(word: &str) -> Option<usize> {
    let name = match word {
        "ps" => "surprise",
        other => other,
    };
    LABELS.iter().position(|l| *l == name)
}

/// (speaker, word, emotion) of a TESS name, either folder's form.
fn parse(name: &str) -> Option<(String, String, usize)> {
    let stem = name.strip_suffix(".wav")?;
    // testnew's names wrap the utterance in "<n>test" and a trailing number.
    let stem = match stem.find("test") {
        Some(at) if stem[..at].chars().all(|c| c.is_ascii_digit()) => {
            stem[at + 4..].trim_end_matches(|c: char| c.is_ascii_digit())
        }
        _ => stem,
    };
    let mut parts = stem.split('_');
    let (speaker, word, emotion) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    // One file of the public copy spells the older speaker "OA".
    let speaker = match speaker.to_ascii_uppercase().as_str() {
        "OA" | "OAF" => "OAF",
        "YAF" => "YAF",
        _ => return None,
    };
    Some((speaker.to_string(), word.to_ascii_lowercase(), label(&emotion.to_ascii_lowercase())?))
}

pub fn read(dir: &Path) -> Result<Corpus, CorpusError> {
    let root = if dir.join("datasets").is_dir() { dir.join("datasets") } else { dir.to_path_buf() };
    // The root, its folders (train/, testnew/) and theirs (train/<SPK>_<emotion>/).
    let mut folders: Vec<PathBuf> = vec![root.clone()];
    for top in subdirs(&root)? {
        folders.extend(subdirs(&top)?);
        folders.push(top);
    }
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    let mut seen: HashMap<(String, String, usize), PathBuf> = HashMap::new();
    for folder in folders {
        for path in audio_files(&folder)? {
            let Some((speaker, word, label)) = parse(&file_name(&path)) else {
                skipped.push((path, "name is not a TESS name (SPK_word_emotion.wav)".to_string()));
                continue;
            };
            match seen.get(&(speaker.clone(), word.clone(), label)) {
                Some(first) => skipped.push((path, format!("the same utterance as {}", first.display()))),
                None => {
                    seen.insert((speaker.clone(), word, label), path.clone());
                    items.push(Item { label, speaker: Some(speaker), path });
                }
            }
        }
    }
    Ok(Corpus::from_items("tess", &root, labels(LABELS), items, CLIP_SAMPLES, skipped))
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_folders_names_parse() {
        let surprise = super::LABELS.iter().position(|l| *l == "surprise");
        assert_eq!(super::parse("OAF_back_ps.wav"), Some(("OAF".into(), "back".into(), surprise.unwrap())));
        assert_eq!(super::parse("0testYAF_gaze_ps39.wav"), Some(("YAF".into(), "gaze".into(), surprise.unwrap())));
        assert_eq!(super::parse("751testOA_bite_neutral48.wav"), Some(("OAF".into(), "bite".into(), 4)));
        assert_eq!(super::parse("YAF_bite_boredom.wav"), None);
        assert_eq!(super::parse("notes.wav"), None);
    }
}
