//! nEMO (Polish): `samples/<SPK>_<emotion>_<n>.wav`, with `data.tsv` giving each file's emotion
//! and speaker. Where data.tsv is missing the names alone are read.

use std::collections::HashMap;
use std::path::Path;

use super::{Corpus, CorpusError, Item, audio_files, file_name, labels};

const LABELS: &[&str] = &["angry", "fear", "happy", "neutral", "sad", "surprise"];
pub const CLIP_SAMPLES: usize = super::MIX_CLIP_SAMPLES;

fn label(emotion: &str) -> Option<usize> {
    let name = match emotion {
        "anger" => "angry",
        "happiness" => "happy",
        "sadness" => "sad",
        "surprised" => "surprise",
        other => other,
    };
    LABELS.iter().position(|l| *l == name)
}

/// file name → (emotion, speaker) from data.tsv (file_id, emotion, raw_text, normalized_text,
/// speaker_id, ...).
fn read_table(text: &str) -> HashMap<String, (String, String)> {
    let mut rows = HashMap::new();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').map(str::trim).collect();
    let column = |name: &str| header.iter().position(|h| *h == name);
    let (Some(file), Some(emotion), Some(speaker)) = (column("file_id"), column("emotion"), column("speaker_id"))
    else {
        return rows;
    };
    for line in lines {
        let cells: Vec<&str> = line.split('\t').map(str::trim).collect();
        if let (Some(f), Some(e), Some(s)) = (cells.get(file), cells.get(emotion), cells.get(speaker)) {
            rows.insert(f.to_string(), (e.to_string(), s.to_string()));
        }
    }
    rows
}

pub fn read(dir: &Path) -> Result<Corpus, CorpusError> {
    let samples = if dir.join("samples").is_dir() { dir.join("samples") } else { dir.to_path_buf() };
    let table_path = [dir.join("data.tsv"), samples.join("data.tsv")].into_iter().find(|p| p.is_file());
    let table = match &table_path {
        Some(path) => read_table(
            &std::fs::read_to_string(path)
                .map_err(|e| CorpusError::Io { path: path.clone(), message: e.to_string() })?,
        ),
        None => HashMap::new(),
    };
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for path in audio_files(&samples)? {
        let name = file_name(&path);
        let from_name = || {
            let mut parts = name.trim_end_matches(".wav").split('_');
            Some((parts.nth(1)?.to_string(), name.split('_').next()?.to_string()))
        };
        let row = table.get(&name).cloned().or_else(|| table.is_empty().then(from_name).flatten());
        match row.and_then(|(emotion, speaker)| Some((label(&emotion)?, speaker))) {
            Some((label, speaker)) => items.push(Item { label, speaker: Some(speaker), path }),
            None => skipped.push((path, "not in data.tsv, or an emotion nEMO does not have".to_string())),
        }
    }
    Ok(Corpus::from_items("nemo", &samples, labels(LABELS), items, CLIP_SAMPLES, skipped))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_table_gives_emotion_and_speaker() {
        let tsv = "file_id\temotion\traw_text\tnormalized_text\tspeaker_id\tgender\tage\n\
                   WR0_surprised_64.wav\tsurprised\tUcho.\tucho\t        WR0\tmale\t23\n";
        let rows = super::read_table(tsv);
        assert_eq!(rows["WR0_surprised_64.wav"], ("surprised".to_string(), "WR0".to_string()));
        assert_eq!(super::label("anger"), Some(0));
        assert_eq!(super::label("surprised"), Some(5));
        assert_eq!(super::label("boredom"), None);
    }
}
