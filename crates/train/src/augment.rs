//! Augmentation: other versions of an utterance, as another microphone, room, speaking rate or
//! take would give it. The waveform changes (speed, gain, noise, reverberation, a random crop)
//! make a few copies of each utterance once, cached with its features; the feature-domain
//! masks change every batch. Each piece is a switch, so that each can be measured.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use realfft::RealFftPlanner;
use serde::{Deserialize, Serialize};

/// Which augmentations make a run's copies and batches.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Augmentation {
    /// Augmented copies of each utterance, made once (0: none). An epoch shows each utterance
    /// as one of its copies or as itself, drawn at random.
    pub copies: usize,
    /// Speed perturbation through the resampler: factor 0.9 to 1.1 (tempo and pitch together).
    pub speed: bool,
    /// Gain of -6 to +6 dB (clipped at full scale).
    pub gain: bool,
    /// White noise at a signal-to-noise ratio of 5 to 30 dB.
    pub noise: bool,
    /// A synthetic room (exponentially decaying noise, RT60 0.2 to 0.8 s) on half the copies.
    pub reverb: bool,
    /// A random placement of the clip window instead of the centre.
    pub crop: bool,
    /// Per batch: two time masks (each up to a tenth of the frames) and one mask of up to four
    /// coefficients, set to 0.
    pub mask: bool,
}

impl Augmentation {
    /// Everything on, with `copies` copies.
    pub fn all(copies: usize) -> Self {
        Self { copies, speed: true, gain: true, noise: true, reverb: true, crop: true, mask: true }
    }

    /// Whether the copies differ from the utterance at all.
    pub fn makes_copies(&self) -> bool {
        self.copies > 0 && (self.speed || self.gain || self.noise || self.reverb || self.crop)
    }
}

/// The random draws of one copy, from its own seed.
pub struct Draw {
    rng: ChaCha8Rng,
}

