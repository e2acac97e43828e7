//! The centred short-time power spectrum (librosa's `stft(center=True)` then `|X|²`).

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};
use rustfft::num_complex::Complex;

/// A planned STFT: Hann window, zero padding of `n_fft / 2` on both sides, hop `hop`.
pub struct PowerSpectrum {
    n_fft: usize,
    hop: usize,
    window: Vec<f32>,
    fft: Arc<dyn RealToComplex<f32>>,
}

impl PowerSpectrum {
    pub fn new(n_fft: usize, hop: usize) -> Self {
        // The periodic Hann window (scipy's `get_window("hann", n, fftbins=True)`).
        let window = (0..n_fft)
            .map(|n| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / n_fft as f64).cos()) as f32)
            .collect();
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n_fft);
        Self { n_fft, hop, window, fft }
    }

    pub fn bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Calls `each(frame, power)` for every frame, `power` holding `bins()` values.
    pub fn for_each_frame(&self, y: &[f32], mut each: impl FnMut(usize, &[f32])) {
        let half = self.n_fft / 2;
        let frames = 1 + y.len() / self.hop;
        let mut input = self.fft.make_input_vec();
        let mut output = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = vec![0.0f32; self.bins()];
        for t in 0..frames {
            // Frame t covers y[t*hop - half .. t*hop + half], zeros outside the signal.
            let origin = (t * self.hop) as isize - half as isize;
            for (i, slot) in input.iter_mut().enumerate() {
                let at = origin + i as isize;
                *slot = if at >= 0 && (at as usize) < y.len() { y[at as usize] * self.window[i] } else { 0.0 };
            }
            // Lengths are the plan's own, so the transform cannot fail.
            let _ = self.fft.process_with_scratch(&mut input, &mut output, &mut scratch);
            for (p, c) in power.iter_mut().zip(&output) {
                *p = Complex::norm_sqr(c);
            }
            each(t, &power);
        }
    }
}
