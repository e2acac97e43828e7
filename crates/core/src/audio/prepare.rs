//! Decoded samples → checked mono at [`MODEL_RATE`], as they arrive: the checks, the notes
//! and the resampler keep running state, so a recording of hours is prepared in a few windows'
//! memory, and a whole recording is the same thing done in one chunk.

use super::{
    AudioError, MODEL_RATE, Prepared, Resampler, SHORT_CLIP_SECONDS, SILENCE_PEAK, SOURCE_RATES, decode_with, to_mono,
};

/// Decode a file's bytes and bring them to mono at [`MODEL_RATE`].
pub fn prepare(bytes: &[u8]) -> Result<Prepared, AudioError> {
    let mut file = FileSink::default();
    let read = decode_with(bytes, |chunk, channels, rate| file.feed(bytes.len(), chunk, channels, rate))?;
    file.finish(read)
}

/// A file's decoded chunks on their way to [`Prepared`]: [`prepare`] and [`prepare_with`]
/// differ only in when they hand a chunk over.
#[derive(Default)]
struct FileSink {
    preparer: Option<Preparer>,
    samples: Vec<f32>,
}

impl FileSink {
    /// The next chunk of a file of `bytes` bytes.
    fn feed(&mut self, bytes: usize, chunk: &[f32], channels: usize, rate: u32) -> Result<(), AudioError> {
        let first = self.preparer.is_none();
        Preparer::feed(&mut self.preparer, chunk, channels, rate, &mut self.samples)?;
        // Once the format has passed the checks.
        if first {
            self.samples.reserve(expected_length(bytes, channels, rate).saturating_sub(self.samples.len()));
        }
        Ok(())
    }

    /// The file has ended; `read` holds the decoder's notes.
    fn finish(self, read: Vec<String>) -> Result<Prepared, AudioError> {
        let preparer = self.preparer.ok_or(AudioError::TooShort { samples: 0 })?;
        let mut prepared = preparer.finish(self.samples)?;
        prepared.notes.extend(read);
        Ok(prepared)
    }
}

/// [`prepare`], handing the decoded audio to the resampler a stretch at a time and awaiting
/// `between()` after each, so that the caller can do other work meanwhile (the page's engine
/// worker reads its messages): the same samples, notes and errors. It holds the decoded samples
/// at their own rate until each is prepared (for 16-bit PCM, up to twice the file's bytes),
/// where [`prepare`] holds only the prepared ones.
pub async fn prepare_with<F: Future<Output = ()>>(
    bytes: &[u8],
    mut between: impl FnMut() -> F,
) -> Result<Prepared, AudioError> {
    let mut chunks = Vec::new();
    let decoded = decode_with(bytes, |chunk, channels, rate| {
        chunks.push((chunk.to_vec(), channels, rate));
        Ok::<_, AudioError>(())
    });
    let Ok(read) = decoded else {
        // Decoding stopped part-way; `prepare` may have refused a chunk before that point, and
        // its answer is the one to give.
        return prepare(bytes);
    };
    let mut file = FileSink::default();
    let mut since = 0;
    for (chunk, channels, rate) in chunks {
        file.feed(bytes.len(), &chunk, channels, rate)?;
        // About two seconds of audio a stretch: a few milliseconds of work, and few waits (a
        // browser's timer waits at least 4 ms once they nest).
        since += chunk.len() / channels.max(1);
        if since >= 2 * rate as usize {
            since = 0;
            between().await;
        }
    }
    file.finish(read)
}

/// The prepared length of a file of `bytes` bytes, were it 16-bit PCM (the common long
/// recording, for which it is right to a few samples), up to three hours: reserved at once, an
/// hour is not grown by doubling, which copies it and holds both copies for a moment (1.1 GiB
/// of the page's memory for an hour at 8 kHz). Compressed formats grow from there as needed.
fn expected_length(bytes: usize, channels: usize, rate: u32) -> usize {
    const THREE_HOURS: f64 = 3.0 * 3600.0 * MODEL_RATE as f64;
    let frames = (bytes / 2 / channels.max(1)) as f64;
    (frames * MODEL_RATE as f64 / rate.max(1) as f64).min(THREE_HOURS) as usize + 1
}

/// Bring interleaved samples at any rate to mono at [`MODEL_RATE`], checking them on the way.
pub fn prepare_samples(interleaved: &[f32], channels: usize, rate: u32) -> Result<Prepared, AudioError> {
    let mut preparer = Preparer::new(channels, rate)?;
    let mut samples = Vec::with_capacity((interleaved.len() as f64 * MODEL_RATE as f64 / rate as f64) as usize + 1);
    preparer.push(interleaved, channels, rate, &mut samples)?;
    preparer.finish(samples)
}

