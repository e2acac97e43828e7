//! RF64, Wave64 and Sun AU: simple containers of the same samples a WAV holds, which the decoder
//! library does not open. Their headers are read here and the audio rewritten as the plain WAV
//! it would have been, so that one decoder reads every WAV-like file.
//!
//! RF64 (EBU Tech 3306) is RIFF with 64-bit sizes in a `ds64` chunk; Wave64 (Sony) is RIFF with
//! 16-byte GUIDs for ids and 64-bit sizes, chunks padded to 8 bytes; AU (Sun/NeXT) is a 24-byte
//! big-endian header before big-endian samples. Both RIFF variants keep the WAVE format chunk as
//! it is, so its codec (PCM, float, ADPCM, G.711) carries over untouched.

use super::AudioError;
use super::signature::WAVE64_RIFF;

/// The WAV a file of one of these containers holds; `None` for any other file.
pub(super) fn as_wav(bytes: &[u8]) -> Option<Result<Vec<u8>, AudioError>> {
    if bytes.len() >= 12 && &bytes[0..4] == b"RF64" && &bytes[8..12] == b"WAVE" {
        Some(rf64(bytes))
    } else if bytes.starts_with(WAVE64_RIFF) {
        Some(wave64(bytes))
    } else if bytes.starts_with(b".snd") {
        Some(sun_au(bytes))
    } else {
        None
    }
}

fn damaged(container: &str, what: &str) -> AudioError {
    AudioError::Corrupt(format!("its {container} header {what}"))
}

fn u32_le(b: &[u8], at: usize) -> Option<u64> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as u64)
}

