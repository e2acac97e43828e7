//! What happens to the MFCCs after librosa's chain, the same in training, the CLI and the page:
//! nothing (the paper's model), or per-utterance cepstral mean and variance normalisation, which
//! removes much of what a microphone, a room and a voice add to every frame alike.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::Features;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Normalisation {
    /// The MFCCs as librosa gives them.
    #[default]
    None,
    /// Each coefficient to mean 0 and variance 1 over the recording's own frames; padding
    /// frames are set to 0 (the mean), so that silence added to fill a clip says nothing.
    PerUtterance,
    /// Each coefficient to mean 0 over the recording's own frames, its spread kept (how far the
    /// voice moves is a cue to arousal); padding frames are set to 0.
    PerUtteranceMean,
    /// Each coefficient to mean 0 and variance 1 over all of a speaker's recordings together
    /// ([`Standardiser::fit`]), so that what sets one utterance apart from the same voice's
    /// others (louder, higher, tenser) is kept. Training pools each speaker's recordings; a
    /// single recording on its own is all of its speaker there is, and is normalised as
    /// [`Normalisation::PerUtterance`] does.
    PerSpeaker,
}

/// Below this standard deviation a coefficient is treated as constant: a flat signal must not be
/// blown up into noise.
const MIN_STD: f64 = 1e-3;

impl Normalisation {
    /// Normalise `features` in place; `recording` is the frames that hold the recording's own
    /// samples (the others are padding).
    pub fn apply(self, features: &mut Features, recording: Range<usize>) {
        if self == Normalisation::None || features.frames == 0 {
            return;
        }
        let own = own_frames(features.frames, recording);
        let c = features.coeffs;
        let standardiser =
            Standardiser::fit([(&features.data[..], own.clone())], c, self == Normalisation::PerUtteranceMean);
        standardiser.apply(&mut features.data, own);
    }
}

/// The frames of `recording` that exist; all of them where it names none (a recording too short
/// to fill a frame is still read, not left out).
pub(super) fn own_frames(frames: usize, recording: Range<usize>) -> Range<usize> {
    let recording = recording.start.min(frames)..recording.end.min(frames);
    if recording.is_empty() { 0..frames } else { recording }
}

/// Each coefficient's mean and inverse spread over the own frames of one or more recordings: a
/// speaker's statistics in training, and a person's voice in a sidecar (`timnet adapt`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardiser {
    mean: Vec<f64>,
    scale: Vec<f64>,
}

