//! The features of a stream's newest clip, each STFT frame computed once as the audio arrives.
//!
//! A live recording is analysed many times a second, each time on its newest clip. Computed
//! whole, every update would transform the clip's every frame again (188 of them for 4.35 s),
//! though all but one or two were transformed for the update before. Here a frame that lies
//! wholly inside the stream is transformed once, when its last sample arrives; an update then
//! transforms only the few frames at the clip's two edges, which reach into the clip's zero
//! padding and so differ from the stream's. Clips start on the frame grid (every hop samples),
//! so that the clip's inner frames are the stream's. The answer equals [`FrontEnd::placed`] on
//! the same clip, bit for bit. The speech check's frames (`audio::speech`) are kept the same way,
//! on the same grid, so that the clip's verdict costs its last two frames.

use std::collections::VecDeque;

use super::spectrum::FrameBuffers;
use super::{Features, FrontEnd, Mfcc, frames_of};
use crate::audio::speech::{self, Frames, Verdict};

/// One STFT frame: its mel dB, and its cepstra with no floor, which stand for as long as no band
/// of the frame lies under the clip's floor; else those under the last floor asked for, which
/// stays as long as the clip's loudest frame does.
struct Frame {
    db: Vec<f64>,
    loudest: f64,
    quietest: f64,
    cepstra: Vec<f32>,
    floored: Option<(f64, Vec<f32>)>,
}

impl Frame {
    fn new(mfcc: &Mfcc, power: &[f32]) -> Self {
        let config = mfcc.config();
        let mut db = vec![0.0; config.n_mels];
        mfcc.mel_db(power, &mut db);
        let loudest = db.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        let quietest = db.iter().fold(f64::INFINITY, |a, &b| a.min(b));
        let mut cepstra = vec![0.0; config.n_mfcc];
        mfcc.cepstra(&db, f64::NEG_INFINITY, &mut cepstra);
        Self { db, loudest, quietest, cepstra, floored: None }
    }

    /// Its cepstra with every band raised to `floor` first.
    fn cepstra_above(&mut self, mfcc: &Mfcc, floor: f64) -> &[f32] {
        if self.quietest >= floor {
            return &self.cepstra;
        }
        if !matches!(&self.floored, Some((last, _)) if *last == floor) {
            let mut cepstra = vec![0.0; self.cepstra.len()];
            mfcc.cepstra(&self.db, floor, &mut cepstra);
            self.floored = Some((floor, cepstra));
        }
        self.floored.as_ref().map_or(&self.cepstra, |(_, cepstra)| cepstra)
    }
}

/// A stream of audio at the model rate and the features of its newest clip.
pub struct FeatureStream {
    front_end: FrontEnd,
    buffers: FrameBuffers,
    /// The stream's samples from `first` on.
    samples: Vec<f32>,
    first: usize,
    received: usize,
    /// Frames centred at `hop * k` for k from `first_frame` on, each whole inside the stream.
    frames: VecDeque<Frame>,
    first_frame: usize,
    transformed: usize,
    /// The speech check's frames of the whole stream.
    speech: Frames,
}

/// The newest clip of a stream: where it lies, its samples and their features.
pub struct Clip {
    /// Its first sample, counted from the stream's start.
    pub start: usize,
    pub samples: Vec<f32>,
    pub features: Features,
    /// Whether it holds speech, as `Frames::of(samples)` judges it.
    pub speech: Verdict,
}

impl FeatureStream {
    pub fn new(front_end: FrontEnd) -> Self {
        let buffers = front_end.mfcc.spectrum().buffers();
        let config = front_end.mfcc.config();
        // The first frame whole inside the stream: the ones before reach before its start.
        let first_frame = (config.n_fft / 2).div_ceil(config.hop_length);
        Self {
            front_end,
            buffers,
            samples: Vec::new(),
            first: 0,
            received: 0,
            frames: VecDeque::new(),
            first_frame,
            transformed: 0,
            speech: Frames::new(),
        }
    }

    pub fn front_end(&self) -> &FrontEnd {
        &self.front_end
    }

    /// Samples received so far.
    pub fn received(&self) -> usize {
        self.received
    }

    /// STFT frames transformed so far: what the stream saves shows here.
    pub fn transformed(&self) -> usize {
        self.transformed
    }

    /// The newest samples, at most a clip of them.
    pub fn recent(&self) -> &[f32] {
        &self.samples[self.samples.len().saturating_sub(self.front_end.clip_samples)..]
    }

