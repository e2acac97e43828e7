//! The features of whole corpora, computed once per corpus, front end and augmentation on every
//! core, and cached on disk under a hash of the files' contents and the settings.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use timnet::audio::{MODEL_RATE, decode, place, prepare_samples, resample, to_mono};
use timnet::features::{FrontEnd, MfccConfig, Normalisation, Standardiser};

use crate::augment::{self, Augmentation, Draw};
use crate::corpus::Corpus;
use crate::error::write_atomic;
use crate::{Result, TrainError, mix};

/// The front end a run trains with, as its settings (stored in run.json and the sidecar).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrontEndSettings {
    pub mfcc: MfccConfig,
    pub clip_samples: usize,
    pub normalisation: Normalisation,
}

impl FrontEndSettings {
    pub fn plan(&self) -> FrontEnd {
        FrontEnd::new(self.mfcc.clone(), self.clip_samples, self.normalisation)
    }

    /// The front end each recording is extracted with. Per-speaker normalisation needs all of a
    /// speaker's recordings at once: they are extracted raw, and
    /// [`Dataset::normalise_by_speaker`] normalises them together afterwards.
    fn extraction(&self) -> FrontEnd {
        match self.normalisation {
            Normalisation::PerSpeaker => FrontEnd::new(self.mfcc.clone(), self.clip_samples, Normalisation::None),
            _ => self.plan(),
        }
    }
}

/// The features of the readable items of one or more corpora, [rows, frames, coeffs] row-major.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Each utterance centre-fitted to the clip, as inference sees it.
    pub features: Vec<f32>,
    /// Augmented copies: `augmented[c]` is copy c of every row (empty without augmentation).
    pub augmented: Vec<Vec<f32>>,
    pub labels: Vec<usize>,
    pub frames: usize,
    pub coeffs: usize,
    /// Per row: which of the run's corpora it comes from, its item index there, and its speaker
    /// (prefixed with the corpus's name when several corpora are mixed).
    pub corpus: Vec<usize>,
    pub items: Vec<usize>,
    pub speakers: Vec<Option<String>>,
    /// Per row: the frames that hold the utterance's own samples (the others are padding).
    /// Empty where the features came from a cache written before it was kept.
    pub own: Vec<Range<usize>>,
    /// Rows whose recordings gave their speaker's statistics when those come from a few takes
    /// ([`Dataset::normalise_by_speaker`]), in order: a speaker's enrolment, never scored.
    pub enrolment: Vec<usize>,
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

    fn size(&self) -> usize {
        self.frames * self.coeffs
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.features[i * self.size()..(i + 1) * self.size()]
    }

    /// Rows `indices` stacked into one buffer, as inference sees them.
    pub fn gather(&self, indices: &[usize]) -> Vec<f32> {
        indices.iter().flat_map(|&i| self.row(i).iter().copied()).collect()
    }

    /// Rows `indices`, each as version `versions[k]` (0: the utterance itself; c: copy c).
    pub fn gather_versions(&self, indices: &[usize], versions: &[usize]) -> Vec<f32> {
        let size = self.size();
        let mut out = Vec::with_capacity(indices.len() * size);
        for (&i, &v) in indices.iter().zip(versions) {
            let source = if v == 0 { &self.features } else { &self.augmented[v - 1] };
            out.extend_from_slice(&source[i * size..(i + 1) * size]);
        }
        out
    }

    /// Several corpora's datasets as one: rows in order, `corpus` numbering the parts.
    pub fn concat(parts: Vec<Dataset>) -> Dataset {
        let mut all = Dataset { frames: 0, coeffs: 0, ..Dataset::empty() };
        let copies = parts.iter().map(|p| p.augmented.len()).min().unwrap_or(0);
        all.augmented = vec![Vec::new(); copies];
        for (c, part) in parts.into_iter().enumerate() {
            (all.frames, all.coeffs) = (part.frames, part.coeffs);
            let offset = all.labels.len();
            all.enrolment.extend(part.enrolment.iter().map(|&i| i + offset));
            all.features.extend(part.features);
            for (into, from) in all.augmented.iter_mut().zip(part.augmented) {
                into.extend(from);
            }
            all.labels.extend(part.labels);
            all.corpus.extend(std::iter::repeat_n(c, part.items.len()));
            all.items.extend(part.items);
            all.speakers.extend(part.speakers);
            all.own.extend(part.own);
            all.unreadable.extend(part.unreadable);
        }
        all
    }

    pub(crate) fn empty() -> Self {
        Dataset {
            features: Vec::new(),
            augmented: Vec::new(),
            labels: Vec::new(),
            frames: 0,
            coeffs: 0,
            corpus: Vec::new(),
            items: Vec::new(),
            speakers: Vec::new(),
            own: Vec::new(),
            enrolment: Vec::new(),
            unreadable: Vec::new(),
        }
    }

    /// `rows` without the enrolment rows: those that may be scored.
    pub fn scored(&self, rows: &[usize]) -> Vec<usize> {
        rows.iter().copied().filter(|i| self.enrolment.binary_search(i).is_err()).collect()
    }

    /// Normalise every row by the statistics of its speaker ([`Normalisation::PerSpeaker`]);
    /// rows with no named speaker are pooled by corpus. With `takes`, the statistics come from
    /// that many of the speaker's rows, drawn by `seed` without looking at labels, as a new voice
    /// would give a few recordings before its first answer; those rows become the speaker's
    /// [`enrolment`](Dataset::enrolment). Without, they come from all of the speaker's rows, a
    /// test speaker's included (transductive, though label-free).
    pub fn normalise_by_speaker(&mut self, takes: Option<usize>, seed: u64) -> Result<()> {
        if !self.augmented.is_empty() {
            return Err(TrainError::Setup(
                "per-speaker normalisation does not yet combine with augmented copies".into(),
            ));
        }
        if self.own.len() != self.len() {
            return Err(TrainError::Setup("per-speaker normalisation needs each row's own frames".into()));
        }
        if takes == Some(0) {
            return Err(TrainError::Setup("a speaker's statistics need at least one take".into()));
        }
        let mut groups: BTreeMap<(Option<usize>, Option<&str>), Vec<usize>> = BTreeMap::new();
        for i in 0..self.len() {
            groups.entry((self.corpus.get(i).copied(), self.speakers[i].as_deref())).or_default().push(i);
        }
        let size = self.size();
        let groups: Vec<Vec<usize>> = groups.into_values().collect();
        self.enrolment.clear();
        for rows in groups {
            let pooled = match takes {
                None => rows.clone(),
                Some(k) => {
                    let mut drawn = rows.clone();
                    crate::shuffle(&mut drawn, mix(&[seed, rows[0] as u64]));
                    drawn.truncate(k);
                    drawn.sort_unstable();
                    self.enrolment.extend(&drawn);
                    drawn
                }
            };
            let standardiser =
                Standardiser::fit(pooled.iter().map(|&i| (self.row(i), self.own[i].clone())), self.coeffs, false);
            for &i in &rows {
                standardiser.apply(&mut self.features[i * size..(i + 1) * size], self.own[i].clone());
            }
        }
        self.enrolment.sort_unstable();
        Ok(())
    }
}

