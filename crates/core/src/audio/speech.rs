//! Speech or not: is there a voice in this stretch of audio, or only a click, a tone, noise,
//! hum or music-like sound that the network would still give a confident emotion?
//!
//! How it decides. The audio (at [`MODEL_RATE`]) is cut into 46 ms frames every 23 ms; each
//! frame gets three numbers:
//! - its level (RMS, dBFS);
//! - its periodicity: the highest peak of its normalised autocorrelation at lags of a voice's
//!   pitch, 60 to 400 Hz (1 for a perfectly periodic frame, near 0 for noise or a click);
//! - its tone share: the part of its power (50 Hz to 5 kHz) in the one strongest spectral
//!   peak. A voice spreads its power over several harmonics; a sine puts nearly all of it in one.
//!
//! A frame is *voiced* when it is loud (within [`ACTIVE_RANGE_DB`] of the stretch's loudest
//! frame, and above [`FLOOR_DB`]), periodic ([`MIN_PERIODICITY`]) and not a lone sinusoid
//! ([`MAX_TONE_SHARE`]). A stretch holds speech when it has at least [`MIN_VOICED_SECONDS`]
//! of voiced frames, at least a quarter as many as its loud periodic frames that are lone
//! sinusoids (a beeping tone voices only its edges; a voice with a strong fundamental has
//! many such frames too, hence only a quarter), *and* its level rises and falls as syllables do: the spread between its loud and quiet
//! frames is at least [`MIN_SPREAD_DB`].
//!
//! Why these rules: noise and clicks are not periodic; tones are periodic but put their power
//! in one peak; steady chords, hum and tones with vibrato are periodic and harmonic but keep
//! their level, while speech comes in syllables with gaps and consonants between them. Each
//! rule is cheap (two FFTs a frame, no state), so the same code runs natively and in the page.
//! Its limits: a melody of harmonic notes with gaps between them can pass for speech; the
//! measured misses and false alarms are in docs/reliability.md ("Speech or not").

use std::ops::Range;
use std::sync::Arc;

use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::num_complex::Complex;

use super::MODEL_RATE;

/// Samples per frame (46 ms): two periods of the lowest pitch looked for fit in it.
pub const FRAME: usize = 1024;
/// Samples between frames (23 ms).
pub const HOP: usize = 512;
/// The FFT length: twice the frame, so that the autocorrelation does not wrap around.
const FFT: usize = 2 * FRAME;

/// The pitch range of voices, in Hz.
pub const PITCH_HZ: Range<f32> = 60.0..400.0;
/// Frames quieter than this (RMS) are silence, whatever the recording's level.
pub const FLOOR_DB: f32 = -60.0;
/// Frames more than this below the stretch's loudest frame are background.
pub const ACTIVE_RANGE_DB: f32 = 30.0;
/// A voiced frame's normalised autocorrelation peak reaches at least this.
pub const MIN_PERIODICITY: f32 = 0.5;
/// A voiced frame puts less than this share of its power in its strongest peak.
pub const MAX_TONE_SHARE: f32 = 0.9;
/// A stretch with speech has at most this many lone-sinusoid frames per voiced frame.
pub const TONAL_PER_VOICED: usize = 4;
/// A stretch with speech has at least this much voiced sound.
pub const MIN_VOICED_SECONDS: f32 = 0.12;
/// Between the 90th and the 10th percentile of its frame levels, a stretch with speech spans
/// at least this many dB.
pub const MIN_SPREAD_DB: f32 = 12.0;

/// What one frame sounds like.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub level_db: f32,
    pub periodicity: f32,
    pub tone_share: f32,
}

/// The verdict on a stretch of audio, with the figures it rests on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    pub speech: bool,
    pub voiced_seconds: f32,
    pub spread_db: f32,
    /// Frames that were loud and periodic but put their power in one peak.
    pub tonal_frames: usize,
    pub loudest_db: f32,
}

impl Verdict {
    /// Why a stretch without speech was judged so, in words.
    pub fn reason(&self) -> &'static str {
        if self.speech {
            "it holds speech"
        } else if self.loudest_db < FLOOR_DB {
            "the audio is silent or nearly so"
        } else if self.tonal_frames as f32 * HOP as f32 / MODEL_RATE as f32
            > self.voiced_seconds * TONAL_PER_VOICED as f32
        {
            "the sound is a pure tone, not a voice"
        } else if self.voiced_seconds < MIN_VOICED_SECONDS {
            "nothing in it is voiced (it sounds like noise, clicks or silence)"
        } else {
            "its sound is steady, without the rise and fall of syllables (like a tone, a chord or hum)"
        }
    }
}

