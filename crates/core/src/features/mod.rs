//! MFCC features exactly as `librosa.feature.mfcc(y, sr=22050, n_mfcc=39)` computes them.
//!
//! The chain, one file a step: [`spectrum`] (centred STFT power, Hann window) → [`mel`]
//! (Slaney filterbank) → dB with an 80 dB floor → DCT-II ([`mfcc`]). Every default is named
//! once, in [`MfccConfig`]; the filterbank, window, DCT and FFT plan are built once per config.
//! [`FeatureStream`] gives the same features for the newest clip of a live stream, transforming
//! each frame once.

mod mel;
mod mfcc;
mod normalise;
mod spectrum;
mod stream;

pub use mel::{hz_to_mel, mel_filterbank, mel_to_hz};
pub use mfcc::{Features, Mfcc};
use normalise::own_frames;
pub use normalise::{Normalisation, Standardiser, frames_of};
pub use stream::{Clip, FeatureStream};

/// Audio at the model rate → the model's input, one clip at a time: fit to the clip length,
/// MFCC, normalisation. The one path of training, evaluation, the CLI and the page.
#[derive(Clone)]
pub struct FrontEnd {
    pub mfcc: Mfcc,
    pub clip_samples: usize,
    pub normalisation: Normalisation,
    /// The statistics of the one voice a per-speaker model was taught: every recording is
    /// normalised by them rather than by itself.
    pub voice: Option<Standardiser>,
}

impl FrontEnd {
    pub fn new(config: MfccConfig, clip_samples: usize, normalisation: Normalisation) -> Self {
        Self { mfcc: Mfcc::new(config), clip_samples, normalisation, voice: None }
    }

    /// The same front end, normalising by `voice` where its normalisation is per speaker.
    pub fn with_voice(self, voice: Option<Standardiser>) -> Self {
        Self { voice, ..self }
    }

    /// Normalise `features`, whose own frames (the rest is padding) are `recording`.
    pub fn normalise(&self, features: &mut Features, recording: std::ops::Range<usize>) {
        match &self.voice {
            Some(voice) if self.normalisation == Normalisation::PerSpeaker && features.frames > 0 => {
                voice.apply(&mut features.data, own_frames(features.frames, recording));
            }
            _ => self.normalisation.apply(features, recording),
        }
    }

    /// The features of a recording centre-fitted to one clip.
    pub fn clip(&self, samples: &[f32]) -> Features {
        self.clip_and_own(samples).0
    }

    /// The same, with the frames that hold the recording's own samples.
    pub fn clip_and_own(&self, samples: &[f32]) -> (Features, std::ops::Range<usize>) {
        let (clip, own) = crate::audio::fit_length_placed(samples, self.clip_samples);
        self.placed_and_own(&clip, own)
    }

    /// The features of a clip whose own samples lie at `own` (the rest is padding).
    pub fn placed(&self, clip: &[f32], own: std::ops::Range<usize>) -> Features {
        self.placed_and_own(clip, own).0
    }

    /// The same, with the frames that hold the clip's own samples: those its normalisation
    /// reads, and those a speaker's statistics are pooled over ([`Standardiser`]).
    pub fn placed_and_own(&self, clip: &[f32], own: std::ops::Range<usize>) -> (Features, std::ops::Range<usize>) {
        let mut features = self.mfcc.compute(clip);
        let frames = own_frames(features.frames, frames_of(own, self.mfcc.config().hop_length, features.frames));
        self.normalise(&mut features, frames.clone());
        (features, frames)
    }
}

/// Two front ends are the same when their settings are: they give the same features.
impl PartialEq for FrontEnd {
    fn eq(&self, other: &Self) -> bool {
        (self.mfcc.config(), self.clip_samples, self.normalisation, &self.voice)
            == (other.mfcc.config(), other.clip_samples, other.normalisation, &other.voice)
    }
}

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

/// The largest FFT a front end may ask for (the paper's is 2,048).
pub const MAX_FFT: usize = 16_384;
/// The most STFT frames a front end may take from a second of audio (the paper's: 43).
pub const MAX_FRAMES_PER_SECOND: usize = 1_000;
/// The most frames a sample may fall in, FFT size over hop (the paper's: 4).
pub const MAX_OVERLAP: usize = 16;

impl MfccConfig {
    /// What the front end can compute, in words where it cannot: the page reads this config
    /// from a downloaded sidecar, so nothing in it may divide by zero or allocate without bound.
    pub fn validate(&self) -> Result<(), String> {
        if self.sample_rate != crate::audio::MODEL_RATE {
            return Err(format!(
                "features at {} Hz; audio is always resampled to {} Hz",
                self.sample_rate,
                crate::audio::MODEL_RATE
            ));
        }
        if !(16..=MAX_FFT).contains(&self.n_fft) || !(1..=self.n_fft).contains(&self.hop_length) {
            return Err(format!(
                "an FFT of {} with a hop of {}; 16 to {MAX_FFT} and 1 to the FFT size",
                self.n_fft, self.hop_length
            ));
        }
        // Settings that load but would make every second of audio cost minutes: bounded by the
        // work they ask for, with room far beyond the paper's 43 frames of 2,048 a second.
        let per_second = self.sample_rate as usize / self.hop_length;
        if per_second > MAX_FRAMES_PER_SECOND {
            return Err(format!(
                "a hop of {} gives {per_second} frames a second; at most {MAX_FRAMES_PER_SECOND} (a hop of at least {})",
                self.hop_length,
                (self.sample_rate as usize).div_ceil(MAX_FRAMES_PER_SECOND)
            ));
        }
        if self.n_fft > MAX_OVERLAP * self.hop_length {
            return Err(format!(
                "an FFT of {} with a hop of {} reads each sample {} times; at most {MAX_OVERLAP}",
                self.n_fft,
                self.hop_length,
                self.n_fft.div_ceil(self.hop_length)
            ));
        }
        if !(1..=self.n_mels).contains(&self.n_mfcc) || self.n_mels > 1024 {
            return Err(format!(
                "{} MFCCs from {} mel bands; 1 to the bands, at most 1,024 bands",
                self.n_mfcc, self.n_mels
            ));
        }
        let nyquist = self.sample_rate as f32 / 2.0;
        let fmax = self.fmax.unwrap_or(nyquist);
        if !(self.fmin >= 0.0 && self.fmin < fmax && fmax <= nyquist) {
            return Err(format!("a filterbank from {} to {fmax} Hz; it must rise within 0 to {nyquist} Hz", self.fmin));
        }
        if !(self.amin > 0.0 && self.amin.is_finite()) || self.top_db.is_some_and(|db| !(db >= 0.0 && db.is_finite())) {
            return Err(format!("amin {} and top_db {:?}; both must be positive", self.amin, self.top_db));
        }
        Ok(())
    }

    /// Frames the centred STFT yields for `samples` samples.
    pub fn frames_for(&self, samples: usize) -> usize {
        1 + samples / self.hop_length
    }
}