/// Where features are cached between runs: $XDG_CACHE_HOME/timnet or ~/.cache/timnet.
pub fn default_cache() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("timnet"))
}

/// What one readable item gives: the clean clip's features, its own frames and its copies'.
struct Extracted {
    clean: Vec<f32>,
    own: Range<usize>,
    copies: Vec<Vec<f32>>,
}

/// Compute (or load from `cache`) the features of every item of `corpus` with `front`, and
/// `augment.copies` augmented copies of each drawn from `seed`; per-speaker statistics from
/// `takes` of each speaker's items where it is given (see [`Dataset::normalise_by_speaker`]).
pub fn extract(
    corpus: &Corpus,
    front: &FrontEndSettings,
    augment: &Augmentation,
    seed: u64,
    takes: Option<usize>,
    cache: Option<&Path>,
) -> Result<Dataset> {
    let mut data = extract_each(corpus, front, augment, seed, cache)?;
    if front.normalisation == Normalisation::PerSpeaker {
        data.normalise_by_speaker(takes, mix(&[seed, 0x5e1f]))?;
    }
    Ok(data)
}

/// The features of every item of `corpus` for a per-speaker model taught one voice: each
/// normalised by that voice's statistics, as `predict` and the page normalise what it hears.
pub fn extract_for_voice(
    corpus: &Corpus,
    front: &FrontEndSettings,
    voice: &Standardiser,
    cache: Option<&Path>,
) -> Result<Dataset> {
    if front.normalisation != Normalisation::PerSpeaker {
        return Err(TrainError::Setup("only a per-speaker model is normalised by a voice".into()));
    }
    // Extracted raw, with each row's own frames, as for per-speaker statistics.
    let mut data = extract_each(corpus, front, &Augmentation::default(), 0, cache)?;
    let size = data.size();
    for (row, own) in data.features.chunks_exact_mut(size).zip(&data.own) {
        voice.apply(row, own.clone());
    }
    Ok(data)
}

