//! The sliding window of a live recording: the newest clip-length stretch of audio at the
//! model's rate, kept up to date by resampling only what arrived since the last update (the
//! shared streaming resampler, so it equals resampling the recording whole).

use timnet::audio::{MODEL_RATE, Resampler};

/// The newest clip of a recording at the model rate.
pub struct LiveWindow {
    clip: usize,
    resampler: Resampler,
    /// Resampled audio, the newest clip at its end.
    window: Vec<f32>,
    /// Recorded samples taken so far (including those skipped at the start).
    taken: Option<usize>,
    /// Outputs made so far, counted from the recording's start.
    made: usize,
    needed: usize,
}

impl LiveWindow {
    /// For a recording at `rate` and a model whose clips are `clip` samples long.
    pub fn new(rate: u32, clip: usize) -> Self {
        // The recorded samples one clip needs, and a tenth of a second for the filter to settle.
        let needed = (clip as f64 * rate as f64 / MODEL_RATE as f64).ceil() as usize + rate as usize / 10;
        Self { clip, resampler: Resampler::new(rate, MODEL_RATE), window: Vec::new(), taken: None, made: 0, needed }
    }

    /// The clip length it keeps.
    pub fn clip(&self) -> usize {
        self.clip
    }

    /// Take what the recording gained since the last call; the newest clip (or all so far).
    pub fn update(&mut self, recorded: &[f32]) -> &[f32] {
        let taken = *self.taken.get_or_insert_with(|| {
            // A window started during a recording (another model picked) skips what no clip will
            // reach, from a point where its outputs line up with the whole recording's.
            let (inputs, outputs) = self.resampler.period();
            let skip = recorded.len().saturating_sub(self.needed) / inputs;
            self.made = skip * outputs;
            skip * inputs
        });
        let new = &recorded[taken.min(recorded.len())..];
        self.taken = Some(taken + new.len());
        let before = self.window.len();
        self.resampler.push(new, &mut self.window);
        self.made += self.window.len() - before;
        // Dropped in steps of a clip, so that the window is not moved on every update.
        if self.window.len() > 2 * self.clip {
            self.window.drain(..self.window.len() - self.clip);
        }
        &self.window[self.window.len().saturating_sub(self.clip)..]
    }

    /// Samples at the model rate made so far, counted from the recording's start: the window
    /// ends there.
    pub fn made(&self) -> usize {
        self.made
    }
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
    fn the_window_is_the_newest_clip_of_the_whole_recording_resampled() {
        let rate = 48_000;
        let recorded: Vec<f32> = (0..rate as usize * 6).map(|i| (i as f32 * 0.013).sin() * 0.5).collect();
        let whole = timnet::audio::resample(&recorded, rate, MODEL_RATE);
        let clip = 22_050;
        // From the start, and started 4 s into the recording (as when another model is picked).
        for first in [0, 4 * rate as usize] {
            let mut live = LiveWindow::new(rate, clip);
            let mut upto = first;
            // Updates of uneven sizes, as a microphone's chunks and timer ticks give them.
            for step in [100, 2_000, 1_919, 30_000, 48_000, 7, 96_000, 60_000].iter().cycle() {
                upto = (upto + step).min(recorded.len());
                let window = live.update(&recorded[..upto]).to_vec();
                let end = live.made();
                assert!(window.len() <= clip && end <= whole.len());
                let expected = &whole[end - window.len()..end];
                let worst = window.iter().zip(expected).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
                assert!(worst <= 1e-6, "from {first}, at {upto}: {worst}");
                if upto == recorded.len() {
                    break;
                }
            }
            assert_eq!(live.update(&recorded).len(), clip);
        }
    }
}