/// The frames of a recording, computed once as its audio arrives and judged stretch by
/// stretch. It keeps a frame's worth of samples, and three numbers a frame.
pub struct Frames {
    frames: Vec<Frame>,
    analyser: FrameAnalyser,
    /// Samples from the next frame's start on.
    pending: Vec<f32>,
    received: usize,
}

impl Frames {
    /// Frames of `samples` at [`MODEL_RATE`]; the last partial frames are zero-padded.
    pub fn of(samples: &[f32]) -> Self {
        let mut frames = Self::new();
        frames.push(samples);
        frames.finish();
        frames
    }

    pub fn new() -> Self {
        Self { frames: Vec::new(), analyser: FrameAnalyser::new(), pending: Vec::new(), received: 0 }
    }

    /// The next samples: every frame they complete is computed.
    pub fn push(&mut self, samples: &[f32]) {
        self.pending.extend_from_slice(samples);
        self.received += samples.len();
        let mut at = 0;
        while at + FRAME <= self.pending.len() {
            self.frames.push(self.analyser.frame(&self.pending[at..at + FRAME]));
            at += HOP;
        }
        self.pending.drain(..at);
    }

    /// The recording has ended: the frames that start before its end, zero-padded.
    pub fn finish(&mut self) {
        let count = self.received.saturating_sub(1) / HOP + 1;
        let mut at = 0;
        while self.frames.len() < count && at < self.pending.len().max(1) {
            self.frames.push(self.analyser.frame(&self.pending[at..(at + FRAME).min(self.pending.len())]));
            at += HOP;
        }
        self.pending.clear();
    }

    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// The verdict on the samples in `range` (of the recording the frames were made from): the
    /// frames that start inside it. A range shorter than a hop still gets its one frame.
    pub fn judge(&self, range: Range<usize>) -> Verdict {
        let first = range.start.div_ceil(HOP).min(self.frames.len().saturating_sub(1));
        let last = range.end.div_ceil(HOP).clamp(first + 1, self.frames.len().max(first + 1));
        judge(&self.frames[first..last.min(self.frames.len())])
    }

    /// The verdict on `clip`, which starts at sample `start` of the audio these frames were
    /// made from, a multiple of [`HOP`] (a live recording's newest clip): the frames wholly
    /// inside it are these, and those reaching past its end are made anew, zero-padded, so
    /// that the verdict is `Frames::of(clip).judge(0..clip.len())`'s. `None` when `start` is
    /// off the grid or the frames have not reached the clip's end.
    pub fn judge_clip(&mut self, start: usize, clip: &[f32]) -> Option<Verdict> {
        let count = clip.len().saturating_sub(1) / HOP + 1;
        let whole = (clip.len() + HOP).saturating_sub(FRAME) / HOP;
        let first = start / HOP;
        if !start.is_multiple_of(HOP) || first + whole > self.frames.len() {
            return None;
        }
        let mut frames = self.frames[first..first + whole].to_vec();
        frames.extend((whole..count).map(|k| self.analyser.frame(&clip[k * HOP..(k * HOP + FRAME).min(clip.len())])));
        Some(judge(&frames))
    }
}

impl Default for Frames {
    fn default() -> Self {
        Self::new()
    }
}

/// The verdict on consecutive frames (see the module's comment for the rules).
pub fn judge(frames: &[Frame]) -> Verdict {
    let loudest_db = frames.iter().map(|f| f.level_db).fold(f32::NEG_INFINITY, f32::max);
    let active = (loudest_db - ACTIVE_RANGE_DB).max(FLOOR_DB);
    let loud_and_periodic = |f: &&Frame| f.level_db >= active && f.periodicity >= MIN_PERIODICITY;
    let voiced = frames.iter().filter(loud_and_periodic).filter(|f| f.tone_share < MAX_TONE_SHARE).count();
    let tonal_frames = frames.iter().filter(loud_and_periodic).filter(|f| f.tone_share >= MAX_TONE_SHARE).count();
    let voiced_seconds = voiced as f32 * HOP as f32 / MODEL_RATE as f32;
    let spread_db = spread(frames);
    let speech = loudest_db >= FLOOR_DB
        && voiced_seconds >= MIN_VOICED_SECONDS
        && voiced * TONAL_PER_VOICED >= tonal_frames
        && spread_db >= MIN_SPREAD_DB;
    Verdict { speech, voiced_seconds, spread_db, tonal_frames, loudest_db }
}

/// The 90th minus the 10th percentile of the frames' levels, each floored at [`FLOOR_DB`]
/// (below it, digital silence would make any click look like syllables' rise and fall).
fn spread(frames: &[Frame]) -> f32 {
    if frames.is_empty() {
        return 0.0;
    }
    let mut levels: Vec<f32> = frames.iter().map(|f| f.level_db.max(FLOOR_DB - 20.0)).collect();
    levels.sort_by(f32::total_cmp);
    let at = |q: f32| levels[((levels.len() - 1) as f32 * q).round() as usize];
    at(0.9) - at(0.1)
}

