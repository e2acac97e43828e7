//! Personalisation measured on voices a model never heard (docs/results.md, "Teach it your
//! voice"): for each speaker, k utterances of each emotion are drawn as enrolment takes, the
//! model is adapted to them by [`timnet::adapt`], and the speaker's other utterances are scored
//! before and after. Several draws per k, each seeded, so the table can be made again.

use std::collections::BTreeMap;

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use timnet::adapt::{Head, Settings, Take, adapt_head};
use timnet::analysis::argmax;
use timnet::weights::Weights;

use crate::data::Dataset;
use crate::metrics::Scores;
use crate::{Result, TrainError, mix};

/// One scored utterance of one speaker: its emotion among the scored classes and its take
/// (labelled by the model's output column).
#[derive(Debug, Clone)]
pub struct Utterance {
    pub speaker: String,
    pub class: usize,
    pub take: Take,
}

/// The utterances `rows` of `data` with a named speaker, as takes for `weights`: `columns[c]`
/// is the model's output for `data`'s class c. One window per utterance, the clip `data` was
/// fitted to, as training and `eval` score them.
pub fn utterances(weights: &Weights, data: &Dataset, rows: &[usize], columns: &[usize]) -> Result<Vec<Utterance>> {
    let device = Device::flex();
    let model = weights.model.valid();
    let rows: Vec<usize> = rows.iter().copied().filter(|&i| data.speakers[i].is_some()).collect();
    let width = model.config().tabs * model.config().filters;
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(64) {
        let x = TensorData::new(data.gather(chunk), [chunk.len(), data.frames, data.coeffs]);
        let scales = model.scales(Tensor::from_data(x, &device)).into_data();
        let scales = scales.try_to_vec::<f32>().map_err(|e| TrainError::Evaluation(format!("{e:?}")))?;
        for (&i, g) in chunk.iter().zip(scales.chunks_exact(width)) {
            let class = data.labels[i];
            out.push(Utterance {
                speaker: data.speakers[i].clone().unwrap_or_default(),
                class,
                take: Take { label: columns[class], windows: vec![g.to_vec()] },
            });
        }
    }
    Ok(out)
}

/// One enrolment draw for one speaker.
#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    pub speaker: String,
    pub k: usize,
    pub draw: usize,
    /// Utterances scored (the speaker's others).
    pub tested: usize,
    /// UAR on them, unadapted.
    pub before: f64,
    /// UAR after adapting by each of the settings tried, in their order.
    pub after: Vec<f64>,
}

/// For every speaker with more than k utterances of each of the `classes` scored, `draws`
/// enrolments of k takes per emotion; UAR before and after adapting `start` by each settings.
pub fn trials(
    start: &Head,
    utterances: &[Utterance],
    classes: &[usize],
    ks: &[usize],
    draws: usize,
    settings: &[Settings],
    seed: u64,
) -> Vec<Trial> {
    let mut by_speaker: BTreeMap<&str, Vec<&Utterance>> = BTreeMap::new();
    for u in utterances {
        by_speaker.entry(u.speaker.as_str()).or_default().push(u);
    }
    let columns = classes;
    let predict = |head: &Head, u: &Utterance| {
        let p = head.probabilities(&u.take);
        let shared: Vec<f32> = columns.iter().map(|&c| p[c]).collect();
        argmax(&shared)
    };
    let score = |head: &Head, tests: &[&Utterance]| {
        let truth: Vec<usize> = tests.iter().map(|u| u.class).collect();
        let predicted: Vec<usize> = tests.iter().map(|u| predict(head, u)).collect();
        Scores::new(&truth, &predicted, columns.len()).uar
    };
    let mut out = Vec::new();
    for (s, (speaker, own)) in by_speaker.iter().enumerate() {
        let mut per_class: Vec<Vec<&Utterance>> = vec![Vec::new(); columns.len()];
        own.iter().for_each(|u| per_class[u.class].push(u));
        for &k in ks {
            if per_class.iter().any(|c| c.len() <= k) {
                continue;
            }
            for draw in 0..draws {
                let mut rng = ChaCha8Rng::seed_from_u64(mix(&[seed, s as u64, k as u64, draw as u64]));
                let (mut enrolment, mut tests) = (Vec::new(), Vec::new());
                for class in &per_class {
                    let mut shuffled = class.clone();
                    shuffled.shuffle(&mut rng);
                    enrolment.extend(shuffled[..k].iter().map(|u| u.take.clone()));
                    tests.extend_from_slice(&shuffled[k..]);
                }
                out.push(Trial {
                    speaker: speaker.to_string(),
                    k,
                    draw,
                    tested: tests.len(),
                    before: score(start, &tests),
                    after: settings.iter().map(|s| score(&adapt_head(start, &enrolment, s), &tests)).collect(),
                });
            }
        }
    }
    out
}

/// Per k: the mean over speakers of each speaker's mean over draws, before and after each
/// settings; the spread of the per-speaker gain; and the worst speaker's change.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub k: usize,
    pub speakers: usize,
    pub before: f64,
    pub after: Vec<f64>,
    /// Standard deviation over speakers of the gain, per settings.
    pub gain_spread: Vec<f64>,
    /// The smallest per-speaker gain (negative: a loss), per settings.
    pub worst_gain: Vec<f64>,
}

