//! Tags (comments, pictures, ID3) checked before the decoder library reads them.
//!
//! symphonia 0.5 allocates whatever length a tag field claims before it reads the bytes: up to
//! 4 GiB from a few bytes of file, which a page cannot survive (found by fuzzing). The network
//! needs no tags, so a leading ID3v2 tag is skipped whole, and a FLAC, Ogg or WAV tag field that
//! claims more bytes than it holds is refused in words. A field that simply breaks off is left
//! to the decoder library, which reports it without allocating first.

use super::decode::wav_chunks;
use std::collections::HashMap;

use super::{AudioError, ogg, vorbis_setup};

/// The bytes the decoder library may read: `bytes` past any leading ID3v2 tag, once every tag
/// field it would allocate for is known to fit.
pub(super) fn checked(bytes: &[u8]) -> Result<&[u8], AudioError> {
    let audio = after_id3v2(bytes);
    check_flac(audio)?;
    check_ogg(audio)?;
    check_wav(audio)?;
    Ok(audio)
}

/// An ID3v2 tag (MP3s, sometimes FLACs) is a header and a size that says where the audio starts.
fn after_id3v2(bytes: &[u8]) -> &[u8] {
    let Some(header) = bytes.get(..10).filter(|h| &h[..3] == b"ID3") else { return bytes };
    &bytes[id3v2_length(header.try_into().expect("ten bytes")).min(bytes.len())..]
}

/// The length of the ID3v2 tag whose 10-byte header this is, header and footer included.
pub(super) fn id3v2_length(header: &[u8; 10]) -> usize {
    // The size is "synchsafe": 7 bits per byte; a footer adds another 10 bytes.
    let size = header[6..10].iter().fold(0usize, |size, &b| (size << 7) | (b & 0x7f) as usize);
    let footer = if header[5] & 0x10 != 0 { 10 } else { 0 };
    10 + size + footer
}

fn refuse(what: &str) -> AudioError {
    AudioError::Corrupt(format!("its {what} claims more bytes than the file holds"))
}

/// A WAV's tag list (LIST/INFO) is read where it stands, before the audio; its entries may
/// claim up to what the list claims.
fn check_wav(bytes: &[u8]) -> Result<(), AudioError> {
    let before_audio = wav_chunks(bytes).take_while(|&(_, id, _)| id != b"data");
    match before_audio.into_iter().any(|(at, id, size)| id == b"LIST" && size > bytes.len() - at - 8) {
        true => Err(refuse("tag list")),
        false => Ok(()),
    }
}

/// The bytes from the first place `marker` stands. The decoder library searches the whole
/// file for a container's marker, so junk before it does not keep it from reading the tags
/// behind it (found by the fuzzer: four bytes before "OggS", then a 3 GB comment claim).
fn from_marker<'a>(bytes: &'a [u8], marker: &[u8]) -> Option<&'a [u8]> {
    let at = bytes.windows(marker.len()).position(|w| w == marker)?;
    Some(&bytes[at..])
}