/// The FFT plans and window one frame needs, and its working memory (made once: a recording's
/// frames would otherwise allocate seven buffers each).
struct FrameAnalyser {
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    window: Vec<f32>,
    /// The window's own normalised autocorrelation, which the frame's is divided by (Boersma,
    /// 1993), so that a periodic frame scores near 1 at its period whatever the taper.
    window_acf: Vec<f32>,
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    power: Vec<f32>,
    acf: Vec<f32>,
    scratch: Vec<Complex<f32>>,
}

impl FrameAnalyser {
    fn new() -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        let (forward, inverse) = (planner.plan_fft_forward(FFT), planner.plan_fft_inverse(FFT));
        let window: Vec<f32> = (0..FRAME)
            .map(|n| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / FRAME as f64).cos()) as f32)
            .collect();
        let scratch = vec![Complex::default(); forward.get_scratch_len().max(inverse.get_scratch_len())];
        let (input, spectrum, acf) = (forward.make_input_vec(), forward.make_output_vec(), inverse.make_output_vec());
        let power = vec![0.0; spectrum.len()];
        let mut analyser =
            Self { forward, inverse, window, window_acf: vec![1.0; FFT], input, spectrum, power, acf, scratch };
        // The window's own: the window itself, as a frame.
        analyser.input.fill(0.0);
        analyser.input[..FRAME].copy_from_slice(&analyser.window);
        analyser.autocorrelation();
        analyser.window_acf = analyser.acf.clone();
        analyser
    }

    /// The normalised autocorrelation of the frame in `input`, by Wiener–Khinchin, into `acf`,
    /// and its power spectrum into `power`. The transforms use `input` as scratch space: it is
    /// filled anew for each frame.
    fn autocorrelation(&mut self) {
        // Lengths are the plans' own, so the transforms cannot fail.
        let _ = self.forward.process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch);
        for (p, c) in self.power.iter_mut().zip(self.spectrum.iter_mut()) {
            *p = c.norm_sqr();
            *c = Complex::new(*p, 0.0);
        }
        let _ = self.inverse.process_with_scratch(&mut self.spectrum, &mut self.acf, &mut self.scratch);
        let zero = self.acf[0];
        if zero > 0.0 {
            self.acf.iter_mut().for_each(|a| *a /= zero);
        }
    }

    fn frame(&mut self, samples: &[f32]) -> Frame {
        let n = samples.len().max(1) as f32;
        let mean = samples.iter().sum::<f32>() / n;
        // The mean is removed: a DC offset is no sound.
        let energy = samples.iter().map(|s| (s - mean) * (s - mean)).sum::<f32>() / n;
        let level_db = 10.0 * (energy + 1e-12).log10();
        self.input.fill(0.0);
        for ((slot, s), w) in self.input.iter_mut().zip(samples).zip(&self.window) {
            *slot = (s - mean) * w;
        }
        self.autocorrelation();
        Frame { level_db, periodicity: self.periodicity(&self.acf), tone_share: tone_share(&self.power) }
    }

    /// The highest local peak of the normalised autocorrelation at lags of the pitch range.
    fn periodicity(&self, acf: &[f32]) -> f32 {
        let rate = MODEL_RATE as f32;
        let (shortest, longest) = ((rate / PITCH_HZ.end) as usize, (rate / PITCH_HZ.start).ceil() as usize);
        let r = |lag: usize| acf[lag] / self.window_acf[lag].max(1e-3);
        (shortest..=longest)
            .filter(|&lag| r(lag) > r(lag - 1) && r(lag) >= r(lag + 1))
            .map(r)
            .fold(0.0f32, f32::max)
            .min(1.0)
    }
}

