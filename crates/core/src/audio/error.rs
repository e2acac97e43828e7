use thiserror::Error;

/// Everything that can be wrong with an audio input, in words a person understands.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum AudioError {
    #[error("the file is empty")]
    Empty,
    #[error("not an audio file (or a format this program cannot read): {0}")]
    NotAudio(String),
    /// A format recognised but not read: what was found, container and codec named.
    #[error("{0} is not supported by this program")]
    Unsupported(String),
    #[error("the audio file is damaged: {0}")]
    Corrupt(String),
    #[error("the file holds no audio track")]
    NoTrack,
    #[error("the audio has no channels")]
    NoChannels,
    #[error("the file does not say its sample rate")]
    UnknownSampleRate,
    #[error("the sample rate {0} Hz is not usable: audio files run at 1,000 to 768,000 Hz")]
    BadSampleRate(u32),
    #[error("the audio contains NaN samples (first at sample {position})")]
    NanSamples { position: usize },
    #[error("the audio contains infinite samples (first at sample {position})")]
    InfiniteSamples { position: usize },
    #[error("the audio is too short to analyse: {samples} sample(s); at least 2 are needed")]
    TooShort { samples: usize },
}
