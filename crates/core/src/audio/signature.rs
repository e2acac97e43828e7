//! What a file says it is, read from its own signature before any decoder sees it.
//!
//! Two reasons. The decoder library searches the first bytes for any header it knows, so a
//! WavPack file (whose encoder embeds the original RIFF header) had its compressed data read as
//! PCM: formats we do not read are refused here, by their own signature, first. And when a
//! decoder gives up, its words ("end of stream", "unsupported core (codec)") tell a person
//! nothing: the container and codec named here let the refusal say what was found.

/// A container recognised by its signature, and its codec where the header names it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Found {
    /// With its article, to stand in a sentence: "an Ogg container".
    pub container: &'static str,
    pub codec: Option<String>,
}

impl Found {
    /// The container alone, to stand before a noun: "Ogg", "WAV".
    pub fn name(&self) -> &'static str {
        let name = self.container.trim_start_matches("a ").trim_start_matches("an ");
        name.trim_end_matches(" container").trim_end_matches(" stream")
    }

    /// "Opus audio in an Ogg container", or "audio in a CAF container" when the codec is unknown.
    pub fn describe(&self) -> String {
        match &self.codec {
            Some(codec) => format!("{codec} audio in {}", self.container),
            None => format!("the audio in {}", self.container),
        }
    }
}

/// Formats this program reads none of, whose files the decoder library might mistake for one it
/// does read: their names, as a refusal says them.
pub(super) fn unreadable_format(bytes: &[u8]) -> Option<&'static str> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"wvpk", "WavPack audio"),
        (b"MAC ", "Monkey's Audio"),
        (b"TTA1", "TTA audio"),
        (b"OFR ", "OptimFROG audio"),
        (b"MPCK", "Musepack audio"),
        (b"MP+", "Musepack audio"),
        (b"ajkg", "Shorten audio"),
        (b"tBaK", "TAK audio"),
        (b"#!AMR", "AMR audio"),
        (b"DSD ", "DSD audio in a DSF container"),
        (b"FRM8", "DSD audio in a DSDIFF container"),
        (b"MThd", "A MIDI file (notes, not a recording)"),
        (b".ra\xfd", "RealAudio"),
        (b".RMF", "RealMedia"),
        (b"FLV\x01", "A Flash video file"),
        (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "Windows Media audio (ASF)"),
    ];
    SIGNATURES.iter().find(|(magic, _)| bytes.starts_with(magic)).map(|&(_, name)| name)
}

/// The container the signature at the start of `bytes` names, for the formats the decoder
/// library (or this program) reads at least partly.
pub(super) fn identify(bytes: &[u8]) -> Option<Found> {
    let at = |range: std::ops::Range<usize>| bytes.get(range).unwrap_or_default();
    let found = |container, codec: Option<String>| Some(Found { container, codec });
    match (at(0..4), at(8..12)) {
        (b"RIFF", b"WAVE") => found("a WAV container", wav_codec(bytes, 12)),
        (b"RF64", b"WAVE") => found("an RF64 container", wav_codec(bytes, 12)),
        (b"riff", _) if at(0..16) == WAVE64_RIFF => found("a Wave64 container", None),
        (b"FORM", b"AIFF") => found("an AIFF container", Some("PCM".into())),
        (b"FORM", b"AIFC") => found("an AIFF-C container", aifc_codec(bytes)),
        (b"OggS", _) => found("an Ogg container", ogg_codec(bytes)),
        (b"fLaC", _) => found("a FLAC stream", Some("FLAC".into())),
        (b"caff", _) => found("a CAF container", caf_codec(bytes)),
        (b".snd", _) => found("a Sun AU container", None),
        (b"\x1a\x45\xdf\xa3", _) => matroska(bytes),
        _ if at(4..8) == b"ftyp" => found("an MP4 container", mp4_codec(bytes)),
        _ => None,
    }
}

/// Wave64's first GUID: "riff" and the rest of the RIFF GUID.
pub(super) const WAVE64_RIFF: &[u8] = b"riff\x2e\x91\xcf\x11\xa5\xd6\x28\xdb\x04\xc1\x00\x00";

