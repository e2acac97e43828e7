//! Opus packets (from Ogg, WebM or Matroska, as the decoder library's demuxers hand them over)
//! decoded by the `opus-decoder` crate, which the decoder library lacks a codec for.
//!
//! The setup is the Ogg Opus identification header (RFC 7845 §5.1; Matroska's CodecPrivate is
//! the same bytes): channels, the samples to skip at the start (the encoder's look-ahead), an
//! output gain, and for more than two channels the streams each packet holds.

use opus_decoder::{OpusDecoder, OpusMultistreamDecoder};

/// Opus always decodes to 48 kHz here: the rate its packets are timed at.
pub(super) const RATE: u32 = 48_000;

/// The longest Opus packet: 120 ms.
const MAX_FRAMES: usize = 5_760;

enum Inner {
    Single(Box<OpusDecoder>),
    Multi(OpusMultistreamDecoder),
}

pub(super) struct Opus {
    inner: Inner,
    pub channels: usize,
    /// Frames still to drop from the start.
    skip: usize,
    gain: f32,
    scratch: Vec<f32>,
}

impl Opus {
    /// A decoder for the stream `head` (its identification header) describes; an error in words
    /// when it describes none this crate decodes.
    pub fn new(head: &[u8]) -> Result<Opus, String> {
        if head.len() < 19 || !head.starts_with(b"OpusHead") {
            return Err("its Opus identification header is missing or cut short".into());
        }
        let channels = head[9] as usize;
        let skip = u16::from_le_bytes([head[10], head[11]]) as usize;
        // Q7.8 decibels.
        let gain_db = i16::from_le_bytes([head[16], head[17]]) as f32 / 256.0;
        let family = head[18];
        let inner = match family {
            0 => OpusDecoder::new(RATE, channels).map(|d| Inner::Single(Box::new(d))),
            _ => {
                let Some(table) = head.get(19..21 + channels) else {
                    return Err("its Opus channel mapping table is cut short".into());
                };
                let (streams, coupled) = (table[0] as usize, table[1] as usize);
                OpusMultistreamDecoder::new(RATE, channels, streams, coupled, &table[2..]).map(Inner::Multi)
            }
        }
        .map_err(|e| format!("its Opus header describes no stream this program decodes ({e})"))?;
        let gain = 10f32.powf(gain_db / 20.0);
        Ok(Opus { inner, channels, skip, gain, scratch: vec![0.0; MAX_FRAMES * channels.max(1)] })
    }

    /// Decode one packet, appending its interleaved samples to `out`.
    pub fn decode(&mut self, packet: &[u8], out: &mut Vec<f32>) -> Result<(), String> {
        let frames = match &mut self.inner {
            Inner::Single(d) => d.decode_float(packet, &mut self.scratch, false),
            Inner::Multi(d) => d.decode_float(packet, &mut self.scratch, false),
        }
        .map_err(|e| format!("an Opus packet could not be decoded ({e})"))?;
        let dropped = self.skip.min(frames);
        self.skip -= dropped;
        let decoded = &self.scratch[dropped * self.channels..frames * self.channels];
        out.extend(decoded.iter().map(|s| s * self.gain));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_it_cannot_decode_are_refused_in_words() {
        assert!(Opus::new(b"OpusHead").is_err_and(|e| e.contains("cut short")));
        let mut head = b"OpusHead\x01\x03\x38\x01\x80\xbb\0\0\0\0\x00".to_vec();
        // Three channels need a mapping table (family 1).
        assert!(Opus::new(&head).err().unwrap().contains("no stream this program decodes"));
        head[18] = 1;
        assert!(Opus::new(&head).err().unwrap().contains("cut short"));
        head.extend_from_slice(&[2, 1, 0, 1, 2]);
        assert_eq!(Opus::new(&head).unwrap().channels, 3);
    }
}
