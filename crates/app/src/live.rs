//! The sliding window of a live recording: the newest clip-length stretch of audio, brought to
//! the model's rate by the shared resampler.

use timnet::audio::{MODEL_RATE, resample};

/// The newest stretch of a recording at `rate` that makes one clip at the model rate (all of
/// it while it is shorter): the only part a live update needs to copy.
pub fn latest_input(recorded: &[f32], rate: u32, clip_samples: usize) -> &[f32] {
    let needed = (clip_samples as f64 * rate as f64 / MODEL_RATE as f64).ceil() as usize;
    &recorded[recorded.len().saturating_sub(needed)..]
}

/// The newest `clip_samples` of a recording at `rate`, brought to the model rate, or
/// everything so far.
pub fn latest_window(recorded: &[f32], rate: u32, clip_samples: usize) -> Vec<f32> {
    resample(latest_input(recorded, rate, clip_samples), rate, MODEL_RATE)
}

/// Seconds of audio in `samples` at `rate`.
pub fn seconds(samples: usize, rate: u32) -> f32 {
    samples as f32 / rate.max(1) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn window_is_one_clip_at_the_model_rate() {
        let recorded = vec![0.1f32; 48_000 * 10];
        let w = latest_window(&recorded, 48_000, 96_000);
        assert!((w.len() as i64 - 96_000).abs() <= 1, "{}", w.len());
        let short = latest_window(&recorded[..4800], 48_000, 96_000);
        assert_eq!(short.len(), 2205);
    }
}
