//! The centred short-time power spectrum (librosa's `stft(center=True)` then `|X|²`).

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};
use rustfft::num_complex::Complex;

/// A planned STFT: Hann window, zero padding of `n_fft / 2` on both sides, hop `hop`.
#[derive(Clone)]
pub struct PowerSpectrum {
    n_fft: usize,
    hop: usize,
    window: Vec<f32>,
    fft: Arc<dyn RealToComplex<f32>>,
}

/// One frame's working memory, made once and reused for every frame of a signal.
pub struct FrameBuffers {
    input: Vec<f32>,
    output: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    power: Vec<f32>,
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

    pub fn buffers(&self) -> FrameBuffers {
        FrameBuffers {
            input: self.fft.make_input_vec(),
            output: self.fft.make_output_vec(),
            scratch: self.fft.make_scratch_vec(),
            power: vec![0.0; self.bins()],
        }
    }

    /// The power of the frame that covers `y[origin..origin + n_fft]`, zeros outside `y`:
    /// `bins()` values.
    pub fn frame<'b>(&self, y: &[f32], origin: isize, buffers: &'b mut FrameBuffers) -> &'b [f32] {
        for (i, slot) in buffers.input.iter_mut().enumerate() {
            let at = origin + i as isize;
            *slot = if at >= 0 && (at as usize) < y.len() { y[at as usize] * self.window[i] } else { 0.0 };
        }
        // Lengths are the plan's own, so the transform cannot fail.
        let _ = self.fft.process_with_scratch(&mut buffers.input, &mut buffers.output, &mut buffers.scratch);
        for (p, c) in buffers.power.iter_mut().zip(&buffers.output) {
            *p = Complex::norm_sqr(c);
        }
        &buffers.power
    }

    /// Where frame `t` of a centred STFT starts: it covers `y[t*hop - half .. t*hop + half]`.
    pub fn origin(&self, t: usize) -> isize {
        (t * self.hop) as isize - (self.n_fft / 2) as isize
    }

    /// Calls `each(frame, power)` for every frame, `power` holding `bins()` values.
    pub fn for_each_frame(&self, y: &[f32], mut each: impl FnMut(usize, &[f32])) {
        let frames = 1 + y.len() / self.hop;
        let mut buffers = self.buffers();
        for t in 0..frames {
            each(t, self.frame(y, self.origin(t), &mut buffers));
        }
    }
}