fn check_flac(bytes: &[u8]) -> Result<(), AudioError> {
    let Some(bytes) = from_marker(bytes, b"fLaC") else { return Ok(()) };
    let mut at = 4;
    while at + 4 <= bytes.len() {
        let (last, kind) = (bytes[at] & 0x80 != 0, bytes[at] & 0x7f);
        let len = u32::from_be_bytes([0, bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        check_flac_block(kind, &bytes[at + 4..(at + 4 + len).min(bytes.len())])?;
        if last {
            break;
        }
        at += 4 + len;
    }
    Ok(())
}

/// A FLAC metadata block, in a FLAC file or an Ogg FLAC header packet.
fn check_flac_block(kind: u8, block: &[u8]) -> Result<(), AudioError> {
    match kind {
        4 if !comments_fit(block) => Err(refuse("comment block")),
        6 if !picture_fits(block) => Err(refuse("picture block")),
        _ => Ok(()),
    }
}

/// A Vorbis comment list (FLAC, Ogg Vorbis, Opus): a vendor string, then a count of strings,
/// each after its length (u32, little-endian).
fn comments_fit(block: &[u8]) -> bool {
    let Some(vendor) = u32_at(block, 0, u32::from_le_bytes) else { return true };
    let mut at = 4usize.saturating_add(vendor);
    let Some(count) = u32_at(block, at, u32::from_le_bytes) else { return at <= block.len() };
    at += 4;
    for _ in 0..count {
        let Some(len) = u32_at(block, at, u32::from_le_bytes) else { return true };
        at = at.saturating_add(4).saturating_add(len);
        if at > block.len() {
            return false;
        }
    }
    true
}

/// A FLAC picture: its type, a media type and a description (each after its length), four
/// numbers (size, depth, colours), then the image after its length; big-endian throughout.
fn picture_fits(block: &[u8]) -> bool {
    let mut at = 4;
    for numbers_after in [0, 16, 0] {
        let Some(len) = u32_at(block, at, u32::from_be_bytes) else { return true };
        at = at.saturating_add(4).saturating_add(len);
        if at > block.len() {
            return false;
        }
        at += numbers_after;
    }
    true
}

fn u32_at(bytes: &[u8], at: usize, from: fn([u8; 4]) -> u32) -> Option<usize> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(from([b[0], b[1], b[2], b[3]]) as usize)
}

/// Every packet the decoder library reads as a header, wherever it stands in the file: a Vorbis
/// stream's comments and codebooks (not a tag, but read the same way), an Opus stream's
/// comments, an Ogg FLAC stream's metadata blocks. Each stream's codec is known from its first
/// packet, as the library knows it.
fn check_ogg(bytes: &[u8]) -> Result<(), AudioError> {
    let Some(bytes) = from_marker(bytes, b"OggS") else { return Ok(()) };
    let mut codecs = HashMap::new();
    for packet in ogg::packets(bytes) {
        let data = &packet.data[..];
        if packet.opens_stream {
            codecs.insert(packet.serial, OggCodec::of(data));
            continue;
        }
        match codecs.get(&packet.serial) {
            Some(OggCodec::Vorbis) => {
                if let Some(comments) = data.strip_prefix(b"\x03vorbis") {
                    if !comments_fit(comments) {
                        return Err(refuse("comment packet"));
                    }
                } else if let Some(setup) = data.strip_prefix(b"\x05vorbis") {
                    vorbis_setup::check_codebooks(setup)?;
                }
            }
            Some(OggCodec::Opus) if data.starts_with(b"OpusTags") && !comments_fit(&data[8..]) => {
                return Err(refuse("comment packet"));
            }
            // Every packet but audio (0xff) is a metadata block: its type, then its length.
            Some(OggCodec::Flac) if data.len() >= 4 && data[0] != 0xff => check_flac_block(data[0] & 0x7f, &data[4..])?,
            _ => {}
        }
    }
    Ok(())
}

/// The codecs whose Ogg streams the decoder library reads headers from.
enum OggCodec {
    Vorbis,
    Opus,
    Flac,
    Other,
}

impl OggCodec {
    fn of(identification: &[u8]) -> Self {
        match identification {
            p if p.starts_with(b"\x01vorbis") => Self::Vorbis,
            p if p.starts_with(b"OpusHead") => Self::Opus,
            p if p.starts_with(b"\x7fFLAC") => Self::Flac,
            _ => Self::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(v: u32) -> [u8; 4] {
        v.to_le_bytes()
    }

    #[test]
    fn comment_lists_must_hold_what_they_claim() {
        let ok = [&le(3)[..], b"abc", &le(1), &le(2), b"hi"].concat();
        assert!(comments_fit(&ok));
        let lying = [&le(3)[..], b"abc", &le(1), &le(3_000_000_000), b"hi"].concat();
        assert!(!comments_fit(&lying));
        // Breaking off before a length is the decoder library's to report.
        assert!(comments_fit(&ok[..9]));
    }

    #[test]
    fn pictures_must_hold_what_they_claim() {
        let be = |v: u32| v.to_be_bytes();
        let ok = [&be(3)[..], &be(3), b"png", &be(0), &[0u8; 16], &be(2), b"\x89P"].concat();
        assert!(picture_fits(&ok));
        let lying = [&be(3)[..], &be(3), b"png", &be(0), &[0u8; 16], &be(u32::MAX), b"\x89P"].concat();
        assert!(!picture_fits(&lying));
        assert!(!check_flac_block(6, &lying).unwrap_err().to_string().is_empty());
    }

    #[test]
    fn a_leading_id3_tag_is_skipped_whole() {
        let mut file = b"ID3\x03\x00\x00\x00\x00\x01\x00".to_vec(); // 128 bytes of tag
        file.extend_from_slice(&[7u8; 128]);
        file.extend_from_slice(b"audio");
        assert_eq!(after_id3v2(&file), b"audio");
        assert_eq!(after_id3v2(&file[..50]), b"");
        assert_eq!(after_id3v2(b"RIFF"), b"RIFF");
    }

    #[test]
    fn a_wav_tag_list_before_the_audio_must_hold_what_it_claims() {
        let list = |size: u32| [&b"LIST"[..], &le(size), b"INFOINAM", &le(3), b"abc\0"].concat();
        let wav = |size| [&b"RIFF"[..], &le(u32::MAX), b"WAVE", &list(size), b"data", &le(2), &[0, 0]].concat();
        assert!(check_wav(&wav(16)).is_ok());
        assert_eq!(check_wav(&wav(1 << 31)).unwrap_err(), refuse("tag list"));
        // After the audio it is never read.
        let after = [&b"RIFF"[..], &le(u32::MAX), b"WAVEdata", &le(2), &[0, 0], &list(1 << 31)].concat();
        assert!(check_wav(&after).is_ok());
    }

    #[test]
    fn ogg_comment_packets_must_hold_what_they_claim() {
        use ogg::page;
        let comments = |len: u32| [&b"\x03vorbis"[..], &le(0), &le(1), &le(len), b"x=1"].concat();
        let file =
            |len| [page(2, 1, &[b"\x01vorbis"]), page(2, 2, &[b"other"]), page(0, 1, &[&comments(len)])].concat();
        assert!(check_ogg(&file(3)).is_ok());
        let e = check_ogg(&file(1 << 31)).unwrap_err();
        assert!(e.to_string().contains("comment packet claims more bytes"), "{e}");
        // Junk between pages is skipped, as the decoder library skips it.
        let junk = |len| [page(2, 1, &[b"\x01vorbis"]), b"junk".to_vec(), page(0, 1, &[&comments(len)])].concat();
        assert!(check_ogg(&junk(3)).is_ok());
        assert!(check_ogg(&junk(1 << 31)).is_err());
        // The library reads a comment packet wherever it stands, not only second.
        let late = |len| [page(2, 1, &[b"\x01vorbis"]), page(0, 1, &[&comments(3), b"audio", &comments(len)])].concat();
        assert!(check_ogg(&late(3)).is_ok());
        assert!(check_ogg(&late(1 << 31)).is_err());
        // In a stream of another codec the same bytes are not a header.
        let other = [page(2, 1, &[b"\x80theora"]), page(0, 1, &[&comments(1 << 31)])].concat();
        assert!(check_ogg(&other).is_ok());
    }
}