/// [`prepare_samples`] one chunk at a time.
pub struct Preparer {
    source_rate: u32,
    source_channels: usize,
    /// The format of the chunks arriving now: a chained stream may change it.
    channels: usize,
    rate: u32,
    resampler: Resampler,
    /// Mono frames taken so far, and their length in seconds at their own rates.
    frames: usize,
    seconds: f64,
    peak: f32,
    clipped: usize,
    changed: bool,
}

impl Preparer {
    pub fn new(channels: usize, rate: u32) -> Result<Self, AudioError> {
        check_format(channels, rate)?;
        Ok(Self {
            source_rate: rate,
            source_channels: channels,
            channels,
            rate,
            resampler: Resampler::new(rate, MODEL_RATE),
            frames: 0,
            seconds: 0.0,
            peak: 0.0,
            clipped: 0,
            changed: false,
        })
    }

    /// A decoder's sink: starts `preparer` on the first chunk, then pushes each.
    pub fn feed(
        preparer: &mut Option<Preparer>,
        chunk: &[f32],
        channels: usize,
        rate: u32,
        out: &mut Vec<f32>,
    ) -> Result<(), AudioError> {
        let preparer = match preparer {
            Some(preparer) => preparer,
            None => preparer.insert(Preparer::new(channels, rate)?),
        };
        preparer.push(chunk, channels, rate, out)
    }

    /// The next interleaved chunk; appends the mono samples at [`MODEL_RATE`] now ready.
    pub fn push(
        &mut self,
        interleaved: &[f32],
        channels: usize,
        rate: u32,
        out: &mut Vec<f32>,
    ) -> Result<(), AudioError> {
        if (channels, rate) != (self.channels, self.rate) {
            // A chained stream in another format: what came before is finished at its rate,
            // and the rest is resampled from its own.
            check_format(channels, rate)?;
            std::mem::replace(&mut self.resampler, Resampler::new(rate, MODEL_RATE)).finish(out);
            (self.channels, self.rate, self.changed) = (channels, rate, true);
        }
        if let Some(at) = interleaved.iter().position(|s| !s.is_finite()) {
            let position = self.frames + at / channels;
            return Err(if interleaved[at].is_nan() {
                AudioError::NanSamples { position }
            } else {
                AudioError::InfiniteSamples { position }
            });
        }
        let mut mono = to_mono(interleaved, channels);
        for s in mono.iter_mut() {
            let size = s.abs();
            self.peak = self.peak.max(size);
            if size >= 0.999 {
                self.clipped += 1;
            }
            // Float files can hold values past full scale. Playback clips them, and so do we: a
            // value near f32::MAX squared in the spectrum is infinite, and the answer NaN.
            *s = s.clamp(-1.0, 1.0);
        }
        self.frames += mono.len();
        self.seconds += mono.len() as f64 / rate as f64;
        self.resampler.push(&mono, out);
        Ok(())
    }

    /// The input has ended: the last samples, and what a person should know about the whole.
    /// `samples` is what the caller kept of the output (all of it, or none when it was used
    /// as it came); the resampler's last samples are appended to it.
    pub fn finish(self, mut samples: Vec<f32>) -> Result<Prepared, AudioError> {
        if self.frames < 2 {
            return Err(AudioError::TooShort { samples: self.frames });
        }
        self.resampler.finish(&mut samples);
        Ok(Prepared {
            samples,
            source_rate: self.source_rate,
            source_channels: self.source_channels,
            notes: notes(self.seconds, self.peak, self.clipped, self.frames, self.changed),
        })
    }
}

fn check_format(channels: usize, rate: u32) -> Result<(), AudioError> {
    if channels == 0 {
        return Err(AudioError::NoChannels);
    }
    if !SOURCE_RATES.contains(&rate) {
        return Err(AudioError::BadSampleRate(rate));
    }
    Ok(())
}

/// Plain-language remarks on a recording that was analysed but may give a doubtful answer.
fn notes(seconds: f64, peak: f32, clipped: usize, frames: usize, changed: bool) -> Vec<String> {
    let mut notes = Vec::new();
    if seconds < SHORT_CLIP_SECONDS as f64 {
        notes.push(format!(
            "The clip lasts only {:.0} ms; it was padded with silence, so the answer is doubtful.",
            seconds * 1000.0
        ));
    }
    if peak < SILENCE_PEAK {
        let dbfs = if peak > 0.0 { format!("{:.0} dBFS", 20.0 * peak.log10()) } else { "digital silence".into() };
        notes.push(format!(
            "No speech detected: the clip is silent or nearly so (peak {dbfs}); the emotion shown means nothing."
        ));
    } else if peak > 1.0 {
        notes.push(format!(
            "The samples go beyond full scale (peak {peak:.3e}); they were clipped to it, so the recording is distorted."
        ));
    } else if clipped * 100 > frames {
        notes.push(format!(
            "{:.1}% of the samples are clipped at full scale; the recording is distorted.",
            100.0 * clipped as f32 / frames as f32
        ));
    }
    if changed {
        notes.push("The recording changes its sample rate or channels part-way (joined streams); each part was resampled on its own.".into());
    }
    notes
}