fn u64_le(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn u32_be(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The data that starts at `at` and claims `size` bytes, as far as the file holds it (a cut
/// file keeps what it has, as a cut WAV does).
fn data_at(bytes: &[u8], at: usize, size: u64) -> &[u8] {
    let end = (at as u64).saturating_add(size).min(bytes.len() as u64) as usize;
    &bytes[at.min(end)..end]
}

fn rf64(bytes: &[u8]) -> Result<Vec<u8>, AudioError> {
    let (mut fmt, mut data, mut data_size64) = (None, None, None);
    let mut at = 12usize;
    while let (Some(id), Some(size)) = (bytes.get(at..at + 4), u32_le(bytes, at + 4)) {
        let body = at + 8;
        match id {
            b"ds64" => data_size64 = u64_le(bytes, body + 8),
            b"fmt " => fmt = Some(data_at(bytes, body, size)),
            b"data" => {
                // 0xFFFFFFFF: the real size is the one in ds64.
                let size = if size == 0xFFFF_FFFF { data_size64.unwrap_or(u64::MAX) } else { size };
                data = Some(data_at(bytes, body, size));
                break;
            }
            _ => {}
        }
        // Clamped: a size past the end ends the walk instead of overflowing the next offset.
        at = body.saturating_add(size as usize).saturating_add(size as usize & 1).min(bytes.len());
    }
    let fmt = fmt.ok_or_else(|| damaged("RF64", "has no format chunk"))?;
    let data = data.ok_or_else(|| damaged("RF64", "has no data chunk"))?;
    wav(fmt, data, "RF64")
}

fn wave64(bytes: &[u8]) -> Result<Vec<u8>, AudioError> {
    let (mut fmt, mut data) = (None, None);
    // The RIFF GUID, the file's size, the WAVE GUID; then chunks of a GUID, a size that counts
    // the 24-byte header, and the body, each padded to 8 bytes.
    let mut at = 40usize;
    while let (Some(guid), Some(size)) = (bytes.get(at..at + 4), u64_le(bytes, at + 16)) {
        let Some(body_size) = size.checked_sub(24) else { return Err(damaged("Wave64", "has a chunk of no size")) };
        match guid {
            b"fmt " => fmt = Some(data_at(bytes, at + 24, body_size)),
            b"data" => {
                data = Some(data_at(bytes, at + 24, body_size));
                break;
            }
            _ => {}
        }
        let padded = size.saturating_add(7) & !7;
        at = at.saturating_add(usize::try_from(padded).unwrap_or(usize::MAX)).min(bytes.len());
    }
    let fmt = fmt.ok_or_else(|| damaged("Wave64", "has no format chunk"))?;
    let data = data.ok_or_else(|| damaged("Wave64", "has no data chunk"))?;
    wav(fmt, data, "Wave64")
}

/// A plain WAV of `fmt` (a WAVE format chunk's body) and `data`.
fn wav(fmt: &[u8], data: &[u8], container: &str) -> Result<Vec<u8>, AudioError> {
    if fmt.len() < 16 {
        return Err(damaged(container, "has a format chunk too short to read"));
    }
    // The largest a WAV can say; the decoder library reads it from memory anyway.
    let riff_size = u32::try_from(4 + 8 + fmt.len() + (fmt.len() & 1) + 8 + data.len())
        .map_err(|_| AudioError::Unsupported(format!("{container} audio of 4 GiB or more")))?;
    let mut out = Vec::with_capacity(riff_size as usize + 8);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&riff_size.to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    out.extend_from_slice(fmt);
    if fmt.len() & 1 == 1 {
        out.push(0);
    }
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    Ok(out)
}

/// The WAVE format tags AU's encodings become, their sample size, and how each sample's bytes
/// change on the way: AU is big-endian, and its 8-bit PCM signed where WAV's is unsigned.
enum Samples {
    Verbatim,
    Reversed,
    SignFlipped,
}

fn sun_au(bytes: &[u8]) -> Result<Vec<u8>, AudioError> {
    let field = |i: usize| u32_be(bytes, 4 * i).ok_or_else(|| damaged("Sun AU", "breaks off"));
    let (offset, size, encoding, rate, channels) = (field(1)?, field(2)?, field(3)?, field(4)?, field(5)?);
    let (tag, bits, samples) = match encoding {
        1 => (7u16, 8u16, Samples::Verbatim),
        2 => (1, 8, Samples::SignFlipped),
        3 => (1, 16, Samples::Reversed),
        4 => (1, 24, Samples::Reversed),
        5 => (1, 32, Samples::Reversed),
        6 => (3, 32, Samples::Reversed),
        7 => (3, 64, Samples::Reversed),
        27 => (6, 8, Samples::Verbatim),
        other => {
            let codec = match other {
                23 => "G.721 ADPCM".to_string(),
                24 => "G.722".to_string(),
                25 | 26 => "G.723 ADPCM".to_string(),
                other => format!("encoding {other}"),
            };
            return Err(AudioError::Unsupported(format!("{codec} audio in a Sun AU container")));
        }
    };
    let channels = match u16::try_from(channels) {
        Ok(0) => return Err(AudioError::NoChannels),
        Ok(n) => n,
        Err(_) => return Err(damaged("Sun AU", &format!("claims {channels} channels"))),
    };
    if rate == 0 {
        return Err(AudioError::BadSampleRate(0));
    }
    if (offset as usize) < 24 || offset as usize > bytes.len() {
        return Err(damaged("Sun AU", "points its audio outside the file"));
    }
    // 0xFFFFFFFF: the size was not known when the header was written; the audio runs to the end.
    let data = data_at(bytes, offset as usize, if size == u32::MAX { u64::MAX } else { size as u64 });
    let width = bits as usize / 8;
    let data: Vec<u8> = match samples {
        Samples::Verbatim => data.to_vec(),
        Samples::SignFlipped => data.iter().map(|b| b ^ 0x80).collect(),
        Samples::Reversed => data.chunks_exact(width).flat_map(|s| s.iter().rev().copied()).collect(),
    };
    let block = channels.checked_mul(width as u16).ok_or_else(|| damaged("Sun AU", "claims too many channels"))?;
    let mut fmt = Vec::with_capacity(18);
    fmt.extend_from_slice(&tag.to_le_bytes());
    fmt.extend_from_slice(&channels.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&rate.saturating_mul(block as u32).to_le_bytes());
    fmt.extend_from_slice(&block.to_le_bytes());
    fmt.extend_from_slice(&bits.to_le_bytes());
    fmt.extend_from_slice(&0u16.to_le_bytes());
    wav(&fmt, &data, "Sun AU")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn au(encoding: u32, channels: u32, data: &[u8]) -> Vec<u8> {
        let header = [0x2e736e64, 24, data.len() as u32, encoding, 8000, channels];
        let mut out: Vec<u8> = header.iter().flat_map(|v| v.to_be_bytes()).collect();
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn au_samples_become_little_endian_wav_samples() {
        let wav = as_wav(&au(3, 1, &[0x40, 0x00, 0xc0, 0x00])).unwrap().unwrap();
        assert_eq!(&wav[wav.len() - 4..], &[0x00, 0x40, 0x00, 0xc0]);
        let decoded = crate::audio::decode(&wav).unwrap();
        assert_eq!((decoded.samples, decoded.channels, decoded.sample_rate), (vec![0.5, -0.5], 1, 8000));
        // 8-bit AU is signed, 8-bit WAV unsigned.
        let eight = as_wav(&au(2, 1, &[0x40, 0xc0])).unwrap().unwrap();
        assert_eq!(&eight[eight.len() - 2..], &[0xc0, 0x40]);
    }

    #[test]
    fn au_headers_that_lie_are_refused_in_words() {
        let e = as_wav(&au(23, 1, &[0; 8])).unwrap().unwrap_err();
        assert_eq!(e.to_string(), "G.721 ADPCM audio in a Sun AU container is not supported by this program");
        assert_eq!(as_wav(&au(3, 0, &[0; 8])).unwrap().unwrap_err(), AudioError::NoChannels);
        let mut far = au(3, 1, &[0; 8]);
        far[4..8].copy_from_slice(&1000u32.to_be_bytes());
        assert!(as_wav(&far).unwrap().unwrap_err().to_string().contains("outside the file"));
        assert!(as_wav(&au(3, 1, &[])[..10]).unwrap().is_err());
    }

    #[test]
    fn chunk_sizes_past_the_end_are_refused_not_overflowed() {
        let rf64 = [&b"RF64\xff\xff\xff\xffWAVEjunk"[..], &u32::MAX.to_le_bytes(), b"data"].concat();
        assert!(as_wav(&rf64).unwrap().unwrap_err().to_string().contains("no format chunk"));
        let chunk = |id: &[u8], size: u64| [id, &[0u8; 12], &size.to_le_bytes()].concat();
        let w64 = [WAVE64_RIFF, &[0u8; 24], &chunk(b"junk", u64::MAX - 3)].concat();
        assert!(as_wav(&w64).unwrap().unwrap_err().to_string().contains("no format chunk"));
    }

    #[test]
    fn other_files_are_left_alone() {
        assert!(as_wav(b"RIFF\0\0\0\0WAVEfmt ").is_none());
        assert!(as_wav(b"").is_none());
    }
}
