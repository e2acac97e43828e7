use std::io::Cursor;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, DecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::{AudioError, tags};

/// Samples as the file holds them: interleaved, in [-1, 1], at the file's own rate.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub samples: Vec<f32>,
    pub channels: usize,
    pub sample_rate: u32,
}

impl Decoded {
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1)
    }
}

/// Decode WAV (PCM 8/16/24/32-bit, float), AIFF, FLAC, MP3 or Ogg Vorbis from memory.
///
/// The container is recognised by its content, never by a file name, so an MP3 named `.wav`
/// decodes as MP3. A stream that breaks off mid-way keeps what was decoded before the break,
/// as other players do; one that yields nothing is an error.
pub fn decode(bytes: &[u8]) -> Result<Decoded, AudioError> {
    let mut samples = Vec::new();
    let (mut channels, mut sample_rate) = (0, 0);
    decode_with(bytes, |chunk, c, rate| {
        samples.extend_from_slice(chunk);
        (channels, sample_rate) = (c, rate);
        Ok::<_, AudioError>(())
    })?;
    Ok(Decoded { samples, channels, sample_rate })
}

/// [`decode`], handing each decoded packet to `sink` as it comes (interleaved samples, channels,
/// rate) instead of gathering them: memory stays at one packet, however long the file. An
/// error from `sink` stops decoding and is returned.
pub fn decode_with<E: From<AudioError>>(
    bytes: &[u8],
    mut sink: impl FnMut(&[f32], usize, u32) -> Result<(), E>,
) -> Result<(), E> {
    if bytes.is_empty() {
        return Err(AudioError::Empty.into());
    }
    let bytes = tags::checked(bytes)?;
    check_wav_format(bytes)?;
    check_aiff_rate(bytes)?;
    match decode_container(bytes, &mut sink) {
        // Refused before any sample reached the sink: a repaired header may be read instead.
        Err(Refused::NotAudio(why)) => match repair_wav_sizes(bytes) {
            Some(repaired) => decode_container(&repaired, &mut sink).map_err(|e| match e {
                Refused::NotAudio(_) => AudioError::NotAudio(why).into(),
                Refused::Other(e) => e,
            }),
            None => Err(AudioError::NotAudio(why).into()),
        },
        Err(Refused::Other(e)) => Err(e),
        Ok(()) => Ok(()),
    }
}

/// Why [`decode_container`] stopped: the container was not recognised (nothing was decoded),
/// or anything else.
enum Refused<E> {
    NotAudio(String),
    Other(E),
}

impl<E: From<AudioError>> From<AudioError> for Refused<E> {
    fn from(e: AudioError) -> Self {
        match e {
            AudioError::NotAudio(why) => Refused::NotAudio(why),
            other => Refused::Other(other.into()),
        }
    }
}

fn is_wave(bytes: &[u8]) -> bool {
    bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WAVE"
}

/// The chunks of a RIFF/WAVE file, none for any other file: (where the chunk's header starts,
/// its id, the size it claims, which may run past the end of the file).
pub(super) fn wav_chunks(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8], usize)> {
    chunks(bytes, if is_wave(bytes) { 12 } else { bytes.len() }, u32::from_le_bytes)
}

/// The chunks of an IFF-style file (RIFF little-endian, AIFF big-endian) from `at` on: an id,
/// a size, the data, padded to an even length.
fn chunks(bytes: &[u8], mut at: usize, size_from: fn([u8; 4]) -> u32) -> impl Iterator<Item = (usize, &[u8], usize)> {
    std::iter::from_fn(move || {
        let header = bytes.get(at..at.checked_add(8)?)?;
        let size = size_from([header[4], header[5], header[6], header[7]]) as usize;
        let chunk = (at, &header[..4], size);
        at = at.saturating_add(8).saturating_add(size).saturating_add(size & 1);
        Some(chunk)
    })
}

