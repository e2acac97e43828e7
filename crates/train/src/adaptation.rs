//! Personalisation measured on voices a model never heard (docs/results.md, "Teach it your
//! voice"): for each speaker, k utterances of each emotion are drawn as enrolment takes, the
//! model is adapted to them by [`timnet::adapt`], and the speaker's other utterances are scored
//! before and after. Several draws per k, each seeded, so the table can be made again.
//! Settings that re-estimate BatchNorm's statistics ([`Settings::batch_norm`]) have every
//! utterance of the speaker computed again by the network renormalised on the enrolment
//! ([`Network`]); the others refit the head on features computed once.

use std::collections::BTreeMap;

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use timnet::adapt::{Head, Settings, Take, adapt_head};
use timnet::analysis::argmax;
use timnet::model::TimNet;

use crate::data::Dataset;
use crate::metrics::Scores;
use crate::{Result, TrainError, mix};

/// One scored utterance of one speaker: its emotion among the scored classes and its take
/// (labelled by the model's output column).
#[derive(Debug, Clone)]
pub struct Utterance {
    /// Its row in the dataset it was read from.
    pub row: usize,
    pub speaker: String,
    pub class: usize,
    pub take: Take,
}

/// The utterances `rows` of `data` with a named speaker, as takes for `model`: `columns[c]`
/// is the model's output for `data`'s class c. One window per utterance, the clip `data` was
/// fitted to, as training and `eval` score them.
pub fn utterances(model: &TimNet, data: &Dataset, rows: &[usize], columns: &[usize]) -> Result<Vec<Utterance>> {
    let rows: Vec<usize> = rows.iter().copied().filter(|&i| data.speakers[i].is_some()).collect();
    let scales = Network { model, data }.scales(&rows)?;
    Ok(rows
        .iter()
        .zip(scales)
        .map(|(&i, g)| {
            let class = data.labels[i];
            Utterance {
                row: i,
                speaker: data.speakers[i].clone().unwrap_or_default(),
                class,
                take: Take { label: columns[class], windows: vec![g] },
            }
        })
        .collect())
}

/// The network and the dataset its utterances come from, for settings that renormalise the
/// network on a speaker's enrolment.
pub struct Network<'a> {
    pub model: &'a TimNet,
    pub data: &'a Dataset,
}

