//! Broken, hostile and unusual audio files: one table for every door a file comes in by, the
//! CLI (crates/cli/tests/cli.rs) and the page's decoding path (crates/app/tests/decoding.rs), so that both give
//! the same answer to the same bytes.
use timnet::audio::encode_wav;

/// What a file must get.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Expect {
    /// An error whose message contains these words.
    Refused(&'static str),
    /// An analysis; one of its notes contains these words, or there is no note at all for "".
    Analysed(&'static str),
}

pub struct Case {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub expect: Expect,
}

macro_rules! hostile {
    ($name:literal) => {
        include_bytes!(concat!("../../../tests/fixtures/hostile/", $name)).to_vec()
    };
}

pub fn cases() -> Vec<Case> {
    use Expect::{Analysed, Refused};
    let tone: Vec<f32> = (0..16_000).map(|i| 0.3 * (i as f32 * 0.07).sin()).collect();
    let mut nan = tone.clone();
    nan[500] = f32::NAN;
    let mut inf = tone.clone();
    inf[7] = f32::INFINITY;
    // Finite, but far past full scale: squared in the spectrum, it would overflow.
    let huge_values: Vec<f32> = tone.iter().map(|s| s * 1.0e38).collect();
    let whole = encode_wav(&tone, 1, 16_000);
    let mut huge = whole.clone();
    let at = huge.windows(4).position(|w| w == b"data").unwrap() + 4;
    huge[at..at + 4].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    // One full-scale click in 3 s of zeros.
    let mut click = vec![0.0; 48_000];
    click[16_000] = 1.0;
    let case = |name, bytes, expect| Case { name, bytes, expect };
    vec![
        case("empty.wav", Vec::new(), Refused("the file is empty")),
        case("noise.wav", noise(5000), Refused("not an audio file")),
        case("header-cut.wav", whole[..30].to_vec(), Refused("not an audio file")),
        case("no-samples.wav", whole[..44].to_vec(), Refused("too short")),
        case("one-sample.wav", encode_wav(&[0.5], 1, 16_000), Refused("too short")),
        case("nan.wav", float_wav(&nan, 16_000), Refused("NaN")),
        case("inf.wav", float_wav(&inf, 16_000), Refused("infinite")),
        case("zero-rate.wav", with_rate(&whole, 0), Refused("0 Hz is not usable")),
        case("one-hertz.wav", with_rate(&whole, 1), Refused("1 Hz is not usable")),
        case("no-channels.wav", with_channels(&whole, 0), Refused("no channels")),
        // Cut mid-sample: what is there is heard (a steady tone: no speech).
        case("data-cut.wav", whole[..44 + 24_001].to_vec(), Analysed("No speech detected")),
        case("huge-header.wav", huge, Analysed("No speech detected")),
        case("10ms.wav", voice(0.01, 16_000, 1, 0.5), Analysed("padded with silence")),
        case("silence.wav", encode_wav(&vec![0.0; 32_000], 1, 16_000), Analysed("No speech detected")),
        // Loud sound that is not speech: the network would give it a confident emotion.
        case("click.wav", encode_wav(&click, 1, 16_000), Analysed("No speech detected")),
        case(
            "1khz-tone.wav",
            encode_wav(&sine(1_000.0, 0.9, 3.0), 1, 16_000),
            Analysed("No speech detected: the sound is a pure tone"),
        ),
        case("white-noise.wav", encode_wav(&white_noise(3.0), 1, 16_000), Analysed("No speech detected")),
        case("clipped.wav", voice(2.0, 16_000, 1, 4.0), Analysed("clipped at full scale")),
        case("8k.wav", voice(2.0, 8_000, 1, 0.5), Analysed("")),
        case("96k.wav", voice(2.0, 96_000, 1, 0.5), Analysed("")),
        case("six-channels.wav", voice(2.0, 48_000, 6, 0.5), Analysed("")),
        case("long.wav", voice(30.0, 16_000, 2, 0.5), Analysed("")),
        case("float.wav", float_wav(&tone, 16_000), Analysed("No speech detected")),
        case("float-past-full-scale.wav", float_wav(&huge_values, 16_000), Analysed("beyond full scale")),
        case(
            "mp3-named.wav",
            include_bytes!("../../../tests/fixtures/tone_16000.mp3").to_vec(),
            Analysed("No speech detected"),
        ),
        case("aiff-named.wav", aiff_16k(&tone), Analysed("No speech detected")),
        // Tag fields claiming gigabytes (tests/fixtures/hostile/make.py): the decoder library
        // would allocate each claim before reading it.
        case(
            "ogg-comment-claims-2-gib.ogg",
            hostile!("ogg-comment-claims-2-gib.ogg"),
            Refused("comment packet claims"),
        ),
        case(
            "flac-picture-claims-4-gib.flac",
            hostile!("flac-picture-claims-4-gib.flac"),
            Refused("picture block claims"),
        ),
        case("wav-tag-list-claims-4-gib.wav", hostile!("wav-tag-list-claims-4-gib.wav"), Refused("tag list claims")),
        // A Vorbis codebook whose lookup table would take 2 GiB (31 dimensions of 2^24 - 1
        // entries), and one of no dimensions, on which the decoder library panics.
        case(
            "vorbis-codebook-claims-2-gib.ogg",
            hostile!("vorbis-codebook-claims-2-gib.ogg"),
            Refused("codebooks ask for 520093665 lookup values"),
        ),
        case(
            "vorbis-codebook-of-no-dimensions.ogg",
            hostile!("vorbis-codebook-of-no-dimensions.ogg"),
            Refused("codebook has no dimensions"),
        ),
        // An ID3 tag holds nothing the network needs: it is skipped, and the MP3 is heard.
        case(
            "mp3-id3-frame-claims-4-gib.mp3",
            hostile!("mp3-id3-frame-claims-4-gib.mp3"),
            Analysed("No speech detected"),
        ),
    ]
}

/// Clip-length windows (hop half a clip) the analysis of `seconds` of audio has, for a model
/// whose clips are `clip_samples` long at 22,050 Hz.
pub fn expected_windows(seconds: f64, clip_samples: usize) -> usize {
    let clip = clip_samples as f64 / 22_050.0;
    if seconds <= clip { 1 } else { ((seconds - clip) / (clip / 2.0)).ceil() as usize + 1 }
}

/// Full-scale uniform white noise from a fixed generator, at 16 kHz.
fn white_noise(seconds: f32) -> Vec<f32> {
    let mut state = 0x2545_f491u32;
    (0..(seconds * 16_000.0) as usize)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as f32 / u32::MAX as f32 * 2.0 - 1.0
        })
        .collect()
}

