//! The Slaney mel scale and filterbank (librosa's `htk=False, norm="slaney"`).

const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

/// Hz to mels: linear below 1 kHz, logarithmic above.
pub fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ { MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / log_step() } else { hz / F_SP }
}

/// Mels to Hz, the inverse of [`hz_to_mel`].
pub fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL { MIN_LOG_HZ * (log_step() * (mel - MIN_LOG_MEL)).exp() } else { F_SP * mel }
}

/// One triangular filter: its first FFT bin and its weights from there on.
#[derive(Debug, Clone)]
pub struct MelFilter {
    pub start: usize,
    pub weights: Vec<f32>,
}

/// `n_mels` triangles spaced evenly in mels between `fmin` and `fmax`, each scaled to unit area
/// (Slaney normalisation), over the `1 + n_fft / 2` bins of a real FFT. Stored sparsely: a filter
/// touches only a few bins, which makes the mel projection cheap.
pub fn mel_filterbank(sample_rate: u32, n_fft: usize, n_mels: usize, fmin: f64, fmax: f64) -> Vec<MelFilter> {
    let n_bins = 1 + n_fft / 2;
    let bin_hz = |k: usize| k as f64 * sample_rate as f64 / n_fft as f64;
    let (lo, hi) = (hz_to_mel(fmin), hz_to_mel(fmax));
    let edges: Vec<f64> = (0..n_mels + 2).map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64)).collect();
    (0..n_mels)
        .map(|m| {
            let (left, centre, right) = (edges[m], edges[m + 1], edges[m + 2]);
            let area = 2.0 / (right - left);
            let dense: Vec<f32> = (0..n_bins)
                .map(|k| {
                    let f = bin_hz(k);
                    let rising = (f - left) / (centre - left);
                    let falling = (right - f) / (right - centre);
                    (rising.min(falling).max(0.0) * area) as f32
                })
                .collect();
            let start = dense.iter().position(|&w| w > 0.0).unwrap_or(0);
            let end = dense.iter().rposition(|&w| w > 0.0).map_or(start, |e| e + 1);
            MelFilter { start, weights: dense[start..end].to_vec() }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_round_trips_and_breaks_at_1khz() {
        for hz in [0.0, 300.0, 999.0, 1000.0, 4000.0, 11025.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9, "{hz}");
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(6400.0) - 42.0).abs() < 1e-12);
    }

    #[test]
    fn filters_cover_the_band_in_order() {
        let bank = mel_filterbank(22_050, 2048, 128, 0.0, 11_025.0);
        assert_eq!(bank.len(), 128);
        assert!(bank.windows(2).all(|w| w[0].start <= w[1].start));
        assert!(bank.iter().all(|f| !f.weights.is_empty() && f.weights.iter().all(|w| *w > 0.0)));
    }
}
