use super::MfccConfig;
use super::mel::{MelFilter, mel_filterbank};
use super::spectrum::PowerSpectrum;

/// A [frames, coefficients] matrix, row-major: one row per STFT frame (the model's time axis).
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    pub frames: usize,
    pub coeffs: usize,
    pub data: Vec<f32>,
}

impl Features {
    pub fn row(&self, frame: usize) -> &[f32] {
        &self.data[frame * self.coeffs..(frame + 1) * self.coeffs]
    }
}

/// The MFCC front end, planned once for a [`MfccConfig`] and reused for every clip.
#[derive(Clone)]
pub struct Mfcc {
    config: MfccConfig,
    spectrum: PowerSpectrum,
    filters: Vec<MelFilter>,
    /// Orthonormal DCT-II rows, `n_mfcc` x `n_mels`.
    dct: Vec<f32>,
}

impl Mfcc {
    pub fn new(config: MfccConfig) -> Self {
        let fmax = config.fmax.unwrap_or(config.sample_rate as f32 / 2.0) as f64;
        let filters = mel_filterbank(config.sample_rate, config.n_fft, config.n_mels, config.fmin as f64, fmax);
        let dct = dct_ortho(config.n_mfcc, config.n_mels);
        let spectrum = PowerSpectrum::new(config.n_fft, config.hop_length);
        Self { config, spectrum, filters, dct }
    }

    pub fn config(&self) -> &MfccConfig {
        &self.config
    }

    /// MFCCs of the whole signal (`y` at the config's rate).
    pub fn compute(&self, y: &[f32]) -> Features {
        let n_mels = self.config.n_mels;
        let frames = self.config.frames_for(y.len());
        // Mel power in dB, [frames, n_mels].
        let mut db = vec![0.0f64; frames * n_mels];
        self.spectrum.for_each_frame(y, |t, power| self.mel_db(power, &mut db[t * n_mels..(t + 1) * n_mels]));
        let floor = self.floor(db.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b)));
        let n_mfcc = self.config.n_mfcc;
        let mut data = vec![0.0f32; frames * n_mfcc];
        for (row, out) in db.chunks_exact(n_mels).zip(data.chunks_exact_mut(n_mfcc)) {
            self.cepstra(row, floor, out);
        }
        Features { frames, coeffs: n_mfcc, data }
    }

    /// The planned STFT.
    pub(super) fn spectrum(&self) -> &PowerSpectrum {
        &self.spectrum
    }

    /// One frame's mel band powers in dB (`n_mels` of them), before the utterance's floor.
    pub(super) fn mel_db(&self, power: &[f32], out: &mut [f64]) {
        let amin = self.config.amin as f64;
        for (filter, db) in self.filters.iter().zip(out) {
            let bins = &power[filter.start..filter.start + filter.weights.len()];
            let energy: f32 = bins.iter().zip(&filter.weights).map(|(p, w)| p * w).sum();
            *db = 10.0 * (energy as f64).max(amin).log10();
        }
    }

    /// The floor under every band of an utterance whose loudest band is at `loudest` dB: relative
    /// to it (`top_db` below), or none (negative infinity).
    pub(super) fn floor(&self, loudest: f64) -> f64 {
        self.config.top_db.map_or(f64::NEG_INFINITY, |top_db| loudest - top_db as f64)
    }

    /// One frame's `n_mfcc` coefficients from its mel dB, each band raised to `floor` first.
    pub(super) fn cepstra(&self, db: &[f64], floor: f64, out: &mut [f32]) {
        let n_mels = self.config.n_mels;
        for (k, o) in out.iter_mut().enumerate() {
            let basis = &self.dct[k * n_mels..(k + 1) * n_mels];
            *o = basis.iter().zip(db).map(|(b, v)| *b as f64 * v.max(floor)).sum::<f64>() as f32;
        }
    }
}

impl Default for Mfcc {
    fn default() -> Self {
        Self::new(MfccConfig::default())
    }
}

/// Rows of the orthonormal DCT-II (scipy's `dct(type=2, norm="ortho")`).
fn dct_ortho(n_out: usize, n_in: usize) -> Vec<f32> {
    let mut basis = Vec::with_capacity(n_out * n_in);
    for k in 0..n_out {
        let scale = if k == 0 { (1.0 / n_in as f64).sqrt() } else { (2.0 / n_in as f64).sqrt() };
        for n in 0..n_in {
            let angle = std::f64::consts::PI * k as f64 * (2 * n + 1) as f64 / (2 * n_in) as f64;
            basis.push((scale * angle.cos()) as f32);
        }
    }
    basis
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_count_is_one_plus_len_over_hop() {
        let mfcc = Mfcc::default();
        assert_eq!(mfcc.compute(&vec![0.0; 96_000]).frames, 188);
        assert_eq!(mfcc.compute(&vec![0.0; 44_100]).frames, 87);
        assert_eq!(mfcc.compute(&[0.0, 0.0]).frames, 1);
    }

    #[test]
    fn dct_rows_are_orthonormal() {
        let d = dct_ortho(39, 128);
        for a in 0..39 {
            for b in 0..39 {
                let dot: f32 = (0..128).map(|n| d[a * 128 + n] * d[b * 128 + n]).sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-5, "rows {a},{b}: {dot}");
            }
        }
    }

    #[test]
    fn silence_is_the_floor_everywhere() {
        // All bins at amin: -100 dB in every band, so only c0 is non-zero.
        let f = Mfcc::default().compute(&vec![0.0; 4096]);
        let c0 = -100.0 * (128.0f32).sqrt();
        for t in 0..f.frames {
            assert!((f.row(t)[0] - c0).abs() < 1e-3);
            assert!(f.row(t)[1..].iter().all(|c| c.abs() < 1e-3));
        }
    }
}