    /// The stream's next samples: the frames they complete are transformed now.
    pub fn push(&mut self, samples: &[f32]) {
        self.samples.extend_from_slice(samples);
        self.received += samples.len();
        self.speech.push(samples);
        let (hop, half) = self.grid();
        let Self { front_end, buffers, samples, first, frames, first_frame, transformed, received, .. } = self;
        let spectrum = front_end.mfcc.spectrum();
        // Frame k, centred at hop*k, is whole once its last sample, hop*k + half - 1, is here.
        let mut next = *first_frame + frames.len();
        while next * hop + half <= *received {
            let origin = (next * hop - half) as isize - *first as isize;
            frames.push_back(Frame::new(&front_end.mfcc, spectrum.frame(samples, origin, buffers)));
            *transformed += 1;
            next += 1;
        }
        self.forget();
    }

    /// The newest whole clip starting on the frame grid (up to a hop older than the newest
    /// sample) and its features; `None` until a clip's worth has arrived.
    pub fn newest(&mut self) -> Option<Clip> {
        let start = self.newest_start()?;
        let (hop, half) = self.grid();
        let Self { front_end, buffers, samples, first, frames, first_frame, transformed, speech, .. } = self;
        let (mfcc, clip) = (&front_end.mfcc, front_end.clip_samples);
        let spectrum = mfcc.spectrum();
        let samples = samples[start - *first..start - *first + clip].to_vec();
        let speech = speech.judge_clip(start, &samples)?;
        let count = mfcc.config().frames_for(clip);
        // A frame whole inside the clip is the stream's; one that reaches into the clip's zero
        // padding is made anew.
        let mut made: Vec<Option<Frame>> = (0..count)
            .map(|t| {
                let inside = t * hop >= half && t * hop + half <= clip;
                (!inside).then(|| {
                    *transformed += 1;
                    Frame::new(mfcc, spectrum.frame(&samples, spectrum.origin(t), buffers))
                })
            })
            .collect();
        let inner = |t: usize| start / hop + t - *first_frame;
        // As `Mfcc::compute` does: the floor is relative to the clip's loudest band.
        let loudest = made
            .iter()
            .enumerate()
            .map(|(t, made)| made.as_ref().unwrap_or_else(|| &frames[inner(t)]).loudest)
            .fold(f64::NEG_INFINITY, f64::max);
        let floor = mfcc.floor(loudest);
        let n_mfcc = mfcc.config().n_mfcc;
        let mut data = vec![0.0f32; count * n_mfcc];
        for ((t, made), out) in made.iter_mut().enumerate().zip(data.chunks_exact_mut(n_mfcc)) {
            let row = match made {
                Some(frame) => frame,
                None => &mut frames[inner(t)],
            };
            out.copy_from_slice(row.cepstra_above(mfcc, floor));
        }
        let mut features = Features { frames: count, coeffs: n_mfcc, data };
        front_end.normalise(&mut features, frames_of(0..clip, hop, count));
        Some(Clip { start, samples, features, speech })
    }

    /// (hop, half the FFT).
    fn grid(&self) -> (usize, usize) {
        let config = self.front_end.mfcc.config();
        (config.hop_length, config.n_fft / 2)
    }

    /// Where the newest whole clip starts: on the frame grid, and on the speech check's.
    fn newest_start(&self) -> Option<usize> {
        let hop = self.grid().0;
        let step = hop / gcd(hop, speech::HOP) * speech::HOP;
        let free = self.received.checked_sub(self.front_end.clip_samples)?;
        Some(free / step * step)
    }

    /// Drops the samples and frames no later clip reaches, the samples a clip's worth at a
    /// time so that they are not moved on every push.
    fn forget(&mut self) {
        let Some(start) = self.newest_start() else { return };
        let (hop, half) = self.grid();
        // Later clips start at `start` or after, and the next frame to transform at
        // hop*next - half.
        let next = self.first_frame + self.frames.len();
        let keep_from = start.min((next * hop).saturating_sub(half));
        if keep_from.saturating_sub(self.first) >= self.front_end.clip_samples {
            self.samples.drain(..keep_from - self.first);
            self.first = keep_from;
        }
        // The frames inside later clips are centred at start + half or after.
        let needed = (start + half).div_ceil(hop);
        while self.first_frame < needed.min(next) {
            self.frames.pop_front();
            self.first_frame += 1;
        }
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{MfccConfig, Normalisation};

    /// A voice-like sound with a silent stretch and a faint one, so that some clips floor some
    /// of their frames (`top_db`) and others do not, and some hold speech and others do not.
    fn signal(len: usize) -> Vec<f32> {
        let voice = timnet_testkit::syllables(len as f32 / 22_050.0 + 1.0, 22_050, 140.0, 0.3);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        (0..len)
            .map(|i| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let noise = ((state >> 41) as f32 / (1u64 << 23) as f32 - 0.5) * 0.01;
                match (i / 11_025) % 7 {
                    3 => 0.0,
                    4..=6 => noise * 0.001,
                    _ => voice[i] + noise,
                }
            })
            .collect()
    }