/// Each item's features on its own, as cached: per-speaker normalisation comes after.
fn extract_each(
    corpus: &Corpus,
    front: &FrontEndSettings,
    augment: &Augmentation,
    seed: u64,
    cache: Option<&Path>,
) -> Result<Dataset> {
    let copies = if augment.makes_copies() { augment.copies } else { 0 };
    let key = cache_key(corpus, front, augment, seed)?;
    let cache_file = cache.map(|dir| dir.join(format!("{}-{}.safetensors", corpus.name, &key[..16])));
    let plan = front.extraction();
    let frames = front.mfcc.frames_for(front.clip_samples);
    let coeffs = front.mfcc.n_mfcc;
    let speaker = |i: usize| corpus.items[i].speaker.clone();
    // Only per-speaker normalisation needs the own frames, which older caches lack.
    let usable = |data: &Dataset| front.normalisation != Normalisation::PerSpeaker || data.own.len() == data.len();
    if let Some(mut data) =
        cache_file.as_deref().and_then(|f| load_cache(f, corpus, frames * coeffs, copies)).filter(usable)
    {
        (data.frames, data.coeffs) = (frames, coeffs);
        data.speakers = data.items.iter().map(|&i| speaker(i)).collect();
        return Ok(data);
    }
    let corpus_seed =
        mix(&[seed, u64::from_le_bytes(Sha256::digest(corpus.name.as_bytes())[..8].try_into().unwrap_or_default())]);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(corpus.items.len().max(1));
    let chunk = corpus.items.len().div_ceil(threads).max(1);
    let results: Vec<std::result::Result<Extracted, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = corpus
            .items
            .chunks(chunk)
            .enumerate()
            .map(|(part, items)| {
                let plan = &plan;
                let len = items.len();
                let handle = scope.spawn(move || {
                    items
                        .iter()
                        .enumerate()
                        .map(|(k, item)| {
                            let index = part * chunk + k;
                            let bytes = timnet::files::read_regular(&item.path, timnet::files::MAX_AUDIO_BYTES)
                                .map_err(|e| e.to_string())?;
                            features_of(&bytes, plan, augment, copies, mix(&[corpus_seed, index as u64]))
                        })
                        .collect::<Vec<_>>()
                });
                (handle, len)
            })
            .collect();
        // A worker that panicked is a bug; its items are reported unreadable rather than lost.
        handles
            .into_iter()
            .flat_map(|(h, len)| {
                h.join().unwrap_or_else(|_| (0..len).map(|_| Err("the feature worker failed".to_string())).collect())
            })
            .collect()
    });
    let mut data = Dataset { frames, coeffs, ..Dataset::empty() };
    data.augmented = vec![Vec::new(); copies];
    for (i, (result, item)) in results.into_iter().zip(&corpus.items).enumerate() {
        match result {
            Ok(extracted) => {
                data.features.extend(extracted.clean);
                data.own.push(extracted.own);
                for (into, copy) in data.augmented.iter_mut().zip(extracted.copies) {
                    into.extend(copy);
                }
                data.labels.push(item.label);
                data.items.push(i);
                data.speakers.push(speaker(i));
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

/// One file's clean features and augmented copies.
fn features_of(
    bytes: &[u8],
    plan: &FrontEnd,
    augment: &Augmentation,
    copies: usize,
    seed: u64,
) -> std::result::Result<Extracted, String> {
    let decoded = decode(bytes).map_err(|e| e.to_string())?;
    let prepared =
        prepare_samples(&decoded.samples, decoded.channels, decoded.sample_rate).map_err(|e| e.to_string())?;
    let (clean, own) = plan.clip_and_own(&prepared.samples);
    let clean = clean.data;
    let mono = if augment.speed { to_mono(&decoded.samples, decoded.channels) } else { Vec::new() };
    let copies = (0..copies)
        .map(|c| {
            let mut draw = Draw::new(mix(&[seed, c as u64 + 1]));
            let mut samples = if augment.speed {
                let rate = augment::speed_rate(decoded.sample_rate, draw.uniform(0.9, 1.1));
                resample(&mono, rate, MODEL_RATE).into_iter().map(|s| s.clamp(-1.0, 1.0)).collect()
            } else {
                prepared.samples.clone()
            };
            if augment.reverb && draw.chance(0.5) {
                let response = augment::room_response(draw.uniform(0.2, 0.8), MODEL_RATE, &mut draw);
                samples = augment::reverberate(&samples, &response);
            }
            if augment.noise {
                augment::add_noise(&mut samples, draw.uniform(5.0, 30.0), &mut draw);
            }
            if augment.gain {
                augment::gain(&mut samples, draw.uniform(-6.0, 6.0));
            }
            let clip = plan.clip_samples;
            let (window, own) = if augment.crop {
                match augment::random_offset(samples.len(), clip, &mut draw) {
                    start if start >= 0 => place(&samples[start as usize..], clip, 0),
                    left => place(&samples, clip, (-left) as usize),
                }
            } else {
                timnet::audio::fit_length_placed(&samples, clip)
            };
            plan.placed(&window, own).data
        })
        .collect();
    Ok(Extracted { clean, own, copies })
}

/// SHA-256 over the settings and every file's name, label and bytes, in hex.
fn cache_key(corpus: &Corpus, front: &FrontEndSettings, augment: &Augmentation, seed: u64) -> Result<String> {
    let mut h = Sha256::new();
    let settings = serde_json::json!({ "front_end": front, "augmentation": augment, "seed": seed, "version": 2 });
    h.update(settings.to_string().as_bytes());
    for item in &corpus.items {
        h.update(item.path.to_string_lossy().as_bytes());
        h.update(item.label.to_le_bytes());
        h.update(timnet::files::read_regular(&item.path, timnet::files::MAX_AUDIO_BYTES).unwrap_or_default());
    }
    Ok(timnet::weights::hex(&h.finalize()))
}

/// What the cache keeps beside the arrays.
#[derive(Serialize, Deserialize)]
struct CacheMeta {
    items: Vec<usize>,
    labels: Vec<usize>,
    unreadable: Vec<(String, String)>,
    /// Each row's own frames, as (start, end); absent in caches written before it was kept.
    #[serde(default)]
    own: Vec<(usize, usize)>,
}

const META: &str = "rows";

/// A safetensors file: `clean` and `copy-N` arrays [rows, frames·coeffs]; rows, labels and
/// unreadable files in its metadata.
fn save_cache(file: &Path, data: &Dataset) -> Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(TrainError::io(dir))?;
    }
    let meta = CacheMeta {
        items: data.items.clone(),
        labels: data.labels.clone(),
        unreadable: data.unreadable.iter().map(|(p, r)| (p.display().to_string(), r.clone())).collect(),
        own: data.own.iter().map(|r| (r.start, r.end)).collect(),
    };
    let bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let arrays: Vec<(String, Vec<u8>)> = std::iter::once(("clean".to_string(), bytes(&data.features)))
        .chain(data.augmented.iter().enumerate().map(|(c, a)| (format!("copy-{c}"), bytes(a))))
        .collect();
    let shape = vec![data.len(), data.size()];
    let mut views = Vec::new();
    for (name, b) in &arrays {
        views.push((
            name.clone(),
            TensorView::new(Dtype::F32, shape.clone(), b).map_err(|e| TrainError::damaged(file, e))?,
        ));
    }
    let metadata = HashMap::from([(META.to_string(), serde_json::to_string(&meta).unwrap_or_default())]);
    let out = safetensors::serialize(views, Some(metadata)).map_err(|e| TrainError::damaged(file, e))?;
    write_atomic(file, &out)
}

fn load_cache(file: &Path, corpus: &Corpus, row: usize, copies: usize) -> Option<Dataset> {
    let bytes = std::fs::read(file).ok()?;
    let (_, metadata) = SafeTensors::read_metadata(&bytes).ok()?;
    let meta: CacheMeta = serde_json::from_str(metadata.metadata().as_ref()?.get(META)?).ok()?;
    if meta.items.iter().zip(&meta.labels).any(|(&i, &l)| corpus.items.get(i).map(|it| it.label) != Some(l)) {
        return None;
    }
    let tensors = SafeTensors::deserialize(&bytes).ok()?;
    let read = |name: &str| -> Option<Vec<f32>> {
        let view = tensors.tensor(name).ok()?;
        (view.data().len() == meta.items.len() * row * 4)
            .then(|| view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    };
    let mut data = Dataset::empty();
    data.features = read("clean")?;
    data.augmented = (0..copies).map(|c| read(&format!("copy-{c}"))).collect::<Option<_>>()?;
    data.labels = meta.labels;
    data.items = meta.items;
    data.own = meta.own.into_iter().map(|(start, end)| start..end).collect();
    data.unreadable = meta.unreadable.into_iter().map(|(p, r)| (PathBuf::from(p), r)).collect();
    Some(data)
}