impl Draw {
    pub fn new(seed: u64) -> Self {
        Self { rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.rng.random::<f64>()
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.random::<f64>() < p
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { self.rng.random_range(0..n) }
    }

    /// A standard normal draw (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.rng.random::<f64>().max(f64::MIN_POSITIVE);
        let v = self.rng.random::<f64>();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// A draw from Beta(α, α) by Jöhnk's rejection method (exact for any α > 0; a couple of
    /// tries on average for the small α mixup uses).
    pub fn beta(&mut self, alpha: f64) -> f64 {
        loop {
            let x = self.rng.random::<f64>().powf(1.0 / alpha);
            let y = self.rng.random::<f64>().powf(1.0 / alpha);
            if x + y <= 1.0 && x + y > 0.0 {
                return x / (x + y);
            }
        }
    }
}

/// The rate to hand the resampler so that the result plays `factor` times faster.
pub fn speed_rate(rate: u32, factor: f64) -> u32 {
    ((rate as f64 * factor).round() as u32).max(1)
}

/// Scale by `db` decibels, clipped to full scale.
pub fn gain(samples: &mut [f32], db: f64) {
    let g = 10f64.powf(db / 20.0) as f32;
    samples.iter_mut().for_each(|s| *s = (*s * g).clamp(-1.0, 1.0));
}

/// Add white noise at `snr_db` below the signal's mean power.
pub fn add_noise(samples: &mut [f32], snr_db: f64, draw: &mut Draw) {
    let power = samples.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / samples.len().max(1) as f64;
    if power == 0.0 {
        return;
    }
    let sigma = (power / 10f64.powf(snr_db / 10.0)).sqrt();
    samples.iter_mut().for_each(|s| *s = (*s as f64 + sigma * draw.normal()).clamp(-1.0, 1.0) as f32);
}

/// A room's impulse response at `rate`: the direct sound, then exponentially decaying noise
/// reaching -60 dB at `rt60` seconds.
pub fn room_response(rt60: f64, rate: u32, draw: &mut Draw) -> Vec<f32> {
    let len = ((rt60 * rate as f64) as usize).max(2);
    let decay = 6.907_755 / (rt60 * rate as f64); // ln(1000): -60 dB in amplitude
    let mut h: Vec<f32> = (0..len).map(|n| (0.3 * draw.normal() * (-decay * n as f64).exp()) as f32).collect();
    h[0] = 1.0;
    h
}

/// `samples` convolved with `response` (by FFT), cut to the input's length and scaled back to
/// the input's power, so that reverberation changes the sound, not the level.
pub fn reverberate(samples: &[f32], response: &[f32]) -> Vec<f32> {
    let n = (samples.len() + response.len()).next_power_of_two();
    let mut planner = RealFftPlanner::<f32>::new();
    let (forward, inverse) = (planner.plan_fft_forward(n), planner.plan_fft_inverse(n));
    let spectrum = |x: &[f32]| {
        let mut input = vec![0.0; n];
        input[..x.len()].copy_from_slice(x);
        let mut out = forward.make_output_vec();
        // The lengths are the plan's own, so the transform cannot fail.
        let _ = forward.process(&mut input, &mut out);
        out
    };
    let (a, b) = (spectrum(samples), spectrum(response));
    let mut product: Vec<_> = a.iter().zip(&b).map(|(x, y)| x * y).collect();
    let mut out = inverse.make_output_vec();
    let _ = inverse.process(&mut product, &mut out);
    out.truncate(samples.len());
    let power = |x: &[f32]| x.iter().map(|&s| (s as f64).powi(2)).sum::<f64>();
    let (before, after) = (power(samples), power(&out));
    let scale = if after > 0.0 { (before / after).sqrt() } else { 0.0 };
    out.iter().map(|&s| (s as f64 * scale).clamp(-1.0, 1.0) as f32).collect()
}

/// Where a clip of `clip` samples starts over a recording of `len` samples (negative: padding
/// on the left), drawn at random.
pub fn random_offset(len: usize, clip: usize, draw: &mut Draw) -> isize {
    if len >= clip { draw.below(len - clip + 1) as isize } else { -(draw.below(clip - len + 1) as isize) }
}

/// Zero two time spans (each up to a tenth of the frames) and one band of up to four
/// coefficients of a [frames, coeffs] matrix.
pub fn mask(features: &mut [f32], frames: usize, coeffs: usize, draw: &mut Draw) {
    for _ in 0..2 {
        let width = draw.below(frames / 10 + 1);
        let start = draw.below(frames - width + 1);
        features[start * coeffs..(start + width) * coeffs].fill(0.0);
    }
    let width = draw.below(5.min(coeffs));
    let start = draw.below(coeffs - width + 1);
    for row in features.chunks_exact_mut(coeffs) {
        row[start..start + width].fill(0.0);
    }
}

/// Mixup (Zhang et al., 2018) on a batch of `rows` feature matrices `x` and their `targets`:
/// each row becomes λ·itself + (1-λ)·another row of the batch, its target likewise, with λ drawn
/// from Beta(α, α) and folded to at least ½ so that every row stays mostly itself. Rows from
/// different corpora blend, so no corpus's recording conditions alone mark an emotion.
pub fn mixup(x: &mut [f32], targets: &mut [f32], rows: usize, alpha: f64, draw: &mut Draw) {
    if rows < 2 || alpha <= 0.0 {
        return;
    }
    let (width, classes) = (x.len() / rows, targets.len() / rows);
    let (x0, t0) = (x.to_vec(), targets.to_vec());
    for r in 0..rows {
        // Any other row of the batch, each alike likely.
        let other = (r + 1 + draw.below(rows - 1)) % rows;
        let lambda = draw.beta(alpha);
        let lambda = lambda.max(1.0 - lambda) as f32;
        let blend = |out: &mut [f32], all: &[f32], n: usize| {
            let (own, theirs) = (&all[r * n..(r + 1) * n], &all[other * n..(other + 1) * n]);
            for ((o, &a), &b) in out.iter_mut().zip(own).zip(theirs) {
                *o = lambda * a + (1.0 - lambda) * b;
            }
        };
        blend(&mut x[r * width..(r + 1) * width], &x0, width);
        blend(&mut targets[r * classes..(r + 1) * classes], &t0, classes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize) -> Vec<f32> {
        (0..n).map(|i| 0.5 * (i as f32 * 0.05).sin()).collect()
    }

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
    }

    #[test]
    fn gain_scales_by_its_decibels() {
        let mut x = tone(1000);
        let before = rms(&x);
        gain(&mut x, -6.0);
        assert!((rms(&x) / before - 0.501).abs() < 1e-3);
    }

    #[test]
    fn noise_lands_at_its_snr() {
        let clean = tone(50_000);
        let mut noisy = clean.clone();
        add_noise(&mut noisy, 10.0, &mut Draw::new(3));
        let noise: Vec<f32> = noisy.iter().zip(&clean).map(|(a, b)| a - b).collect();
        let snr = 20.0 * (rms(&clean) / rms(&noise)).log10();
        assert!((snr - 10.0).abs() < 0.2, "SNR {snr:.2} dB");
    }

    #[test]
    fn reverberation_smears_an_impulse_and_keeps_the_level() {
        let mut click = vec![0.0f32; 8000];
        click[100] = 1.0;
        let wet = reverberate(&click, &room_response(0.3, 16_000, &mut Draw::new(1)));
        // The energy now continues well after the click...
        let tail: f64 = wet[1100..].iter().map(|&s| (s as f64).powi(2)).sum();
        assert!(tail > 0.01 * wet.iter().map(|&s| (s as f64).powi(2)).sum::<f64>());
        assert!(wet[..100].iter().all(|s| s.abs() < 1e-4), "nothing before the sound");
        // ...at the input's power.
        assert!((rms(&wet) / rms(&click) - 1.0).abs() < 1e-3);
    }

    #[test]
    fn speed_changes_the_length_through_the_resampler() {
        let x = tone(16_000);
        let faster = timnet::audio::resample(&x, speed_rate(16_000, 1.1), 16_000);
        assert!((faster.len() as f64 - 16_000.0 / 1.1).abs() < 2.0, "{}", faster.len());
    }

    #[test]
    fn offsets_stay_inside_the_recording_or_its_padding() {
        let mut draw = Draw::new(5);
        for _ in 0..200 {
            let long = random_offset(1000, 300, &mut draw);
            assert!((0..=700).contains(&long));
            let short = random_offset(100, 300, &mut draw);
            assert!((-200..=0).contains(&short));
        }
    }

    #[test]
    fn masks_zero_spans_of_frames_and_coefficients() {
        let (frames, coeffs) = (100, 39);
        let mut zeroed = 0;
        for seed in 0..20 {
            let mut f = vec![1.0f32; frames * coeffs];
            mask(&mut f, frames, coeffs, &mut Draw::new(seed));
            zeroed += f.iter().filter(|&&v| v == 0.0).count();
            // At most two tenths of the frames and four coefficients' worth.
            assert!(f.iter().filter(|&&v| v == 0.0).count() <= 2 * 11 * coeffs + 4 * frames);
        }
        assert!(zeroed > 0, "some draws mask something");
    }

    #[test]
    fn beta_draws_have_the_distributions_mean_and_spread() {
        let mut draw = Draw::new(3);
        for alpha in [0.4, 1.0, 4.0] {
            let xs: Vec<f64> = (0..20_000).map(|_| draw.beta(alpha)).collect();
            let mean = xs.iter().sum::<f64>() / xs.len() as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
            // Beta(α, α): mean ½, variance 1 / (4(2α + 1)).
            let want = 1.0 / (4.0 * (2.0 * alpha + 1.0));
            assert!((mean - 0.5).abs() < 0.01, "α {alpha}: mean {mean}");
            assert!((var - want).abs() < 0.1 * want, "α {alpha}: variance {var}, want {want}");
            assert!(xs.iter().all(|x| (0.0..=1.0).contains(x)));
        }
    }

    #[test]
    fn mixup_blends_each_row_mostly_with_itself_and_its_target_alike() {
        // Row r is the constant r + 1; targets are one-hot on the row's own class.
        let (rows, width, classes) = (4, 6, 4);
        let mut x: Vec<f32> = (0..rows).flat_map(|r| vec![r as f32 + 1.0; width]).collect();
        let mut t: Vec<f32> = (0..rows).flat_map(|r| (0..classes).map(move |k| f32::from(k == r))).collect();
        mixup(&mut x, &mut t, rows, 0.4, &mut Draw::new(11));
        for r in 0..rows {
            let row = &x[r * width..(r + 1) * width];
            assert!(row.iter().all(|&v| v == row[0]), "a row is blended as a whole");
            let target = &t[r * classes..(r + 1) * classes];
            assert!((target.iter().sum::<f32>() - 1.0).abs() < 1e-6, "targets still sum to 1");
            assert!(target[r] >= 0.5, "every row stays mostly itself: {target:?}");
            // The blended value is the targets' blend of the rows' values.
            let expected: f32 = target.iter().enumerate().map(|(k, w)| w * (k as f32 + 1.0)).sum();
            assert!((row[0] - expected).abs() < 1e-5, "row {r}: {} against {expected}", row[0]);
        }
        assert!(t.iter().filter(|&&w| w > 0.0 && w < 1.0).count() > 0, "something was mixed");
        // Off (α = 0) leaves the batch alone.
        let before = x.clone();
        mixup(&mut x, &mut t, rows, 0.0, &mut Draw::new(11));
        assert_eq!(x, before);
    }
}