/// Bytes that are no known format.
fn noise(n: u32) -> Vec<u8> {
    (0..n).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect()
}

/// Syllables of a buzzing voice (crate::syllables) at any rate and channel count: speech to
/// the speech check, so the files that test decoding get no note for lacking it.
pub fn voice(seconds: f32, rate: u32, channels: u16, amplitude: f32) -> Vec<u8> {
    let mono = crate::syllables(seconds, rate, 160.0, amplitude);
    let interleaved: Vec<f32> =
        mono.iter().flat_map(|&v| (0..channels).map(move |c| v * (1.0 - 0.1 * c as f32))).collect();
    encode_wav(&interleaved, channels, rate)
}

/// `seconds` of a steady sine at `hz`, peak `amplitude`, at 16 kHz.
fn sine(hz: f32, amplitude: f32, seconds: f32) -> Vec<f32> {
    (0..(seconds * 16_000.0) as usize)
        .map(|i| amplitude * (std::f32::consts::TAU * hz * i as f32 / 16_000.0).sin())
        .collect()
}

/// The same WAV claiming another rate (the fmt chunk starts at byte 20 in our writer's files).
fn with_rate(wav: &[u8], rate: u32) -> Vec<u8> {
    let mut out = wav.to_vec();
    out[24..28].copy_from_slice(&rate.to_le_bytes());
    out
}

fn with_channels(wav: &[u8], channels: u16) -> Vec<u8> {
    let mut out = wav.to_vec();
    out[22..24].copy_from_slice(&channels.to_le_bytes());
    out
}

/// 32-bit float WAV bytes (format tag 3), which may hold NaN or infinity.
fn float_wav(samples: &[f32], rate: u32) -> Vec<u8> {
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut b = wav_header(3, 1, rate, 32, data.len() as u32);
    b.extend_from_slice(&data);
    b
}

/// The 44-byte header of a plain WAV (format tag 1 for PCM, 3 for float) whose data chunk of
/// `data_bytes` follows: for files written piece by piece.
pub fn wav_header(format: u16, channels: u16, rate: u32, bits: u16, data_bytes: u32) -> Vec<u8> {
    let block = channels * bits / 8;
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_bytes).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&format.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * block as u32).to_le_bytes());
    b.extend_from_slice(&block.to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_bytes.to_le_bytes());
    b
}

/// 16-bit mono AIFF bytes at 16 kHz.
fn aiff_16k(samples: &[f32]) -> Vec<u8> {
    let data: Vec<u8> = samples.iter().flat_map(|s| ((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_be_bytes()).collect();
    let mut b = Vec::new();
    b.extend_from_slice(b"FORM");
    b.extend_from_slice(&(4 + 26 + 16 + data.len() as u32).to_be_bytes());
    b.extend_from_slice(b"AIFFCOMM");
    b.extend_from_slice(&18u32.to_be_bytes());
    b.extend_from_slice(&1u16.to_be_bytes());
    b.extend_from_slice(&(samples.len() as u32).to_be_bytes());
    b.extend_from_slice(&16u16.to_be_bytes());
    // 16,000 as an 80-bit extended float: exponent 16383 + 13, mantissa 16000 << 50.
    b.extend_from_slice(&[0x40, 0x0c, 0xfa, 0, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(b"SSND");
    b.extend_from_slice(&(8 + data.len() as u32).to_be_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&data);
    b
}