/// The codec a WAVE format tag names (WAVEFORMATEX, as RIFF, RF64 and Wave64 hold it).
pub(super) fn wave_format_name(tag: u16) -> String {
    match tag {
        0x0001 => "PCM".into(),
        0x0002 => "MS ADPCM".into(),
        0x0003 => "floating-point PCM".into(),
        0x0006 => "A-law".into(),
        0x0007 => "μ-law".into(),
        0x0011 => "IMA ADPCM".into(),
        0x0022 => "TrueSpeech".into(),
        0x0031 => "GSM 6.10".into(),
        0x0040 => "G.721 ADPCM".into(),
        0x0050 => "MPEG audio".into(),
        0x0055 => "MP3".into(),
        0x0161..=0x0163 => "Windows Media Audio".into(),
        0x00ff | 0x1610 | 0x706d => "AAC".into(),
        0x2000 => "AC-3".into(),
        0xfffe => "extensible-format".into(),
        other => format!("format {other:#06x}"),
    }
}

/// A RIFF-style file's codec: the tag in its `fmt ` chunk (for an extensible one, the tag its
/// sub-format GUID starts with).
fn wav_codec(bytes: &[u8], first_chunk: usize) -> Option<String> {
    let mut at = first_chunk;
    while let Some(header) = bytes.get(at..at + 8) {
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        if &header[..4] == b"fmt " {
            let fmt = bytes.get(at + 8..)?;
            let tag = u16::from_le_bytes([*fmt.first()?, *fmt.get(1)?]);
            let tag = match (tag, fmt.get(24..26)) {
                (0xfffe, Some(sub)) => u16::from_le_bytes([sub[0], sub[1]]),
                (tag, _) => tag,
            };
            return Some(wave_format_name(tag));
        }
        at = at.checked_add(8 + size + (size & 1))?;
    }
    None
}

fn aifc_codec(bytes: &[u8]) -> Option<String> {
    let comm = bytes.windows(4).position(|w| w == b"COMM")?;
    let kind = bytes.get(comm + 8 + 18..comm + 8 + 22)?;
    Some(match kind {
        b"NONE" | b"sowt" | b"twos" => "PCM".into(),
        b"fl32" | b"FL32" | b"fl64" | b"FL64" => "floating-point PCM".into(),
        b"ulaw" | b"ULAW" => "μ-law".into(),
        b"alaw" | b"ALAW" => "A-law".into(),
        b"ima4" => "IMA ADPCM".into(),
        b"MAC3" | b"MAC6" => "MACE".into(),
        b"GSM " => "GSM 6.10".into(),
        b"QDM2" | b"QDMC" => "QDesign".into(),
        other => fourcc_name(other),
    })
}

/// The codec an Ogg stream's first packet announces.
fn ogg_codec(bytes: &[u8]) -> Option<String> {
    let first = super::ogg::packets(bytes).next()?.data;
    const CODECS: &[(&[u8], &str)] = &[
        (b"OpusHead", "Opus"),
        (b"\x01vorbis", "Vorbis"),
        (b"\x7fFLAC", "FLAC"),
        (b"Speex   ", "Speex"),
        (b"\x80theora", "Theora video"),
        (b"fishead\0", "Skeleton"),
    ];
    Some(match CODECS.iter().find(|(magic, _)| first.starts_with(magic)) {
        Some((_, name)) => name.to_string(),
        None => "an unknown codec's".into(),
    })
}

/// A CAF's codec: the format ID in its `desc` chunk (after "caff", the version and flags, the
/// chunk's type and 64-bit size, and the 64-bit sample rate).
fn caf_codec(bytes: &[u8]) -> Option<String> {
    if bytes.get(8..12)? != b"desc" {
        return None;
    }
    Some(match bytes.get(28..32)? {
        b"lpcm" => "PCM".into(),
        b"ima4" => "IMA ADPCM".into(),
        b"aac " => "AAC".into(),
        b"alac" => "ALAC".into(),
        b"ulaw" => "μ-law".into(),
        b"alaw" => "A-law".into(),
        b"opus" => "Opus".into(),
        b".mp3" => "MP3".into(),
        b"MAC3" | b"MAC6" => "MACE".into(),
        other => fourcc_name(other),
    })
}

