use std::io::Cursor;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{
    CODEC_TYPE_ADPCM_IMA_WAV, CODEC_TYPE_ADPCM_MS, CODEC_TYPE_NULL, CodecParameters, Decoder, DecoderOptions,
};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader, Packet};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::{AudioError, ogg_chain, signature, tags};
#[cfg(feature = "formats")]
use super::{alac_cookie, many_channels, opus, rewrap};

/// Samples as the file holds them: interleaved, in [-1, 1], at the file's own rate.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub samples: Vec<f32>,
    pub channels: usize,
    pub sample_rate: u32,
    /// What a person should know about how the file was read (a part left out).
    pub notes: Vec<String>,
}

impl Decoded {
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1)
    }
}

/// Decode WAV (PCM 8/16/24/32-bit, float), AIFF, FLAC, MP3 or Ogg Vorbis from memory; with the
/// `formats` feature also AAC and ALAC (MP4, CAF), ADPCM WAV, Opus (Ogg, WebM), RF64, Wave64,
/// Sun AU and WAVs of any number of channels.
///
/// The container is recognised by its content, never by a file name, so an MP3 named `.wav`
/// decodes as MP3. A stream that breaks off mid-way keeps what was decoded before the break,
/// as other players do; one that yields nothing is an error. What cannot be read is named:
/// "Opus audio in an Ogg container is not supported by this program".
pub fn decode(bytes: &[u8]) -> Result<Decoded, AudioError> {
    let mut samples = Vec::new();
    let (mut channels, mut sample_rate) = (0, 0);
    let notes = decode_with(bytes, |chunk, c, rate| {
        samples.extend_from_slice(chunk);
        (channels, sample_rate) = (c, rate);
        Ok::<_, AudioError>(())
    })?;
    Ok(Decoded { samples, channels, sample_rate, notes })
}

/// [`decode`], handing each decoded packet to `sink` as it comes (interleaved samples, channels,
/// rate) instead of gathering them: memory stays at one packet, however long the file. An
/// error from `sink` stops decoding and is returned. Gives what a person should know about how
/// the file was read (a part left out).
pub fn decode_with<E: From<AudioError>>(
    bytes: &[u8],
    mut sink: impl FnMut(&[f32], usize, u32) -> Result<(), E>,
) -> Result<Vec<String>, E> {
    if bytes.is_empty() {
        return Err(AudioError::Empty.into());
    }
    let bytes = tags::checked(bytes)?;
    if let Some(format) = signature::unreadable_format(bytes) {
        return Err(AudioError::Unsupported(format.into()).into());
    }
    #[cfg(feature = "formats")]
    if let Some(wav) = rewrap::as_wav(bytes) {
        return decode_wav_or_other(&wav?, &mut sink);
    }
    decode_wav_or_other(bytes, &mut sink)
}

/// A decoder's sink, as the functions below pass it on.
type Sink<'a, E> = dyn FnMut(&[f32], usize, u32) -> Result<(), E> + 'a;

