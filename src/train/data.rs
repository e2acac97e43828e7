//! MFCCs of a whole corpus, computed once per corpus and feature config on every core, and
//! cached on disk under a hash of the files' contents and the config.

use std::path::{Path, PathBuf};

use crate::audio::{fit_length, prepare};
use crate::corpus::Corpus;
use crate::features::{Mfcc, MfccConfig};

/// The features of the readable items of a corpus, [items, frames, coeffs] row-major.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub features: Vec<f32>,
    pub labels: Vec<usize>,
    pub frames: usize,
    pub coeffs: usize,
    /// Corpus item index of each row.
    pub items: Vec<usize>,
    /// Files that could not be read, with the reason.
    pub unreadable: Vec<(PathBuf, String)>,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn row(&self, i: usize) -> &[f32] {
        let size = self.frames * self.coeffs;
        &self.features[i * size..(i + 1) * size]
    }

    /// Rows `indices` stacked into one buffer.
    pub fn gather(&self, indices: &[usize]) -> Vec<f32> {
        indices.iter().flat_map(|&i| self.row(i).iter().copied()).collect()
    }
}

/// Where features are cached between runs: $XDG_CACHE_HOME/timnet or ~/.cache/timnet.
pub fn default_cache() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("timnet"))
}

/// Compute (or load from `cache`) the MFCCs of every item, centre-fitted to the corpus length.
pub fn extract(corpus: &Corpus, config: &MfccConfig, cache: Option<&Path>) -> Result<Dataset, String> {
    let key = cache_key(corpus, config)?;
    let cache_file = cache.map(|dir| dir.join(format!("{}-{key:016x}.bin", corpus.name)));
    let mfcc = Mfcc::new(config.clone());
    let frames = config.frames_for(corpus.clip_samples);
    let coeffs = config.n_mfcc;
    if let Some(data) = cache_file.as_deref().and_then(|f| load_cache(f, corpus, frames * coeffs)) {
        return Ok(Dataset { frames, coeffs, ..data });
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(corpus.items.len().max(1));
    let chunk = corpus.items.len().div_ceil(threads);
    let results: Vec<Result<Vec<f32>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = corpus
            .items
            .chunks(chunk.max(1))
            .map(|items| {
                let mfcc = &mfcc;
                scope.spawn(move || {
                    items
                        .iter()
                        .map(|item| {
                            let bytes = std::fs::read(&item.path).map_err(|e| e.to_string())?;
                            let audio = prepare(&bytes).map_err(|e| e.to_string())?;
                            Ok(mfcc.compute(&fit_length(&audio.samples, corpus.clip_samples)).data)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("feature worker panicked")).collect()
    });
    let mut data =
        Dataset { features: Vec::new(), labels: Vec::new(), frames, coeffs, items: Vec::new(), unreadable: Vec::new() };
    for (i, result) in results.into_iter().enumerate() {
        let item = &corpus.items[i];
        match result {
            Ok(features) => {
                data.features.extend(features);
                data.labels.push(item.label);
                data.items.push(i);
            }
            Err(reason) => data.unreadable.push((item.path.clone(), reason)),
        }
    }
    if let Some(file) = &cache_file {
        // A cache that cannot be written only costs time next run.
        let _ = save_cache(file, &data);
    }
    Ok(data)
}

/// FNV-1a over the config, the clip length, and every file's name, label and bytes.
fn cache_key(corpus: &Corpus, config: &MfccConfig) -> Result<u64, String> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(serde_json::to_string(config).map_err(|e| e.to_string())?.as_bytes());
    eat(&corpus.clip_samples.to_le_bytes());
    for item in &corpus.items {
        eat(item.path.to_string_lossy().as_bytes());
        eat(&item.label.to_le_bytes());
        eat(&std::fs::read(&item.path).unwrap_or_default());
    }
    Ok(h)
}

/// Layout: u64 rows, then per row u64 item index + u64 label + features; then the unreadable
/// files as JSON.
fn save_cache(file: &Path, data: &Dataset) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut out = Vec::with_capacity(data.features.len() * 4 + 64);
    out.extend_from_slice(&(data.len() as u64).to_le_bytes());
    for r in 0..data.len() {
        out.extend_from_slice(&(data.items[r] as u64).to_le_bytes());
        out.extend_from_slice(&(data.labels[r] as u64).to_le_bytes());
        data.row(r).iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    }
    let unreadable: Vec<(String, String)> =
        data.unreadable.iter().map(|(p, r)| (p.display().to_string(), r.clone())).collect();
    out.extend_from_slice(serde_json::to_string(&unreadable).unwrap_or_default().as_bytes());
    let partial = file.with_extension("partial");
    std::fs::write(&partial, out)?;
    std::fs::rename(partial, file)
}

fn load_cache(file: &Path, corpus: &Corpus, row: usize) -> Option<Dataset> {
    let bytes = std::fs::read(file).ok()?;
    let u64_at = |at: usize| Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?) as usize);
    let rows = u64_at(0)?;
    let mut at = 8;
    let mut data = Dataset {
        features: Vec::with_capacity(rows * row),
        labels: Vec::new(),
        frames: 0,
        coeffs: 0,
        items: Vec::new(),
        unreadable: Vec::new(),
    };
    for _ in 0..rows {
        let item = u64_at(at)?;
        let label = u64_at(at + 8)?;
        if corpus.items.get(item)?.label != label {
            return None;
        }
        at += 16;
        let floats = bytes.get(at..at + row * 4)?;
        data.features.extend(floats.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])));
        data.items.push(item);
        data.labels.push(label);
        at += row * 4;
    }
    let unreadable: Vec<(String, String)> = serde_json::from_slice(bytes.get(at..)?).ok()?;
    data.unreadable = unreadable.into_iter().map(|(p, r)| (PathBuf::from(p), r)).collect();
    Some(data)
}