pub fn summarise(trials: &[Trial], ks: &[usize]) -> Vec<Summary> {
    ks.iter()
        .filter_map(|&k| {
            let n = trials.iter().find(|t| t.k == k)?.after.len();
            let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
            let per_settings: Vec<Vec<(f64, f64)>> = (0..n).map(|j| speaker_means(trials, k, j)).collect();
            let before: Vec<f64> = per_settings[0].iter().map(|(b, _)| *b).collect();
            let after: Vec<Vec<f64>> = per_settings.iter().map(|s| s.iter().map(|(_, a)| *a).collect()).collect();
            let gains: Vec<Vec<f64>> =
                after.iter().map(|a| a.iter().zip(&before).map(|(a, b)| a - b).collect()).collect();
            let spread = |g: &[f64]| {
                let m = mean(g);
                (g.iter().map(|x| (x - m).powi(2)).sum::<f64>() / g.len().max(1) as f64).sqrt()
            };
            Some(Summary {
                k,
                speakers: before.len(),
                before: mean(&before),
                after: after.iter().map(|a| mean(a)).collect(),
                gain_spread: gains.iter().map(|g| spread(g)).collect(),
                worst_gain: gains.iter().map(|g| g.iter().copied().fold(f64::INFINITY, f64::min)).collect(),
            })
        })
        .collect()
}

/// Each speaker's UAR at k before and after the `column`th settings, averaged over draws, in
/// the speakers' order.
pub fn speaker_means(trials: &[Trial], k: usize, column: usize) -> Vec<(f64, f64)> {
    let mut per_speaker: BTreeMap<&str, Vec<&Trial>> = BTreeMap::new();
    trials.iter().filter(|t| t.k == k).for_each(|t| per_speaker.entry(&t.speaker).or_default().push(t));
    let mean = |ts: &[&Trial], f: &dyn Fn(&Trial) -> f64| ts.iter().map(|t| f(t)).sum::<f64>() / ts.len() as f64;
    per_speaker.values().map(|ts| (mean(ts, &|t| t.before), mean(ts, &|t| t.after[column]))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use timnet::adapt::FitSettings;

    /// Two speakers whose per-scale features carry the emotion, each shifted by a voice of its
    /// own that the model, fitted to neither, reads as one emotion: adaptation must help.
    #[test]
    fn adaptation_helps_speakers_whose_voice_shifts_the_features() {
        let (tabs, filters, classes) = (2, 4, 3);
        // The head reads filter c as evidence for class c; filter 3 is the voice.
        let mut weight = vec![0.0; filters * classes];
        (0..classes).for_each(|c| weight[c * classes + c] = 2.0);
        weight[3 * classes] = 3.0; // the voice pushes everything towards class 0
        let start =
            Head { tabs, filters, classes, fusion: vec![0.5, 0.5], fusion_learned: true, weight, bias: vec![0.0; 3] };
        let mut utterances = Vec::new();
        for (speaker, voice) in [("a", 1.5f32), ("b", 2.5)] {
            for class in 0..classes {
                for n in 0..6 {
                    let wobble = 0.2 * ((n * 7 + class * 3) as f32).sin();
                    let mut g = vec![0.0; filters];
                    g[class] = 1.0 + wobble;
                    g[3] = voice;
                    let scales = [g.clone(), g].concat();
                    utterances.push(Utterance {
                        speaker: speaker.into(),
                        class,
                        take: Take { label: class, windows: vec![scales] },
                    });
                }
            }
        }
        let fit = FitSettings { steps: 100, learning_rate: 0.05, penalty: 0.1 };
        let settings = [
            Settings { centre: true, fit: FitSettings { steps: 0, ..fit }, guard: None },
            Settings { centre: true, fit, guard: None },
        ];
        let trials = trials(&start, &utterances, &[0, 1, 2], &[1, 2], 3, &settings, 7);
        assert_eq!(trials.len(), 2 * 2 * 3);
        assert!(trials.iter().all(|t| t.tested == 3 * (6 - t.k)));
        let summary = summarise(&trials, &[1, 2]);
        for s in &summary {
            assert!(s.before < 0.5, "k={}: unadapted UAR {}", s.k, s.before);
            assert!(s.after.iter().all(|a| *a > s.before + 0.3), "k={}: {:?} vs {}", s.k, s.after, s.before);
            assert!(s.worst_gain.iter().all(|g| *g > 0.0), "{:?}", s.worst_gain);
        }
    }

    #[test]
    fn speakers_without_enough_utterances_are_left_out() {
        let start = Head {
            tabs: 1,
            filters: 1,
            classes: 2,
            fusion: vec![1.0],
            fusion_learned: true,
            weight: vec![1.0, -1.0],
            bias: vec![0.0; 2],
        };
        let take = |label| Take { label, windows: vec![vec![0.5]] };
        let utterances: Vec<Utterance> = [(0, 2), (1, 1)]
            .iter()
            .flat_map(|&(class, n)| (0..n).map(move |_| Utterance { speaker: "x".into(), class, take: take(class) }))
            .collect();
        assert!(trials(&start, &utterances, &[0, 1], &[1], 2, &[Settings::default()], 1).is_empty());
        assert!(summarise(&[], &[1]).is_empty());
    }
}
