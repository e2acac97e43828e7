//! WAVs of more channels than the decoder library can name: its channel set is a 26-position
//! bit mask, so a 40-channel array recording is refused there ("invalid channel count"). Plain
//! PCM and float samples need no codec, so they are read here instead.

use super::AudioError;
use super::decode::{Decoded, wav_chunks};
use super::signature::wave_format_name;

/// The samples of a PCM or float WAV with any number of channels. The caller has checked the
/// format chunk's channels and rate (`check_wav_format`).
pub(super) fn decode(bytes: &[u8]) -> Result<Decoded, AudioError> {
    let fmt_at = wav_chunks(bytes).find(|&(_, id, _)| id == b"fmt ").map(|(at, _, _)| at + 8);
    let fmt =
        fmt_at.and_then(|at| bytes.get(at..at + 16)).ok_or(AudioError::NotAudio("its WAV header breaks off".into()))?;
    let u16_at = |at: usize| u16::from_le_bytes([fmt[at], fmt[at + 1]]);
    let (mut tag, channels, bits) = (u16_at(0), u16_at(2), u16_at(14));
    let rate = u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]);
    if tag == 0xfffe {
        // The sub-format GUID starts with the tag it stands for.
        let sub = fmt_at.and_then(|at| bytes.get(at + 24..at + 26));
        tag = sub.map_or(0, |s| u16::from_le_bytes([s[0], s[1]]));
    }
    let width = bits as usize / 8;
    let read: fn(&[u8]) -> f32 = match (tag, bits) {
        (1, 8) => |s| (s[0] as f32 - 128.0) / 128.0,
        (1, 16) => |s| i16::from_le_bytes([s[0], s[1]]) as f32 / 32_768.0,
        (1, 24) => |s| (i32::from_le_bytes([0, s[0], s[1], s[2]]) >> 8) as f32 / 8_388_608.0,
        (1, 32) => |s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]) as f32 / 2_147_483_648.0,
        (3, 32) => |s| f32::from_le_bytes([s[0], s[1], s[2], s[3]]),
        (3, 64) => |s| f64::from_le_bytes(s.try_into().expect("eight bytes")) as f32,
        (1 | 3, _) => {
            return Err(AudioError::Corrupt(format!("its format chunk claims {bits}-bit samples")));
        }
        _ => {
            let codec = wave_format_name(tag);
            return Err(AudioError::Unsupported(format!(
                "{codec} audio of {channels} channels ({bits}-bit) in a WAV container"
            )));
        }
    };
    let data = wav_chunks(bytes).find(|&(_, id, _)| id == b"data").map(|(at, _, size)| {
        let start = at + 8;
        &bytes[start.min(bytes.len())..start.saturating_add(size).min(bytes.len())]
    });
    let data = data.ok_or(AudioError::TooShort { samples: 0 })?;
    // Whole frames only: a file cut mid-frame keeps the frames before the cut.
    let frame = width * channels as usize;
    let whole = data.len() / frame * frame;
    let samples = data[..whole].chunks_exact(width).map(read).collect();
    Ok(Decoded { samples, channels: channels as usize, sample_rate: rate, notes: Vec::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain 16-bit PCM WAV of `channels` channels whose channel c holds the value (c + 1) / 64.
    fn wide(channels: u16, frames: usize) -> Vec<u8> {
        let data: Vec<u8> =
            (0..frames).flat_map(|_| (0..channels).flat_map(|c| ((c as i16 + 1) * 512).to_le_bytes())).collect();
        let le32 = |v: u32| v.to_le_bytes();
        let block = channels * 2;
        [
            &b"RIFF"[..],
            &le32(36 + data.len() as u32),
            b"WAVEfmt ",
            &le32(16),
            &1u16.to_le_bytes(),
            &channels.to_le_bytes(),
            &le32(8000),
            &le32(8000 * block as u32),
            &block.to_le_bytes(),
            &16u16.to_le_bytes(),
            b"data",
            &le32(data.len() as u32),
            &data,
        ]
        .concat()
    }

    #[test]
    fn forty_channels_are_read_channel_by_channel() {
        let decoded = crate::audio::decode(&wide(40, 10)).unwrap();
        assert_eq!((decoded.channels, decoded.sample_rate, decoded.frames()), (40, 8000, 10));
        assert_eq!(decoded.samples[0], 1.0 / 64.0);
        assert_eq!(decoded.samples[39], 40.0 / 64.0);
        assert_eq!(decoded.samples[40], 1.0 / 64.0);
    }

    #[test]
    fn compressed_many_channel_wavs_are_refused_in_words() {
        let mut file = wide(40, 10);
        file[20..22].copy_from_slice(&0x11u16.to_le_bytes());
        let e = decode(&file).unwrap_err();
        assert!(e.to_string().contains("IMA ADPCM audio of 40 channels"), "{e}");
        file[20..22].copy_from_slice(&1u16.to_le_bytes());
        file[34..36].copy_from_slice(&16_400u16.to_le_bytes());
        assert_eq!(
            decode(&file).unwrap_err().to_string(),
            "the audio file is damaged: its format chunk claims 16400-bit samples"
        );
    }
}