/// A WAV whose RIFF or chunk size claims more than the file holds (a recorder that never went
/// back to fill the sizes in, or a file cut short): the same bytes with the sizes the file
/// really has, so that what is there can be heard. `None` when there is nothing to repair.
fn repair_wav_sizes(bytes: &[u8]) -> Option<Vec<u8>> {
    if !is_wave(bytes) {
        return None;
    }
    let mut fixed = bytes.to_vec();
    fixed[4..8].copy_from_slice(&((bytes.len() - 8) as u32).to_le_bytes());
    if let Some((at, _, _)) = wav_chunks(bytes).find(|&(at, _, size)| size > bytes.len() - at - 8) {
        let room = bytes.len() - at - 8;
        fixed[at + 4..at + 8].copy_from_slice(&(room as u32).to_le_bytes());
    }
    (fixed != bytes).then_some(fixed)
}

/// Refuse a WAV whose format chunk the decoder library would panic on instead of returning an
/// error: a rate of 0 Hz (an assertion), and an extensible format whose channel mask lacks bits
/// for more channels than it can shift in (an overflow, found by fuzzing).
fn check_wav_format(bytes: &[u8]) -> Result<(), AudioError> {
    let Some((at, _, _)) = wav_chunks(bytes).find(|&(at, id, _)| id == b"fmt " && at + 8 + 16 <= bytes.len()) else {
        return Ok(());
    };
    let field = |offset: usize| &bytes[at + 8 + offset..];
    let channels = u16::from_le_bytes([field(2)[0], field(2)[1]]);
    let rate = u32::from_le_bytes([field(4)[0], field(4)[1], field(4)[2], field(4)[3]]);
    if channels == 0 {
        return Err(AudioError::NoChannels);
    }
    if rate == 0 {
        return Err(AudioError::BadSampleRate(rate));
    }
    let format = u16::from_le_bytes([field(0)[0], field(0)[1]]);
    if format == 0xFFFE && at + 8 + 24 <= bytes.len() {
        let mask = u32::from_le_bytes([field(20)[0], field(20)[1], field(20)[2], field(20)[3]]);
        let missing = (channels as u32).saturating_sub(mask.count_ones());
        if missing > 0 && (missing >= 32 || mask.leading_zeros() == 0) {
            return Err(AudioError::Corrupt(format!(
                "its channel layout (mask {mask:#010x}) cannot describe {channels} channels"
            )));
        }
    }
    Ok(())
}

/// Refuse an AIFF whose rate is not a usable one: the decoder library panics on a rate that
/// rounds down to 0 Hz (found by fuzzing: an 80-bit float rate of about 1e-3000). The rate is
/// in the COMM chunk, after the channels (2 bytes), frames (4) and bits per sample (2).
fn check_aiff_rate(bytes: &[u8]) -> Result<(), AudioError> {
    if bytes.len() < 12 || &bytes[0..4] != b"FORM" || !matches!(&bytes[8..12], b"AIFF" | b"AIFC") {
        return Ok(());
    }
    let Some((at, _, _)) = chunks(bytes, 12, u32::from_be_bytes).find(|&(_, id, _)| id == b"COMM") else {
        return Ok(());
    };
    let Some(rate) = bytes.get(at + 16..at + 26) else { return Ok(()) };
    let rate = extended_to_hz(rate.try_into().expect("ten bytes"));
    match super::SOURCE_RATES.contains(&rate) {
        true => Ok(()),
        false => Err(AudioError::BadSampleRate(rate)),
    }
}

/// An 80-bit IEEE extended float (sign, 15-bit exponent, 64-bit mantissa) as whole hertz,
/// saturating; not-a-number and infinity are 0.
fn extended_to_hz(b: [u8; 10]) -> u32 {
    let exponent = i32::from(u16::from_be_bytes([b[0], b[1]]) & 0x7fff);
    let mantissa = u64::from_be_bytes(b[2..10].try_into().expect("eight bytes"));
    if b[0] & 0x80 != 0 || exponent == 0x7fff {
        return 0;
    }
    // Scaled in two steps: 2^(exponent - 16446) alone underflows f64 for small exponents.
    let shift = exponent - 16383 - 63;
    (mantissa as f64 * 2f64.powi(shift / 2) * 2f64.powi(shift - shift / 2)) as u32
}