impl Standardiser {
    /// The statistics of `recordings`, each its features (frames x `coeffs`, row-major) and the
    /// frames that hold its own samples; `mean_only` keeps the spread (a scale of 1).
    pub fn fit<'a, I>(recordings: I, coeffs: usize, mean_only: bool) -> Self
    where
        I: IntoIterator<Item = (&'a [f32], Range<usize>)>,
        I::IntoIter: Clone,
    {
        let recordings = recordings.into_iter();
        let frames_of = |data: &'a [f32], own: &Range<usize>| data.chunks_exact(coeffs).skip(own.start).take(own.len());
        let n = recordings.clone().map(|(_, own)| own.len()).sum::<usize>().max(1) as f64;
        let mut mean = vec![0.0f64; coeffs];
        for (data, own) in recordings.clone() {
            for row in frames_of(data, &own) {
                mean.iter_mut().zip(row).for_each(|(m, &v)| *m += v as f64 / n);
            }
        }
        // The spread is measured only where it is scaled away.
        let scale = if mean_only {
            vec![1.0; coeffs]
        } else {
            let mut var = vec![0.0f64; coeffs];
            for (data, own) in recordings {
                for row in frames_of(data, &own) {
                    var.iter_mut().zip(row).zip(&mean).for_each(|((s, &v), m)| *s += (v as f64 - m).powi(2) / n);
                }
            }
            var.iter().map(|v| 1.0 / v.sqrt().max(MIN_STD)).collect()
        };
        Standardiser { mean, scale }
    }

    /// How many coefficients a frame has.
    pub fn coeffs(&self) -> usize {
        self.mean.len()
    }

    /// Why these statistics (read from a file) cannot normalise frames of `coeffs`
    /// coefficients, if they cannot.
    pub fn check(&self, coeffs: usize) -> Result<(), String> {
        if self.mean.len() != coeffs || self.scale.len() != coeffs {
            return Err(format!(
                "statistics of {} and {} coefficients for frames of {coeffs}",
                self.mean.len(),
                self.scale.len()
            ));
        }
        let finite = self.mean.iter().all(|m| m.is_finite());
        let scaled = self.scale.iter().all(|s| s.is_finite() && *s > 0.0 && *s <= 1.0 / MIN_STD);
        if !(finite && scaled) {
            return Err("statistics with a mean that is not finite or a spread out of range".into());
        }
        Ok(())
    }

    /// Normalise one recording's features in place: its `own` frames by these statistics, the
    /// others (padding) to 0.
    pub fn apply(&self, data: &mut [f32], own: Range<usize>) {
        let c = self.mean.len();
        for (t, row) in data.chunks_exact_mut(c).enumerate() {
            let padding = !own.contains(&t);
            for ((x, m), s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *x = if padding { 0.0 } else { ((*x as f64 - m) * s) as f32 };
            }
        }
    }
}

/// The STFT frames (centred, one every `hop` samples) whose centre lies in `samples`.
pub fn frames_of(samples: Range<usize>, hop: usize, frames: usize) -> Range<usize> {
    let first = samples.start.div_ceil(hop).min(frames);
    let end = samples.end.div_ceil(hop).min(frames);
    first..end.max(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten frames of two coefficients: a ramp (steps of 2) and a constant. Normalised with
    /// frames 2..8 as the recording's own, it returns those frames' first coefficient.
    fn normalised_ramp(normalisation: Normalisation) -> (Features, Vec<f32>) {
        let rows: Vec<f32> = (0..10).flat_map(|t| [t as f32 * 2.0 + 5.0, 3.0]).collect();
        let mut f = Features { frames: 10, coeffs: 2, data: rows };
        normalisation.apply(&mut f, 2..8);
        let own = (2..8).map(|t| f.row(t)[0]).collect();
        (f, own)
    }

    #[test]
    fn per_utterance_mean_centres_and_keeps_the_spread() {
        let (f, own) = normalised_ramp(Normalisation::PerUtteranceMean);
        assert!(own.iter().sum::<f32>().abs() < 1e-5, "mean 0: {own:?}");
        // The steps of 2 between frames are kept, not scaled to variance 1.
        assert!(own.windows(2).all(|w| (w[1] - w[0] - 2.0).abs() < 1e-5), "{own:?}");
        assert!((2..8).all(|t| f.row(t)[1] == 0.0));
        assert!([0, 1, 8, 9].iter().all(|&t| f.row(t) == [0.0, 0.0]));
    }

    #[test]
    fn per_utterance_gives_mean_0_variance_1_and_silences_padding() {
        let (f, own) = normalised_ramp(Normalisation::PerUtterance);
        let mean: f32 = own.iter().sum::<f32>() / 6.0;
        let var: f32 = own.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / 6.0;
        assert!(mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4, "mean {mean} var {var}");
        // A constant coefficient stays finite (0), and padding frames are 0.
        assert!((2..8).all(|t| f.row(t)[1] == 0.0));
        assert!([0, 1, 8, 9].iter().all(|&t| f.row(t) == [0.0, 0.0]));
    }

    #[test]
    fn a_speaker_s_statistics_keep_what_sets_one_utterance_apart() {
        // Two recordings of one voice, the second 4 higher in the first coefficient; 2 padding
        // frames after each.
        let low: Vec<f32> = [1.0, 3.0, 1.0, 3.0, 9.0, 9.0].iter().flat_map(|&v| [v, 7.0]).collect();
        let high: Vec<f32> = low.iter().enumerate().map(|(i, &v)| if i % 2 == 0 { v + 4.0 } else { v }).collect();
        let s = Standardiser::fit([(&low[..], 0..4), (&high[..], 0..4)], 2, false);
        let (mut a, mut b) = (low.clone(), high.clone());
        s.apply(&mut a, 0..4);
        s.apply(&mut b, 0..4);
        let first = |d: &[f32]| (0..4).map(|t| d[t * 2]).collect::<Vec<_>>();
        // The speaker's frames are 1, 3, 5, 7 (mean 4, variance 5): the shift between the two
        // recordings survives, where per-utterance normalisation would give both the same.
        let z = |v: f32| (v - 4.0) / 5.0f32.sqrt();
        for (got, want) in first(&a).iter().chain(&first(&b)).zip([1.0, 3.0, 1.0, 3.0, 5.0, 7.0, 5.0, 7.0]) {
            assert!((got - z(want)).abs() < 1e-5, "{got} against {}", z(want));
        }
        assert!((0..4).all(|t| a[t * 2 + 1] == 0.0), "a constant coefficient stays 0: {a:?}");
        assert_eq!(&a[8..], &[0.0; 4], "padding is set to 0");
        // One recording on its own is normalised as per-utterance normalisation does.
        let mut alone = Features { frames: 6, coeffs: 2, data: low.clone() };
        let mut utterance = Features { frames: 6, coeffs: 2, data: low };
        Normalisation::PerSpeaker.apply(&mut alone, 0..4);
        Normalisation::PerUtterance.apply(&mut utterance, 0..4);
        assert_eq!(alone.data, utterance.data);
    }

    #[test]
    fn none_leaves_the_features_alone() {
        let mut f = Features { frames: 2, coeffs: 1, data: vec![4.0, 7.0] };
        Normalisation::None.apply(&mut f, 0..2);
        assert_eq!(f.data, vec![4.0, 7.0]);
    }

    #[test]
    fn frames_of_a_placement() {
        assert_eq!(frames_of(0..1024, 512, 10), 0..2);
        assert_eq!(frames_of(1..1025, 512, 10), 1..3);
        assert_eq!(frames_of(0..100_000, 512, 10), 0..10);
        assert_eq!(frames_of(5000..5000, 512, 10), 10..10);
    }
}
