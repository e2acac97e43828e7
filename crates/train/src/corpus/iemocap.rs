//! IEMOCAP: `SessionN/dialog/EmoEvaluation/*.txt` label each turn; the audio is
//! `SessionN/sentences/wav/<dialog>/<turn>.wav`. Four classes, excited merged into happy; the
//! five sessions are the speaker groups.

use std::collections::HashMap;
use std::path::Path;

use super::{Corpus, CorpusError, Item, file_name, labels};

const LABELS: &[&str] = &["angry", "happy", "neutral", "sad"];
pub const CLIP_SAMPLES: usize = 310_000;

pub(crate) fn label(code: &str) -> Option<usize> {
    match code {
        "ang" => Some(0),
        "hap" | "exc" => Some(1),
        "neu" => Some(2),
        "sad" => Some(3),
        _ => None,
    }
}

/// Turn name → emotion code, from the `[start - end]\tTURN\tEMO\t[v, a, d]` lines.
pub(crate) fn parse_evaluation(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter(|l| l.starts_with('['))
        .filter_map(|l| {
            let fields: Vec<&str> = l.split('\t').collect();
            Some((fields.get(1)?.trim().to_string(), fields.get(2)?.trim().to_string()))
        })
        .collect()
}

pub fn read(dir: &Path) -> Result<Corpus, CorpusError> {
    let io = |path: &Path, e: std::io::Error| CorpusError::Io { path: path.into(), message: e.to_string() };
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for session in 1..=5 {
        let root = dir.join(format!("Session{session}"));
        let evaluations = root.join("dialog/EmoEvaluation");
        if !evaluations.is_dir() {
            continue;
        }
        let mut files: Vec<_> = std::fs::read_dir(&evaluations)
            .map_err(|e| io(&evaluations, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .collect();
        super::sort_natural(&mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|e| io(&file, e))?;
            let dialog = file_name(&file).trim_end_matches(".txt").to_string();
            let mut turns: Vec<_> = parse_evaluation(&text).into_iter().collect();
            turns.sort_by(|a, b| natord::compare(&a.0, &b.0));
            for (turn, code) in turns {
                let path = root.join("sentences/wav").join(&dialog).join(format!("{turn}.wav"));
                match label(&code) {
                    Some(label) if path.is_file() => {
                        items.push(Item { path, label, speaker: Some(format!("Session{session}")) })
                    }
                    Some(_) => skipped.push((path, "labelled turn without audio".to_string())),
                    None => skipped.push((path, format!("emotion {code:?} is not one of the four classes"))),
                }
            }
        }
    }
    Ok(Corpus::from_items("iemocap", dir, labels(LABELS), items, CLIP_SAMPLES, skipped))
}

#[cfg(test)]
mod tests {
    #[test]
    fn evaluation_lines_give_turn_labels() {
        let text = "% header\n[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]\nC-E2:\tNeutral;\t()\n[10.0 - 11.0]\tSes01F_impro01_M001\texc\t[3, 3, 3]\n";
        let turns = super::parse_evaluation(text);
        assert_eq!(turns["Ses01F_impro01_F000"], "neu");
        assert_eq!(super::label(&turns["Ses01F_impro01_M001"]), Some(1));
        assert_eq!(super::label("fru"), None);
    }
}
