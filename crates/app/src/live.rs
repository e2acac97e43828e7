//! The sliding window of a live recording: the newest clip at the model's rate and its
//! features, kept up to date by doing only new work on each update. What the recording gained
//! is resampled (the shared streaming resampler, so it equals resampling the recording whole),
//! and the STFT frames it completes are transformed once (`timnet::features::FeatureStream`,
//! which equals the front end on the clip).

use timnet::audio::{MODEL_RATE, Resampler};
use timnet::features::{Clip, FeatureStream, FrontEnd};

/// The newest clip of a recording at the model rate, and its features.
pub struct LiveWindow {
    resampler: Resampler,
    stream: FeatureStream,
    /// Recorded samples taken so far (including those skipped at the start).
    taken: Option<usize>,
    /// Outputs skipped at the start: the stream's first sample is this one of the recording's.
    skipped: usize,
    needed: usize,
    resampled: Vec<f32>,
}

/// What a live recording has to analyse now.
pub enum Newest {
    /// Less than a clip so far: all of it, to be analysed padded.
    Short(Vec<f32>),
    /// The newest whole clip, its features made; its start counted from the recording's.
    Clip(Clip),
}

impl LiveWindow {
    /// For a recording at `rate` and a model with `front_end`.
    pub fn new(rate: u32, front_end: FrontEnd) -> Self {
        // The recorded samples one clip needs, and a tenth of a second for the filter to settle.
        let clip = front_end.clip_samples;
        let needed = (clip as f64 * rate as f64 / MODEL_RATE as f64).ceil() as usize + rate as usize / 10;
        Self {
            resampler: Resampler::new(rate, MODEL_RATE),
            stream: FeatureStream::new(front_end),
            taken: None,
            skipped: 0,
            needed,
            resampled: Vec::new(),
        }
    }

    /// The front end its features are made by.
    pub fn front_end(&self) -> &FrontEnd {
        self.stream.front_end()
    }

    /// Take what the recording gained since the last call; what there is to analyse now.
    pub fn update(&mut self, recorded: &[f32]) -> Newest {
        let taken = *self.taken.get_or_insert_with(|| {
            // A window started during a recording (another model picked) skips what no clip will
            // reach, from a point where its outputs line up with the whole recording's.
            let (inputs, outputs) = self.resampler.period();
            let skip = recorded.len().saturating_sub(self.needed) / inputs;
            self.skipped = skip * outputs;
            skip * inputs
        });
        let new = &recorded[taken.min(recorded.len())..];
        self.taken = Some(taken + new.len());
        self.resampled.clear();
        self.resampler.push(new, &mut self.resampled);
        // Within full scale, as `timnet::audio::prepare` makes every recording.
        self.resampled.iter_mut().for_each(|s| *s = s.clamp(-1.0, 1.0));
        self.stream.push(&self.resampled);
        match self.stream.newest() {
            Some(clip) => Newest::Clip(Clip { start: self.skipped + clip.start, ..clip }),
            None => Newest::Short(self.stream.recent().to_vec()),
        }
    }

    /// Samples at the model rate made so far, counted from the recording's start.
    pub fn made(&self) -> usize {
        self.skipped + self.stream.received()
    }
}

/// Seconds of audio in `samples` at `rate`.
pub fn seconds(samples: usize, rate: u32) -> f32 {
    samples as f32 / rate.max(1) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use timnet::features::{MfccConfig, Normalisation};

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn the_window_is_the_newest_clip_of_the_whole_recording_resampled() {
        let rate = 48_000;
        let recorded: Vec<f32> = (0..rate as usize * 6).map(|i| (i as f32 * 0.013).sin() * 0.5).collect();
        let whole = timnet::audio::resample(&recorded, rate, MODEL_RATE);
        let clip = 22_050;
        let (front_end, hop) = (|| FrontEnd::new(MfccConfig::default(), clip, Normalisation::PerUtterance), 512);
        // From the start, and started 4 s into the recording (as when another model is picked).
        for first in [0, 4 * rate as usize] {
            let mut live = LiveWindow::new(rate, front_end());
            let mut upto = first;
            let mut clips = 0;
            // Updates of uneven sizes, as a microphone's chunks and timer ticks give them.
            for step in [100, 2_000, 1_919, 30_000, 48_000, 7, 96_000, 60_000].iter().cycle() {
                upto = (upto + step).min(recorded.len());
                let newest = live.update(&recorded[..upto]);
                let end = live.made();
                assert!(end <= whole.len());
                let (samples, start) = match newest {
                    Newest::Short(samples) => {
                        assert!(samples.len() < clip);
                        let start = end - samples.len();
                        (samples, start)
                    }
                    Newest::Clip(newest) => {
                        // The newest clip on the frame grid, with the front end's features.
                        assert!(newest.samples.len() == clip && end - (newest.start + clip) < hop);
                        assert_eq!(newest.features, front_end().placed(&newest.samples, 0..clip));
                        clips += 1;
                        (newest.samples, newest.start)
                    }
                };
                let expected = &whole[start..start + samples.len()];
                let worst = samples.iter().zip(expected).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
                assert!(worst <= 1e-6, "from {first}, at {upto}: {worst}");
                if upto == recorded.len() {
                    break;
                }
            }
            assert!(clips >= 5, "from {first}: {clips} clips");
            assert!(matches!(live.update(&recorded), Newest::Clip(_)));
        }
    }
}