impl Network<'_> {
    /// The per-scale features of `rows`, one vector per row.
    fn scales(&self, rows: &[usize]) -> Result<Vec<Vec<f32>>> {
        let width = self.model.config().tabs * self.model.config().filters;
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(64) {
            let scales = self.model.scales(self.batch(chunk)).into_data();
            let scales = scales.try_to_vec::<f32>().map_err(|e| TrainError::Evaluation(format!("{e:?}")))?;
            out.extend(scales.chunks_exact(width).map(<[f32]>::to_vec));
        }
        Ok(out)
    }

    fn batch(&self, rows: &[usize]) -> Tensor<3> {
        let x = TensorData::new(self.data.gather(rows), [rows.len(), self.data.frames, self.data.coeffs]);
        Tensor::from_data(x, &Device::flex())
    }

    /// `utterances` as takes of the network whose BatchNorm statistics are re-estimated on the
    /// `enrolment` utterances, blended by `share`.
    fn renormalised(&self, share: f32, enrolment: &[&Utterance], utterances: &[&Utterance]) -> Result<Vec<Take>> {
        let rows: Vec<usize> = enrolment.iter().map(|u| u.row).collect();
        let model = self.model.renormalised(self.batch(&rows), f64::from(share));
        let rows: Vec<usize> = utterances.iter().map(|u| u.row).collect();
        let scales = Network { model: &model, data: self.data }.scales(&rows)?;
        Ok(utterances.iter().zip(scales).map(|(u, g)| Take { label: u.take.label, windows: vec![g] }).collect())
    }
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
/// `network` computes the utterances again for settings that renormalise it; without it, they
/// are refused.
#[allow(clippy::too_many_arguments)]
pub fn trials(
    start: &Head,
    utterances: &[Utterance],
    network: Option<&Network>,
    classes: &[usize],
    ks: &[usize],
    draws: usize,
    settings: &[Settings],
    seed: u64,
) -> Result<Vec<Trial>> {
    if network.is_none() && settings.iter().any(|s| s.batch_norm != 0.0) {
        return Err(TrainError::Evaluation("renormalising needs the network and its dataset".into()));
    }
    let mut by_speaker: BTreeMap<&str, Vec<&Utterance>> = BTreeMap::new();
    for u in utterances {
        by_speaker.entry(u.speaker.as_str()).or_default().push(u);
    }
    let columns = classes;
    let score = |head: &Head, takes: &[&Take], truth: &[usize]| {
        let predicted: Vec<usize> = takes
            .iter()
            .map(|take| {
                let p = head.probabilities(take);
                argmax(&columns.iter().map(|&c| p[c]).collect::<Vec<f32>>())
            })
            .collect();
        Scores::new(truth, &predicted, columns.len()).uar
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
                    enrolment.extend_from_slice(&shuffled[..k]);
                    tests.extend_from_slice(&shuffled[k..]);
                }
                let truth: Vec<usize> = tests.iter().map(|u| u.class).collect();
                // The features computed once, for the settings that keep the trained statistics.
                let enrolled: Vec<Take> = enrolment.iter().map(|u| u.take.clone()).collect();
                let tested: Vec<&Take> = tests.iter().map(|u| &u.take).collect();
                // The enrolment and the tests as each share of renormalising computes them.
                let mut renormalised: Vec<(f32, Vec<Take>, Vec<Take>)> = Vec::new();
                let mut after = Vec::with_capacity(settings.len());
                for settings in settings {
                    let share = settings.batch_norm;
                    if share != 0.0 && !renormalised.iter().any(|(s, ..)| *s == share) {
                        let network = network.expect("checked above");
                        let both: Vec<&Utterance> = enrolment.iter().chain(&tests).copied().collect();
                        let mut takes = network.renormalised(share, &enrolment, &both)?;
                        let tests_again = takes.split_off(enrolment.len());
                        renormalised.push((share, takes, tests_again));
                    }
                    let head_and_score = |enrolled: &[Take], tested: &[&Take]| {
                        score(&adapt_head(start, enrolled, settings), tested, &truth)
                    };
                    after.push(match renormalised.iter().find(|(s, ..)| *s == share) {
                        Some((_, enrolled_again, tests_again)) => {
                            head_and_score(enrolled_again, &tests_again.iter().collect::<Vec<_>>())
                        }
                        None => head_and_score(&enrolled, &tested),
                    });
                }
                out.push(Trial {
                    speaker: speaker.to_string(),
                    k,
                    draw,
                    tested: tests.len(),
                    before: score(start, &tested, &truth),
                    after,
                });
            }
        }
    }
    Ok(out)
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
                        row: utterances.len(),
                        speaker: speaker.into(),
                        class,
                        take: Take { label: class, windows: vec![scales] },
                    });
                }
            }
        }
        let fit = FitSettings { steps: 100, learning_rate: 0.05, penalty: 0.1 };
        let settings = [
            Settings { centre: true, fit: FitSettings { steps: 0, ..fit }, ..Settings::default() },
            Settings { centre: true, fit, ..Settings::default() },
        ];
        let trials = trials(&start, &utterances, None, &[0, 1, 2], &[1, 2], 3, &settings, 7).unwrap();
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
            .flat_map(|&(class, n)| {
                (0..n).map(move |_| Utterance { row: 0, speaker: "x".into(), class, take: take(class) })
            })
            .collect();
        assert!(trials(&start, &utterances, None, &[0, 1], &[1], 2, &[Settings::default()], 1).unwrap().is_empty());
        let renormalising = Settings { batch_norm: 1.0, ..Settings::default() };
        assert!(trials(&start, &utterances, None, &[0, 1], &[1], 2, &[renormalising], 1).is_err());
        assert!(summarise(&[], &[1]).is_empty());
    }

    /// Two speakers of three emotions, the second heard through a channel of its own (every
    /// coefficient scaled and shifted), and a network whose statistics are the first's.
    fn network_and_utterances() -> (TimNet, Dataset, Vec<Utterance>) {
        let (frames, coeffs, classes) = (60, 39, 3);
        let mut data = Dataset { frames, coeffs, ..Dataset::empty() };
        for (speaker, gain, offset) in [("a", 1.0f32, 0.0f32), ("b", 1.8, 1.5)] {
            for class in 0..classes {
                for n in 0..5 {
                    data.features.extend((0..frames * coeffs).map(|i| {
                        let (t, c) = (i / coeffs, i % coeffs);
                        let wave = (0.07 * (t * (c + 1 + 4 * class)) as f32 + n as f32).sin();
                        gain * wave + offset * (1.0 - c as f32 / 39.0)
                    }));
                    data.labels.push(class);
                    data.speakers.push(Some(speaker.to_string()));
                }
            }
        }
        let model = timnet::model::TimNetConfig::default().with_classes(classes).init(&Device::flex());
        let a: Vec<usize> = (0..15).collect();
        let model = model.renormalised(Network { model: &model, data: &data }.batch(&a), 1.0);
        let all: Vec<usize> = (0..data.labels.len()).collect();
        let utterances = utterances(&model, &data, &all, &[0, 1, 2]).unwrap();
        (model, data, utterances)
    }

    /// The model's head as numbers.
    fn head_of(model: &TimNet) -> Head {
        let numbers = |t: Tensor<1>| t.into_data().try_to_vec::<f32>().unwrap();
        let config = model.config();
        Head {
            tabs: config.tabs,
            filters: config.filters,
            classes: config.classes,
            fusion: numbers(model.fusion_weights(&Device::flex())),
            fusion_learned: true,
            weight: numbers(model.head.weight.val().reshape([config.filters * config.classes])),
            bias: model.head.bias.as_ref().map_or(vec![0.0; config.classes], |b| numbers(b.val())),
        }
    }

    fn largest_gap(a: &Take, b: &Take) -> f32 {
        a.windows[0].iter().zip(&b.windows[0]).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

    #[test]
    fn renormalised_utterances_are_the_speakers_own_computed_again() {
        let (model, data, utterances) = network_and_utterances();
        let network = Network { model: &model, data: &data };
        let start = head_of(&model);
        let keep = Settings {
            centre: false,
            fit: FitSettings { steps: 0, learning_rate: 0.01, penalty: 0.0 },
            ..Settings::default()
        };
        // A vanishing share computes every utterance again and scores as the features computed
        // once did.
        let settings = [keep, Settings { batch_norm: 1e-9, ..keep }, Settings { batch_norm: 1.0, ..keep }];
        let trials = trials(&start, &utterances, Some(&network), &[0, 1, 2], &[1], 2, &settings, 3).unwrap();
        assert_eq!(trials.len(), 2 * 2);
        for t in &trials {
            assert_eq!(t.after[0], t.before, "{t:?}");
            assert_eq!(t.after[1], t.before, "{t:?}");
        }
        // Speaker a's statistics are the network's already, so its features stay; b's move.
        let (a, b): (Vec<&Utterance>, Vec<&Utterance>) = utterances.iter().partition(|u| u.speaker == "a");
        let again = network.renormalised(1.0, &a, &a[..1]).unwrap();
        assert!(largest_gap(&again[0], &a[0].take) < 1e-4, "{}", largest_gap(&again[0], &a[0].take));
        let again = network.renormalised(1.0, &b, &b[..1]).unwrap();
        assert!(largest_gap(&again[0], &b[0].take) > 1e-2, "{}", largest_gap(&again[0], &b[0].take));
    }
}
