//! Audio in: bytes → samples → mono → 22,050 Hz → the corpus length.
//!
//! Each step is a small function so that the trainer, the CLI and the page share one path:
//! [`decode`] (any container symphonia reads), [`to_mono`] (channel mean, as librosa),
//! [`resample`] (resampy's `kaiser_best`, the resampler the paper's features were made with)
//! and [`fit_length`] (centre pad/crop, as the official code does before the MFCC).

#[cfg(feature = "formats")]
mod alac_cookie;
mod decode;
mod error;
#[cfg(not(target_arch = "wasm32"))]
mod guard;
mod length;
#[cfg(feature = "formats")]
mod many_channels;
mod ogg;
mod ogg_chain;
#[cfg(feature = "formats")]
mod opus;
mod prepare;
mod probe;
mod resample;
#[cfg(feature = "formats")]
mod rewrap;
mod signature;
pub mod speech;
mod tags;
mod vorbis_setup;
mod wav;

pub use decode::{Decoded, decode, decode_with};
pub use error::AudioError;
pub use length::{fit_length, fit_length_placed, place};
pub use prepare::{Preparer, prepare, prepare_samples, prepare_with};
pub use resample::{KAISER_BEST, KAISER_BEST_V022, Resampler, SincFilter, resample, resample_with};
pub use wav::encode_wav;

/// The rate every feature is computed at (librosa's default, and the paper's).
pub const MODEL_RATE: u32 = 22_050;

/// Rates a file may have: below 1 kHz no speech survives, and 768 kHz is the highest any
/// recorder or browser uses. Outside them a header is lying, and resampling would take minutes.
pub const SOURCE_RATES: std::ops::RangeInclusive<u32> = 1_000..=768_000;

/// A peak below -60 dBFS holds no audible speech.
pub(crate) const SILENCE_PEAK: f32 = 1e-3;

/// Below this many seconds an answer is flagged as doubtful: there is little speech to hear.
pub const SHORT_CLIP_SECONDS: f32 = 0.5;

/// A voice-like test signal for benchmarks: `seconds` of a tone gliding around 180 Hz at `rate`
/// (the browser benchmarks time 4.35 s of it from 16 kHz, and one clip of the model).
pub fn gliding_tone(seconds: f32, rate: u32) -> Vec<f32> {
    (0..(seconds * rate as f32).round() as usize)
        .map(|i| {
            let t = i as f32 / rate as f32;
            0.3 * (2.0 * std::f32::consts::PI * (180.0 + 40.0 * (3.0 * t).sin()) * t).sin()
        })
        .collect()
}

/// Average interleaved channels into one (librosa's `to_mono`).
pub fn to_mono(interleaved: &[f32], channels: usize) -> Vec<f32> {
    if channels <= 1 {
        return interleaved.to_vec();
    }
    // Summed in f64: channels near f32's largest value would add up to infinity in f32.
    let scale = 1.0 / channels as f64;
    interleaved
        .chunks_exact(channels)
        .map(|frame| (frame.iter().map(|&s| s as f64).sum::<f64>() * scale) as f32)
        .collect()
}

/// Mono audio at [`MODEL_RATE`], ready for the MFCC, and what a person should know about it.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub samples: Vec<f32>,
    /// The rate and channel count the file had.
    pub source_rate: u32,
    pub source_channels: usize,
    /// Plain-language remarks on input that was analysed but may give a doubtful answer.
    pub notes: Vec<String>,
}

impl Prepared {
    pub fn seconds(&self) -> f32 {
        self.samples.len() as f32 / MODEL_RATE as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mono_is_the_channel_mean() {
        assert_eq!(to_mono(&[1.0, 3.0, -2.0, 0.0], 2), vec![2.0, -1.0]);
        assert_eq!(to_mono(&[0.5, 0.25], 1), vec![0.5, 0.25]);
        assert_eq!(to_mono(&[f32::MAX, f32::MAX], 2), vec![f32::MAX]);
    }

    #[test]
    fn odd_input_gets_errors_in_words() {
        let nan = prepare_samples(&[0.0, f32::NAN, 0.1], 1, 16_000).unwrap_err();
        assert!(nan.to_string().contains("NaN"), "{nan}");
        let inf = prepare_samples(&[0.0, 0.0, f32::INFINITY, 0.0], 2, 16_000).unwrap_err();
        assert!(matches!(inf, AudioError::InfiniteSamples { position: 1 }), "{inf}");
        let one = prepare_samples(&[0.1], 1, 16_000).unwrap_err();
        assert!(one.to_string().contains("1 sample"), "{one}");
        assert!(prepare_samples(&[], 1, 16_000).is_err());
        assert!(prepare_samples(&[0.0; 8], 0, 16_000).is_err());
        assert!(prepare_samples(&[0.0; 8], 1, 0).is_err());
        let slow = prepare_samples(&[0.0; 8], 1, 1).unwrap_err();
        assert!(slow.to_string().contains("1 Hz is not usable"), "{slow}");
        assert!(prepare_samples(&[0.0; 8], 1, 768_000).is_ok());
        assert!(prepare_samples(&[0.0; 8], 1, 768_001).is_err());
    }

    #[test]
    fn short_and_silent_clips_are_analysed_with_notes() {
        let short = prepare_samples(&[0.1, -0.1, 0.2], 1, 8_000).unwrap();
        assert!(short.notes.iter().any(|n| n.contains("doubtful")), "{:?}", short.notes);
        let silent = prepare_samples(&vec![0.0; 22_050], 1, 22_050).unwrap();
        assert!(silent.notes.iter().any(|n| n.contains("No speech detected")), "{:?}", silent.notes);
        assert_eq!(silent.samples.len(), 22_050);
        let loud = prepare_samples(&[0.5, 3.0e38, -2.0, 0.25], 1, 8_000).unwrap();
        // Clipped to full scale before resampling, which may ring a little past it.
        assert!(loud.samples.iter().all(|s| s.abs() < 2.0), "{:?}", loud.samples);
        assert!(loud.notes.iter().any(|n| n.contains("beyond full scale (peak 3.000e38)")), "{:?}", loud.notes);
    }
}
