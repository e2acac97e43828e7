//! MFCC features exactly as `librosa.feature.mfcc(y, sr=22050, n_mfcc=39)` computes them.
//!
//! The chain, one file a step: [`spectrum`] (centred STFT power, Hann window) → [`mel`]
//! (Slaney filterbank) → dB with an 80 dB floor → DCT-II ([`mfcc`]). Every default is named
//! once, in [`MfccConfig`]; the filterbank, window, DCT and FFT plan are built once per config.

mod mel;
mod mfcc;
mod spectrum;

pub use mel::{hz_to_mel, mel_filterbank, mel_to_hz};
pub use mfcc::{Features, Mfcc};

use serde::{Deserialize, Serialize};

/// librosa's MFCC parameters; `Default` is what TIM-Net's code used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MfccConfig {
    pub sample_rate: u32,
    /// Coefficients kept after the DCT.
    pub n_mfcc: usize,
    pub n_fft: usize,
    pub hop_length: usize,
    pub n_mels: usize,
    pub fmin: f32,
    /// Upper edge of the filterbank; `None` is the Nyquist rate.
    pub fmax: Option<f32>,
    /// Floor below the loudest bin of the utterance, in dB.
    pub top_db: Option<f32>,
    /// Power below which the spectrum is clamped before the logarithm.
    pub amin: f32,
}

impl Default for MfccConfig {
    fn default() -> Self {
        Self {
            sample_rate: crate::audio::MODEL_RATE,
            n_mfcc: 39,
            n_fft: 2048,
            hop_length: 512,
            n_mels: 128,
            fmin: 0.0,
            fmax: None,
            top_db: Some(80.0),
            amin: 1e-10,
        }
    }
}

impl MfccConfig {
    /// Frames the centred STFT yields for `samples` samples.
    pub fn frames_for(&self, samples: usize) -> usize {
        1 + samples / self.hop_length
    }
}