fn decode_wav_or_other<E: From<AudioError>>(bytes: &[u8], sink: &mut Sink<'_, E>) -> Result<Vec<String>, E> {
    check_wav_format(bytes)?;
    check_aiff_rate(bytes)?;
    let filled = fill_in_zero_data_size(bytes);
    let bytes = filled.as_deref().unwrap_or(bytes);
    if let Some(channels) = wav_channels(bytes).filter(|&c| c > LIBRARY_MAX_CHANNELS) {
        // Rare enough to be read whole, then handed on at once.
        let wide = wide_wav(bytes, channels)?;
        sink(&wide.samples, wide.channels, wide.sample_rate)?;
        return Ok(wide.notes);
    }
    if let [first, rest @ ..] = ogg_chain::parts(bytes).as_slice()
        && !rest.is_empty()
    {
        return decode_chain(first, rest, sink);
    }
    match decode_container(bytes, sink) {
        // Refused before any sample reached the sink: a repaired header may be read instead.
        Err(Refused::NotAudio(why)) => match repair_wav_sizes(bytes) {
            Some(repaired) => decode_container(&repaired, sink).map_err(|e| match e {
                Refused::NotAudio(_) => AudioError::NotAudio(why).into(),
                Refused::Other(e) => e,
            }),
            None => Err(AudioError::NotAudio(why).into()),
        },
        Err(Refused::Other(e)) => Err(e),
        Ok(notes) => Ok(notes),
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

impl<E> Refused<E> {
    fn into_error(self) -> E
    where
        E: From<AudioError>,
    {
        match self {
            Refused::NotAudio(why) => AudioError::NotAudio(why).into(),
            Refused::Other(e) => e,
        }
    }
}

/// The most channels the decoder library reads (its channel set is a 26-position bit mask).
const LIBRARY_MAX_CHANNELS: u16 = 26;

#[cfg(feature = "formats")]
fn wide_wav(bytes: &[u8], _channels: u16) -> Result<Decoded, AudioError> {
    many_channels::decode(bytes)
}

#[cfg(not(feature = "formats"))]
fn wide_wav(_bytes: &[u8], channels: u16) -> Result<Decoded, AudioError> {
    Err(AudioError::Unsupported(format!(
        "{channels}-channel audio in a WAV container (at most {LIBRARY_MAX_CHANNELS} channels)"
    )))
}

/// The channel count a WAV's format chunk gives; `None` for any other file.
fn wav_channels(bytes: &[u8]) -> Option<u16> {
    let (at, _, _) = wav_chunks(bytes).find(|&(_, id, _)| id == b"fmt ")?;
    let field = bytes.get(at + 10..at + 12)?;
    Some(u16::from_le_bytes([field[0], field[1]]))
}

/// The parts of a chained Ogg file, heard one after the other while their rate and channels
/// stay the same; where a part cannot be joined on, the analysis stops and says so.
fn decode_chain<E: From<AudioError>>(first: &[u8], rest: &[&[u8]], sink: &mut Sink<'_, E>) -> Result<Vec<String>, E> {
    // The first part's format, and how many frames have been handed on.
    let (mut format, mut frames) = (None::<(usize, u32)>, 0usize);
    let mut notes = {
        let mut counting = |chunk: &[f32], channels: usize, rate: u32| {
            format = Some((channels, rate));
            frames += chunk.len() / channels.max(1);
            sink(chunk, channels, rate)
        };
        decode_container(first, &mut counting).map_err(Refused::into_error)?
    };
    let Some(first_format) = format else { return Ok(notes) };
    for (joined, part) in rest.iter().enumerate() {
        // A part in another format is found at its first packet, before it reaches the sink.
        let mut other = None;
        let mut joining = |chunk: &[f32], channels: usize, rate: u32| {
            if (channels, rate) != first_format {
                other = Some((channels, rate));
                return Err(Joined::Stop);
            }
            frames += chunk.len() / channels.max(1);
            sink(chunk, channels, rate).map_err(Joined::Sink)
        };
        let why = match decode_container(part, &mut joining) {
            Ok(more) => {
                notes.extend(more);
                continue;
            }
            Err(Refused::Other(Joined::Sink(e))) => return Err(e),
            Err(Refused::Other(Joined::Stop)) => match other {
                Some((channels, rate)) => format!("changes to {rate} Hz, {channels} channel(s)"),
                None => "cannot be joined on".into(),
            },
            Err(Refused::Other(Joined::Audio(e))) => format!("cannot be read: {e}"),
            Err(Refused::NotAudio(why)) => format!("cannot be read: {}", AudioError::NotAudio(why)),
        };
        let seconds = frames as f32 / first_format.1 as f32;
        notes.push(format!(
            "Only the first {} of the {} streams chained in this Ogg file ({seconds:.1} s) were analysed: the next {why}.",
            joined + 1,
            rest.len() + 1
        ));
        break;
    }
    Ok(notes)
}

/// How joining a chained part ended early: a part in another format, the audio, or the sink.
enum Joined<E> {
    Stop,
    Audio(AudioError),
    Sink(E),
}

impl<E> From<AudioError> for Joined<E> {
    fn from(e: AudioError) -> Self {
        Joined::Audio(e)
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

/// A WAV whose data chunk says 0 bytes while samples follow it: a recorder stopped before it
/// went back to write the sizes. The same bytes with the data running to the end of the file.
/// A real empty data chunk is followed by nothing, or by chunks that end where the file ends.
fn fill_in_zero_data_size(bytes: &[u8]) -> Option<Vec<u8>> {
    let (at, _, _) = wav_chunks(bytes).find(|&(_, id, size)| id == b"data" && size == 0)?;
    let after = at + 8;
    if after >= bytes.len() || chunks_end_the_file(bytes, after) {
        return None;
    }
    let mut fixed = bytes.to_vec();
    fixed[4..8].copy_from_slice(&((bytes.len() - 8) as u32).to_le_bytes());
    fixed[at + 4..at + 8].copy_from_slice(&((bytes.len() - after) as u32).to_le_bytes());
    Some(fixed)
}

/// Whether the bytes from `at` on are chunks (ids of printable letters) that end where the file
/// ends.
fn chunks_end_the_file(bytes: &[u8], at: usize) -> bool {
    let mut last_end = at;
    for (start, id, size) in chunks(bytes, at, u32::from_le_bytes) {
        if !id.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            return false;
        }
        last_end = start.saturating_add(8).saturating_add(size).saturating_add(size & 1);
        if last_end >= bytes.len() {
            break;
        }
    }
    last_end == bytes.len() || last_end == bytes.len() + 1
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
    if format == 0xFFFE && channels <= LIBRARY_MAX_CHANNELS && at + 8 + 24 <= bytes.len() {
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

/// [`read_container`], with a panic inside the decoder library turned into an error in words
/// (natively; the page's build has none of the readers it was seen in). Found by the decoder
/// fuzz target: symphonia's Matroska reader overflows a shift on a size whose first byte is 0.
fn decode_container<E: From<AudioError>>(
    bytes: &[u8],
    sink: &mut (impl FnMut(&[f32], usize, u32) -> Result<(), E> + ?Sized),
) -> Result<Vec<String>, Refused<E>> {
    #[cfg(not(target_arch = "wasm32"))]
    return super::guard::catching(|| read_container(bytes, sink)).unwrap_or_else(|| {
        let what =
            signature::identify(bytes).map_or_else(|| "its container".to_string(), |f| format!("its {}", f.name()));
        Err(AudioError::Corrupt(format!("{what} structure is broken (the decoder library failed on it)")).into())
    });
    #[cfg(target_arch = "wasm32")]
    read_container(bytes, sink)
}

fn read_container<E: From<AudioError>>(
    bytes: &[u8],
    sink: &mut (impl FnMut(&[f32], usize, u32) -> Result<(), E> + ?Sized),
) -> Result<Vec<String>, Refused<E>> {
    let source = MediaSourceStream::new(Box::new(Cursor::new(bytes.to_vec())), Default::default());
    let probed = super::probe::probe()
        .format(&Hint::new(), source, &FormatOptions::default(), &MetadataOptions::default())
        .map_err(|e| unreadable(bytes, e))?;
    let mut format = probed.format;
    let (track_id, params) = first_audio_track(&*format).ok_or_else(|| no_track(bytes))?;
    let mut decoder = PacketDecoder::new(&params).map_err(|e| unreadable(bytes, e))?;

    // One packet's samples at a time; frames handed on so far.
    let mut samples = Vec::new();
    let mut frames = 0usize;
    let mut notes = Vec::new();
    // The rate of what came so far, for the note on a stream cut short.
    let mut sample_rate = 0u32;
    // ADPCM's last block is padded; the fact chunk says how many frames are real.
    let real_frames = matches!(params.codec, CODEC_TYPE_ADPCM_MS | CODEC_TYPE_ADPCM_IMA_WAV)
        .then_some(params.n_frames)
        .flatten()
        .map(|n| n as usize);
    let mut last_error = None;
    loop {
        let packet = match format.next_packet() {
            Ok(packet) => packet,
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            // A new stream mid-file that the chain split did not find: what came before counts.
            Err(SymphoniaError::ResetRequired) if frames > 0 => {
                notes.push(format!(
                    "Only the first {:.1} s were analysed: a new stream starts there that this program cannot join on.",
                    frames as f32 / sample_rate.max(1) as f32
                ));
                break;
            }
            Err(e) => {
                last_error = Some(describe(e));
                break;
            }
        };
        if packet.track_id() != track_id {
            continue;
        }
        samples.clear();
        match decoder.decode(&packet, &mut samples) {
            Ok(Some((channels, rate))) => {
                sample_rate = rate;
                if channels == 0 {
                    return Err(AudioError::NoChannels.into());
                }
                if sample_rate == 0 {
                    return Err(AudioError::UnknownSampleRate.into());
                }
                let mut packet_frames = samples.len() / channels;
                if let Some(real) = real_frames {
                    packet_frames = packet_frames.min(real.saturating_sub(frames));
                }
                if packet_frames > 0 {
                    sink(&samples[..packet_frames * channels], channels, sample_rate).map_err(Refused::Other)?;
                    frames += packet_frames;
                }
            }
            Ok(None) => {}
            // A damaged packet is skipped, as players do; the rest of the stream still counts.
            Err(SymphoniaError::DecodeError(e)) => last_error = Some(e.to_string()),
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => {
                last_error = Some(describe(e));
                break;
            }
        }
    }
    if frames == 0 {
        return Err(match last_error {
            Some(e) => AudioError::Corrupt(e),
            None => AudioError::TooShort { samples: 0 },
        }
        .into());
    }
    Ok(notes)
}

fn first_audio_track(format: &dyn FormatReader) -> Option<(u32, CodecParameters)> {
    let track = format.tracks().iter().find(|t| t.codec_params.codec != CODEC_TYPE_NULL)?;
    Some((track.id, track.codec_params.clone()))
}

/// A codec: the decoder library's, or (with the `formats` feature) the Opus decoder crate's.
enum PacketDecoder {
    Library(Box<dyn Decoder>),
    #[cfg(feature = "formats")]
    Opus(opus::Opus),
}

impl PacketDecoder {
    fn new(params: &CodecParameters) -> Result<PacketDecoder, SymphoniaError> {
        #[cfg(feature = "formats")]
        if params.codec == symphonia::core::codecs::CODEC_TYPE_OPUS {
            let head = params.extra_data.as_deref().unwrap_or_default();
            return opus::Opus::new(head)
                .map(PacketDecoder::Opus)
                .map_err(|e| SymphoniaError::IoError(std::io::Error::new(std::io::ErrorKind::InvalidData, e)));
        }
        #[cfg(feature = "formats")]
        let params = &alac_cookie::unwrapped(params);
        let decoder = symphonia::default::get_codecs().make(params, &DecoderOptions::default())?;
        Ok(PacketDecoder::Library(decoder))
    }

    /// Decode a packet onto `out`; the channels and rate of what it held, if it held any.
    fn decode(&mut self, packet: &Packet, out: &mut Vec<f32>) -> Result<Option<(usize, u32)>, SymphoniaError> {
        match self {
            PacketDecoder::Library(decoder) => {
                let buffer = decoder.decode(packet)?;
                let spec = *buffer.spec();
                if buffer.frames() == 0 {
                    return Ok(None);
                }
                let mut interleaved = SampleBuffer::<f32>::new(buffer.capacity() as u64, spec);
                interleaved.copy_interleaved_ref(buffer);
                out.extend_from_slice(interleaved.samples());
                Ok(Some((spec.channels.count(), spec.rate)))
            }
            #[cfg(feature = "formats")]
            PacketDecoder::Opus(decoder) => {
                decoder.decode(packet.buf(), out).map_err(|_| SymphoniaError::DecodeError("invalid Opus packet"))?;
                Ok(Some((decoder.channels, opus::RATE)))
            }
        }
    }
}

/// Why the decoder library could not open a file, in words: the container and codec its own
/// signature names when it has one, never the library's "end of stream" or "unsupported core".
fn unreadable(bytes: &[u8], error: SymphoniaError) -> AudioError {
    let Some(found) = signature::identify(bytes) else {
        return AudioError::NotAudio("no audio format this program reads was found in it".into());
    };
    match error {
        _ if !library_opens(&found) => AudioError::Unsupported(found.describe()),
        SymphoniaError::Unsupported(_) => AudioError::Unsupported(found.describe()),
        SymphoniaError::IoError(e) if e.kind() == std::io::ErrorKind::InvalidData => AudioError::Corrupt(e.to_string()),
        SymphoniaError::IoError(_) => AudioError::NotAudio(format!("its {} header breaks off", found.name())),
        other => AudioError::NotAudio(format!("its {} header could not be read ({})", found.name(), describe(other))),
    }
}

/// Whether the decoder library, as this build has it, opens the container: when it does not,
/// its error is only where its search for a header it knows ran out.
fn library_opens(found: &signature::Found) -> bool {
    let native_only = matches!(found.name(), "MP4" | "CAF" | "WebM" | "Matroska");
    matches!(found.name(), "WAV" | "AIFF" | "AIFF-C" | "Ogg" | "FLAC") || native_only && cfg!(feature = "formats")
}

/// A container with no track the decoder library knows a codec for.
fn no_track(bytes: &[u8]) -> AudioError {
    match signature::identify(bytes) {
        Some(found) if found.codec.is_some() => AudioError::Unsupported(found.describe()),
        _ => AudioError::NoTrack,
    }
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
        // WAVE_FORMAT_EXTENSIBLE with 3 channels and a mask of only the top bit.
        let mut extensible = wav(1, 16, 3, 8000, &[0u8; 120]);
        extensible[20..22].copy_from_slice(&0xFFFEu16.to_le_bytes());
        extensible[16..20].copy_from_slice(&40u32.to_le_bytes());
        let fmt_end = 20 + 16;
        let tail: Vec<u8> =
            [22u16.to_le_bytes().as_slice(), &16u16.to_le_bytes(), &0x8000_0000u32.to_le_bytes(), &[0u8; 16]].concat();
        extensible.splice(fmt_end..fmt_end, tail);
        let e = decode(&extensible).unwrap_err();
        assert!(e.to_string().contains("cannot describe 3 channels"), "{e}");
    }

    #[test]
    fn wavs_of_more_channels_than_the_decoder_library_names_are_not_called_damaged() {
        let data = vec![0u8; 40 * 2 * 4];
        let result = decode(&wav(1, 16, 40, 8000, &data));
        #[cfg(feature = "formats")]
        assert_eq!(result.map(|d| (d.channels, d.frames())).unwrap(), (40, 4));
        #[cfg(not(feature = "formats"))]
        assert_eq!(
            result.unwrap_err().to_string(),
            "40-channel audio in a WAV container (at most 26 channels) is not supported by this program"
        );
    }

    /// The page's build (no `formats`): what it cannot read is named, so that it can say so
    /// when the browser cannot read it either.
    #[cfg(not(feature = "formats"))]
    #[test]
    fn without_the_native_formats_opus_in_ogg_is_named() {
        let opus = include_bytes!("../../../../tests/fixtures/formats/opus.opus");
        assert_eq!(
            decode(opus).unwrap_err().to_string(),
            "Opus audio in an Ogg container is not supported by this program"
        );
        let m4a = include_bytes!("../../../../tests/fixtures/formats/aac.m4a");
        assert_eq!(
            decode(m4a).unwrap_err().to_string(),
            "AAC audio in an MP4 container is not supported by this program"
        );
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