/// The share of the power between 50 Hz and 5 kHz that lies within 54 Hz of its strongest bin
/// (the main lobe of a sinusoid under the Hann window, with a little to spare).
fn tone_share(power: &[f32]) -> f32 {
    let bin_hz = MODEL_RATE as f32 / FFT as f32;
    let (low, high) = ((50.0 / bin_hz) as usize, (5_000.0 / bin_hz) as usize);
    let band = &power[low..=high.min(power.len() - 1)];
    let total: f32 = band.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let peak = band.iter().enumerate().fold(0, |best, (i, p)| if *p > band[best] { i } else { best });
    let lobe = 5;
    let around: f32 = band[peak.saturating_sub(lobe)..(peak + lobe + 1).min(band.len())].iter().sum();
    around / total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::prepare;

    const RATE: f32 = MODEL_RATE as f32;

    fn verdict(samples: &[f32]) -> Verdict {
        Frames::of(samples).judge(0..samples.len())
    }

    fn sine(hz: f32, amplitude: f32, seconds: f32) -> Vec<f32> {
        (0..(seconds * RATE) as usize)
            .map(|i| amplitude * (std::f32::consts::TAU * hz * i as f32 / RATE).sin())
            .collect()
    }

    /// Uniform noise from a fixed linear congruential generator, peak `amplitude`.
    fn noise(amplitude: f32, seconds: f32) -> Vec<f32> {
        let mut state = 0x2545_f491_u32;
        (0..(seconds * RATE) as usize)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                amplitude * ((state >> 8) as f32 / (1u32 << 23) as f32 - 1.0)
            })
            .collect()
    }

    #[test]
    fn a_click_a_sine_and_loud_noise_are_not_speech() {
        let mut click = vec![0.0; 3 * MODEL_RATE as usize];
        click[MODEL_RATE as usize] = 1.0;
        let click = verdict(&click);
        assert!(!click.speech, "{click:?}");
        let tone = verdict(&sine(1_000.0, 0.9, 3.0));
        assert!(!tone.speech, "{tone:?}");
        assert_eq!(tone.reason(), "the sound is a pure tone, not a voice");
        let noise = verdict(&noise(1.0, 3.0));
        assert!(!noise.speech, "{noise:?}");
        assert!(noise.voiced_seconds < MIN_VOICED_SECONDS, "{noise:?}");
    }

    #[test]
    fn the_corpus_utterances_are_speech() {
        for (name, bytes) in [
            ("emodb_03a01Fa", timnet_testkit::fixture_bytes!("corpus/emodb_03a01Fa.wav")),
            ("emodb_03a01Wa", timnet_testkit::fixture_bytes!("corpus/emodb_03a01Wa.wav")),
            ("casia_angry_201", timnet_testkit::fixture_bytes!("corpus/casia_angry_201.wav")),
        ] {
            let prepared = prepare(bytes).expect("a corpus fixture decodes");
            let verdict = verdict(&prepared.samples);
            assert!(verdict.speech, "{name}: {verdict:?}");
        }
    }

    #[test]
    fn frames_made_as_audio_arrives_are_those_of_the_whole() {
        let utterance = prepare(timnet_testkit::fixture_bytes!("corpus/emodb_03a01Fa.wav")).unwrap().samples;
        for len in [1, 511, 512, 1023, 1024, 1025, 5_000, utterance.len()] {
            let whole = Frames::of(&utterance[..len]);
            for chunk in [1, 100, 512, 4_099] {
                let mut streamed = Frames::new();
                utterance[..len].chunks(chunk).for_each(|c| streamed.push(c));
                streamed.finish();
                assert_eq!(streamed.frames(), whole.frames(), "{len} samples in chunks of {chunk}");
            }
            assert_eq!(whole.frames().len(), (len - 1) / HOP + 1, "{len}");
        }
    }

    #[test]
    fn a_stretch_is_judged_by_its_own_frames() {
        // One second of silence, then the utterance: the first second alone holds no speech.
        let utterance = prepare(timnet_testkit::fixture_bytes!("corpus/emodb_03a01Fa.wav")).unwrap().samples;
        let mut samples = vec![0.0; MODEL_RATE as usize];
        samples.extend_from_slice(&utterance);
        let frames = Frames::of(&samples);
        assert!(!frames.judge(0..MODEL_RATE as usize).speech);
        assert!(frames.judge(MODEL_RATE as usize..samples.len()).speech);
        // Ranges past the end or shorter than a hop still get a verdict.
        assert!(!frames.judge(samples.len()..samples.len() + 10).speech);
        assert!(!frames.judge(5..6).speech);
    }

    #[test]
    fn a_clip_of_a_stream_is_judged_as_the_clip_alone() {
        let utterance = prepare(timnet_testkit::fixture_bytes!("corpus/emodb_03a01Fa.wav")).unwrap().samples;
        let mut stream = Frames::new();
        stream.push(&utterance);
        for (start, len) in [(0, 30_000), (512, 30_000), (5_120, 1_000), (10_240, 22_050), (0, 0)] {
            let clip = &utterance[start..start + len];
            assert_eq!(stream.judge_clip(start, clip), Some(Frames::of(clip).judge(0..len)), "{start}+{len}");
        }
        // Off the frame grid, or past the frames made so far: no verdict.
        assert_eq!(stream.judge_clip(100, &utterance[100..20_100]), None);
        assert_eq!(stream.judge_clip(0, &vec![0.0; utterance.len() + 2 * HOP]), None);
    }
}