    fn front_ends() -> Vec<FrontEnd> {
        let band = MfccConfig { fmax: Some(8_000.0), ..MfccConfig::default() };
        // A per-speaker model taught a voice: every clip normalised by the voice's statistics.
        let raw = FrontEnd::new(band.clone(), 66_150, Normalisation::None).placed(&signal(66_150), 0..66_150);
        let voice = crate::features::Standardiser::fit([(&raw.data[..], 0..raw.frames)], raw.coeffs, false);
        vec![
            FrontEnd::new(MfccConfig::default(), 22_050, Normalisation::None),
            FrontEnd::new(band.clone(), 66_150, Normalisation::PerUtterance),
            FrontEnd::new(band, 66_150, Normalisation::PerSpeaker).with_voice(Some(voice)),
            // A clip shorter than the FFT: no frame is ever whole inside it.
            FrontEnd::new(MfccConfig::default(), 1_500, Normalisation::None),
            // A finer grid than the speech check's: clips start where both meet.
            FrontEnd::new(
                MfccConfig { n_fft: 1_024, hop_length: 256, ..MfccConfig::default() },
                22_050,
                Normalisation::None,
            ),
        ]
    }

    #[test]
    fn the_newest_clip_has_the_front_ends_features_bit_for_bit() {
        let y = signal(8 * 22_050);
        for front_end in front_ends() {
            let clip = front_end.clip_samples;
            let mut stream = FeatureStream::new(front_end.clone());
            let (mut at, mut speech_seen) = (0, [false; 2]);
            // Chunks of every kind: single samples, a microphone's, about a hop, long ones.
            for step in [1, 470, 511, 512, 513, 4_096, 30_000, 7, 1_024].iter().cycle() {
                let end = (at + step).min(y.len());
                stream.push(&y[at..end]);
                at = end;
                assert_eq!(stream.recent(), &y[end.saturating_sub(clip)..end]);
                match stream.newest() {
                    None => assert!(end < clip, "no clip at {end}"),
                    Some(newest) => {
                        // On both grids (the speech check's hop is 512), at most a hop behind.
                        let hop = 512;
                        assert!(newest.start.is_multiple_of(hop) && end - (newest.start + clip) < hop, "at {end}");
                        assert_eq!(newest.samples, &y[newest.start..newest.start + clip]);
                        let whole = front_end.placed(&y[newest.start..newest.start + clip], 0..clip);
                        assert_eq!(newest.features, whole, "clip {clip} at {}", newest.start);
                        let alone = Frames::of(&newest.samples).judge(0..clip);
                        assert_eq!(newest.speech, alone, "clip {clip} at {}", newest.start);
                        speech_seen[alone.speech as usize] = true;
                    }
                }
                // What it holds stays bounded however long the stream.
                assert!(stream.samples.len() <= 2 * clip + 2 * 2_048 + step, "{} held", stream.samples.len());
                if end == y.len() {
                    break;
                }
            }
            // Clips of a second or more hold speech, some of a second not (the silent stretch);
            // 68 ms never do (too short to tell).
            let seen = [clip <= 22_050, clip >= 22_050];
            assert_eq!(speech_seen, seen, "clip {clip}");
        }
    }

    #[test]
    fn each_frame_inside_the_stream_is_transformed_once() {
        let y = signal(10 * 22_050);
        let front_end = FrontEnd::new(MfccConfig::default(), 66_150, Normalisation::PerUtterance);
        let (hop, half, clip) = (512, 1_024, front_end.clip_samples);
        let count = front_end.mfcc.config().frames_for(clip);
        let edges = (0..count).filter(|t| !(t * hop >= half && t * hop + half <= clip)).count();
        let mut stream = FeatureStream::new(front_end);
        let mut updates = 0;
        // A microphone's chunks at the model rate, an update after each.
        for chunk in y.chunks(470) {
            stream.push(chunk);
            updates += stream.newest().is_some() as usize;
        }
        let whole_in_stream = (y.len() - half) / hop + 1 - half / hop;
        assert_eq!(stream.transformed(), whole_in_stream + updates * edges);
        // Against each update's clip computed whole.
        assert!(stream.transformed() * 20 < updates * count, "{} of {}", stream.transformed(), updates * count);
    }
}