/// An MP4's codec: the first sample entry's type in its `stsd` box (after the box's size and
/// type, version and flags, entry count and the entry's size).
fn mp4_codec(bytes: &[u8]) -> Option<String> {
    let stsd = bytes.windows(4).position(|w| w == b"stsd")?;
    Some(match bytes.get(stsd + 16..stsd + 20)? {
        b"mp4a" => "AAC".into(),
        b"alac" => "ALAC".into(),
        b"Opus" => "Opus".into(),
        b"fLaC" => "FLAC".into(),
        b"ac-3" => "AC-3".into(),
        b"ec-3" => "E-AC-3".into(),
        b"samr" | b"sawb" => "AMR".into(),
        b"sowt" | b"twos" | b"lpcm" | b"ipcm" => "PCM".into(),
        b".mp3" => "MP3".into(),
        b"avc1" | b"hvc1" | b"hev1" | b"mp4v" => "video-only".into(),
        other => fourcc_name(other),
    })
}

/// Matroska and WebM: the DocType says which; the first audio CodecID ("A_OPUS") the codec.
fn matroska(bytes: &[u8]) -> Option<Found> {
    let head = &bytes[..bytes.len().min(64)];
    let container = match head.windows(4).any(|w| w == b"webm") {
        true => "a WebM container",
        false => "a Matroska container",
    };
    // A CodecID element: its id (0x86), a one-byte size, then the id text.
    let id = bytes.windows(4).position(|w| w[0] == 0x86 && w[1] & 0x80 != 0 && &w[2..] == b"A_");
    let id = id.map(|at| &bytes[at + 4..]);
    let codec = id.map(|id| {
        let id: Vec<u8> = id.iter().take_while(|b| b.is_ascii_graphic()).copied().take(24).collect();
        match id.as_slice() {
            b"OPUS" => "Opus".into(),
            b"VORBIS" => "Vorbis".into(),
            b"FLAC" => "FLAC".into(),
            b"MPEG/L3" => "MP3".into(),
            b"AC3" | b"EAC3" => "AC-3".into(),
            b"ALAC" => "ALAC".into(),
            id if id.starts_with(b"AAC") => "AAC".into(),
            id if id.starts_with(b"PCM") => "PCM".into(),
            other => String::from_utf8_lossy(other).into_owned(),
        }
    });
    Some(Found { container, codec })
}

fn fourcc_name(fourcc: &[u8]) -> String {
    format!("'{}'", String::from_utf8_lossy(fourcc).trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_we_do_not_read_are_named_by_their_signature() {
        assert_eq!(unreadable_format(b"wvpk\x20\x00\x00\x00RIFF....WAVE"), Some("WavPack audio"));
        assert_eq!(unreadable_format(b"MAC \x96\x0f"), Some("Monkey's Audio"));
        assert_eq!(unreadable_format(b"RIFF\0\0\0\0WAVE"), None);
    }

    #[test]
    fn containers_name_their_codec() {
        let opus_page = super::super::ogg::page(2, 1, &[&[&b"OpusHead\x01\x01\x38\x01"[..], &[0; 7]].concat()]);
        let found = identify(&opus_page).unwrap();
        assert_eq!(found.describe(), "Opus audio in an Ogg container");
        let mut adpcm = b"RIFF\0\0\0\0WAVEfmt \x14\0\0\0\x11\0\x01\0".to_vec();
        adpcm.extend_from_slice(&[0; 16]);
        assert_eq!(identify(&adpcm).unwrap().describe(), "IMA ADPCM audio in a WAV container");
        let m4a = [&b"\0\0\0\x1cftypM4A "[..], &[0; 16], b"\0\0\0\x10stsd\0\0\0\0\0\0\0\x01\0\0\0\x24mp4a"].concat();
        assert_eq!(identify(&m4a).unwrap().describe(), "AAC audio in an MP4 container");
        let caf = [&b"caff\0\x01\0\0desc"[..], &[0; 8], &[0; 8], b"opus"].concat();
        assert_eq!(identify(&caf).unwrap().describe(), "Opus audio in a CAF container");
        assert_eq!(identify(b"no signature here"), None);
    }
}