fn decode_container<E: From<AudioError>>(
    bytes: &[u8],
    sink: &mut impl FnMut(&[f32], usize, u32) -> Result<(), E>,
) -> Result<(), Refused<E>> {
    let source = MediaSourceStream::new(Box::new(Cursor::new(bytes.to_vec())), Default::default());
    let probed = symphonia::default::get_probe()
        .format(&Hint::new(), source, &FormatOptions::default(), &MetadataOptions::default())
        .map_err(|e| AudioError::NotAudio(describe(e)))?;
    let mut format = probed.format;
    let track = format.tracks().iter().find(|t| t.codec_params.codec != CODEC_TYPE_NULL).ok_or(AudioError::NoTrack)?;
    let track_id = track.id;
    let params = track.codec_params.clone();
    let mut decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions::default())
        .map_err(|e| AudioError::NotAudio(describe(e)))?;

    let mut decoded = 0;
    let mut interleaved: Option<SampleBuffer<f32>> = None;
    let mut last_error = None;
    loop {
        let packet = match format.next_packet() {
            Ok(packet) => packet,
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => {
                last_error = Some(describe(e));
                break;
            }
        };
        if packet.track_id() != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buffer) => {
                let spec = *buffer.spec();
                let (channels, sample_rate) = (spec.channels.count(), spec.rate);
                if buffer.frames() == 0 {
                    continue;
                }
                if channels == 0 {
                    return Err(AudioError::NoChannels.into());
                }
                if sample_rate == 0 {
                    return Err(AudioError::UnknownSampleRate.into());
                }
                // One buffer for every packet, made again only when a packet is larger.
                let converted = match interleaved.take() {
                    Some(kept) if kept.capacity() >= buffer.capacity() * channels => interleaved.insert(kept),
                    _ => interleaved.insert(SampleBuffer::<f32>::new(buffer.capacity() as u64, spec)),
                };
                converted.copy_interleaved_ref(buffer);
                decoded += converted.samples().len();
                sink(converted.samples(), channels, sample_rate).map_err(Refused::Other)?;
            }
            // A damaged packet is skipped, as players do; the rest of the stream still counts.
            Err(SymphoniaError::DecodeError(e)) => last_error = Some(e.to_string()),
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => {
                last_error = Some(describe(e));
                break;
            }
        }
    }
    if decoded == 0 {
        return Err(match last_error {
            Some(e) => AudioError::Corrupt(e),
            None => AudioError::TooShort { samples: 0 },
        }
        .into());
    }
    Ok(())
}

fn describe(error: SymphoniaError) -> String {
    match error {
        SymphoniaError::IoError(e) => e.to_string(),
        SymphoniaError::DecodeError(e) => e.to_string(),
        SymphoniaError::Unsupported(e) => format!("unsupported {e}"),
        SymphoniaError::LimitError(e) => format!("limit exceeded: {e}"),
        SymphoniaError::SeekError(_) => "seek failed".to_string(),
        SymphoniaError::ResetRequired => "stream changed mid-way".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal PCM WAV writer for tests: format tag 1 (PCM) or 3 (float).
    pub(crate) fn wav(format: u16, bits: u16, channels: u16, rate: u32, data: &[u8]) -> Vec<u8> {
        let block = channels * bits / 8;
        let mut out = Vec::new();
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&format.to_le_bytes());
        out.extend_from_slice(&channels.to_le_bytes());
        out.extend_from_slice(&rate.to_le_bytes());
        out.extend_from_slice(&(rate * block as u32).to_le_bytes());
        out.extend_from_slice(&block.to_le_bytes());
        out.extend_from_slice(&bits.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn pcm_depths_scale_to_unit_range() {
        let d16 = decode(&wav(1, 16, 1, 8000, &[0x00, 0x40, 0x00, 0xC0])).unwrap();
        assert_eq!(d16.samples, vec![0.5, -0.5]);
        let d8 = decode(&wav(1, 8, 1, 8000, &[192, 64])).unwrap();
        assert_eq!(d8.samples, vec![0.5, -0.5]);
        let d24 = decode(&wav(1, 24, 1, 8000, &[0, 0, 0x40, 0, 0, 0xC0])).unwrap();
        assert_eq!(d24.samples, vec![0.5, -0.5]);
        let d32 = decode(&wav(1, 32, 1, 8000, &[0, 0, 0, 0x40, 0, 0, 0, 0xC0])).unwrap();
        assert_eq!(d32.samples, vec![0.5, -0.5]);
        let f: Vec<u8> = [0.25f32, -1.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let df = decode(&wav(3, 32, 1, 8000, &f)).unwrap();
        assert_eq!(df.samples, vec![0.25, -1.0]);
    }

    #[test]
    fn channels_and_rate_come_from_the_header() {
        let data: Vec<u8> = (0..12i16).flat_map(|v| (v * 100).to_le_bytes()).collect();
        let d = decode(&wav(1, 16, 6, 96_000, &data)).unwrap();
        assert_eq!((d.channels, d.sample_rate, d.frames()), (6, 96_000, 2));
    }

    #[test]
    fn broken_files_are_errors_in_words() {
        assert_eq!(decode(&[]).unwrap_err(), AudioError::Empty);
        let noise: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let e = decode(&noise).unwrap_err();
        assert!(e.to_string().starts_with("not an audio file"), "{e}");
        let whole = wav(1, 16, 1, 8000, &[0u8; 64]);
        for cut in [4, 12, 30, 43] {
            assert!(decode(&whole[..cut]).is_err(), "a header cut at {cut} bytes must not decode");
        }
    }

    #[test]
    fn headers_the_decoder_library_would_assert_on_are_refused_first() {
        assert_eq!(decode(&wav(1, 16, 1, 0, &[0u8; 64])).unwrap_err(), AudioError::BadSampleRate(0));
        assert_eq!(decode(&wav(1, 16, 0, 8000, &[0u8; 64])).unwrap_err(), AudioError::NoChannels);
        // WAVE_FORMAT_EXTENSIBLE with 40 channels and an empty channel mask.
        let mut extensible = wav(1, 16, 40, 8000, &[0u8; 160]);
        extensible[20..22].copy_from_slice(&0xFFFEu16.to_le_bytes());
        extensible[16..20].copy_from_slice(&40u32.to_le_bytes());
        let fmt_end = 20 + 16;
        let tail: Vec<u8> =
            [22u16.to_le_bytes().as_slice(), &16u16.to_le_bytes(), &0u32.to_le_bytes(), &[0u8; 16]].concat();
        extensible.splice(fmt_end..fmt_end, tail);
        let e = decode(&extensible).unwrap_err();
        assert!(e.to_string().contains("cannot describe 40 channels"), "{e}");
    }

    #[test]
    fn aiff_rates_are_read_as_80_bit_floats() {
        // 22,050 Hz and 44,100 Hz as AIFF writes them; then the smallest and a negative rate.
        assert_eq!(extended_to_hz([0x40, 0x0d, 0xac, 0x44, 0, 0, 0, 0, 0, 0]), 22_050);
        assert_eq!(extended_to_hz([0x40, 0x0e, 0xac, 0x44, 0, 0, 0, 0, 0, 0]), 44_100);
        assert_eq!(extended_to_hz([0x00, 0x01, 0x80, 0, 0, 0, 0, 0, 0, 0]), 0);
        assert_eq!(extended_to_hz([0xc0, 0x0d, 0xac, 0x44, 0, 0, 0, 0, 0, 0]), 0);
        assert_eq!(extended_to_hz([0x7f, 0xff, 0xc0, 0, 0, 0, 0, 0, 0, 0]), 0);
    }
}
